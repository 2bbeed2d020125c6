import type pg from 'pg';
import type { ErasureCount, ErasureListEntry, ErasureRequest, OperationStatus } from '../../domain/index.js';
import { erasureView, newErasureId } from '../erasures.js';
import type { StoredErasure } from '../erasures.js';
import type { ErasureStore, NewErasure } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

/** A request with its operation's status and error, which decide how an ended one reads. */
const SELECT = `SELECT e.*, o.status AS op_status, o.error AS op_error
  FROM erasure_requests e LEFT JOIN operations o ON o.id = e.operation_id`;

function storedFromRow(r: Row): StoredErasure {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    ...(r.operation_id ? { operationId: r.operation_id as string } : {}),
    status: r.status as StoredErasure['status'],
    reason: r.reason as string,
    receivedAt: iso(r.received_at as Date)!,
    dueBy: iso(r.due_by as Date)!,
    requestedBy: r.requested_by as string,
    ...(r.subject_hmac ? { subjectHmac: r.subject_hmac as string } : {}),
    counts: r.counts as ErasureCount[],
    ...(r.blocked_by ? { blockedBy: r.blocked_by as string[] } : {}),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    ...(r.finished_at ? { finishedAt: iso(r.finished_at as Date)! } : {}),
  };
}

function requestFromRow(r: Row): ErasureRequest {
  const operation = r.op_status
    ? {
        status: r.op_status as OperationStatus,
        ...(r.op_error ? { error: r.op_error as { type: string; message: string } } : {}),
      }
    : undefined;
  return erasureView(storedFromRow(r), operation, new Date().toISOString());
}

const entryFromRow = (r: Row): ErasureListEntry => ({
  tenantId: r.tenant_id as string,
  erasureId: r.erasure_id as string,
  subjectHmac: r.subject_hmac as string,
  erasedAt: iso(r.erased_at as Date)!,
});

export class PostgresErasureStore implements ErasureStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(e: NewErasure): Promise<ErasureRequest> {
    const { rows } = await this.pool.query(
      `INSERT INTO erasure_requests (id, tenant_id, subject, reason, received_at, due_by, status, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7) RETURNING *`,
      [newErasureId(), e.tenantId, e.subject, e.reason, e.receivedAt, e.dueBy, e.requestedBy],
    );
    return requestFromRow(rows[0] as Row);
  }

  async attach(tenantId: string, id: string, operationId: string): Promise<void> {
    await this.pool.query(
      'UPDATE erasure_requests SET operation_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2',
      [tenantId, id, operationId],
    );
  }

  async discard(tenantId: string, id: string): Promise<void> {
    await this.pool.query(
      'DELETE FROM erasure_requests WHERE tenant_id = $1 AND id = $2 AND operation_id IS NULL',
      [tenantId, id],
    );
  }

  async get(tenantId: string, id: string): Promise<ErasureRequest | undefined> {
    const { rows } = await this.pool.query(`${SELECT} WHERE e.tenant_id = $1 AND e.id = $2`, [tenantId, id]);
    return rows[0] ? requestFromRow(rows[0] as Row) : undefined;
  }

  async list(tenantId: string, { limit, before }: { limit: number; before?: string }) {
    const { rows } = await this.pool.query(
      `${SELECT} WHERE e.tenant_id = $1
          AND ($2::text IS NULL OR e.seq < (SELECT seq FROM erasure_requests WHERE id = $2))
        ORDER BY e.seq DESC LIMIT $3`,
      [tenantId, before ?? null, limit],
    );
    return rows.map((r) => requestFromRow(r as Row));
  }

  async subjectOf(tenantId: string, id: string): Promise<string | undefined> {
    const { rows } = await this.pool.query(
      'SELECT subject FROM erasure_requests WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return (rows[0] as { subject: string | null } | undefined)?.subject ?? undefined;
  }

  async progress(
    tenantId: string,
    id: string,
    u: {
      status: 'erasing' | 'blocked-by-hold';
      subjectHmac?: string;
      counts?: ErasureCount[];
      blockedBy?: string[];
    },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE erasure_requests
          SET status = $3, subject_hmac = coalesce($4, subject_hmac), counts = coalesce($5, counts),
              blocked_by = $6, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status <> 'erased'`,
      [
        tenantId,
        id,
        u.status,
        u.subjectHmac ?? null,
        u.counts ? JSON.stringify(u.counts) : null,
        u.status === 'blocked-by-hold' ? (u.blockedBy ?? []) : null,
      ],
    );
  }

  async complete(
    tenantId: string,
    id: string,
    result: { subjectHmac: string; counts: ErasureCount[] },
  ): Promise<ErasureListEntry> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const { rowCount } = await c.query(
        `UPDATE erasure_requests
            SET status = 'erased', subject = NULL, subject_hmac = $3, counts = $4, blocked_by = NULL,
                finished_at = now(), updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status <> 'erased'`,
        [tenantId, id, result.subjectHmac, JSON.stringify(result.counts)],
      );
      if (rowCount === 1)
        await c.query(
          `INSERT INTO erasure_list (tenant_id, erasure_id, subject_hmac, erased_at)
           SELECT tenant_id, id, subject_hmac, finished_at FROM erasure_requests WHERE id = $1`,
          [id],
        );
      const { rows } = await c.query('SELECT * FROM erasure_list WHERE tenant_id = $1 AND erasure_id = $2', [
        tenantId,
        id,
      ]);
      await c.query('COMMIT');
      if (!rows[0]) throw new Error(`erasure request ${id} of tenant ${tenantId} does not exist`);
      return entryFromRow(rows[0] as Row);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async erasureList(tenantId: string, { since }: { since?: string } = {}): Promise<ErasureListEntry[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM erasure_list WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR erased_at >= $2)
        ORDER BY seq`,
      [tenantId, since ?? null],
    );
    return rows.map((r) => entryFromRow(r as Row));
  }

  async countOverdue(at: string): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT count(*)::int AS n FROM erasure_requests WHERE status <> 'erased' AND due_by < $1`,
      [at],
    );
    return (rows[0] as { n: number }).n;
  }
}
