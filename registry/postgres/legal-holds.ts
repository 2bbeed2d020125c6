import type pg from 'pg';
import type { LegalHold } from '../../domain/index.js';
import { newHoldId } from '../legal-holds.js';
import type { LegalHoldStore, PlaceHold } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

function holdFromRow(r: Row): LegalHold {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    reason: r.reason as string,
    ...(r.data_classes ? { dataClasses: r.data_classes as string[] } : {}),
    ...(r.subjects ? { subjects: r.subjects as string[] } : {}),
    ...(r.until ? { until: iso(r.until as Date)! } : {}),
    createdAt: iso(r.created_at as Date)!,
    createdBy: r.created_by as string,
    ...(r.released_at ? { releasedAt: iso(r.released_at as Date)! } : {}),
    ...(r.released_by ? { releasedBy: r.released_by as string } : {}),
    ...(r.release_reason ? { releaseReason: r.release_reason as string } : {}),
  };
}

export class PostgresLegalHoldStore implements LegalHoldStore {
  constructor(private readonly pool: pg.Pool) {}

  async place(h: PlaceHold): Promise<LegalHold> {
    const { rows } = await this.pool.query(
      `INSERT INTO legal_holds (id, tenant_id, reason, data_classes, subjects, until, created_by)
       VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`,
      [
        newHoldId(),
        h.tenantId,
        h.reason,
        h.dataClasses ?? null,
        h.subjects ?? null,
        h.until ?? null,
        h.createdBy,
      ],
    );
    return holdFromRow(rows[0] as Row);
  }

  async get(tenantId: string, id: string): Promise<LegalHold | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM legal_holds WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    return rows[0] ? holdFromRow(rows[0] as Row) : undefined;
  }

  async list(tenantId: string): Promise<LegalHold[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM legal_holds WHERE tenant_id = $1 ORDER BY created_at, id',
      [tenantId],
    );
    return rows.map((r) => holdFromRow(r as Row));
  }

  async release(tenantId: string, id: string, by: { releasedBy: string; reason: string }) {
    const { rows } = await this.pool.query(
      `UPDATE legal_holds SET released_at = now(), released_by = $3, release_reason = $4
       WHERE tenant_id = $1 AND id = $2 AND released_at IS NULL RETURNING *`,
      [tenantId, id, by.releasedBy, by.reason],
    );
    if (rows[0]) return { outcome: 'released' as const, hold: holdFromRow(rows[0] as Row) };
    const hold = await this.get(tenantId, id);
    return hold ? { outcome: 'already' as const, hold } : { outcome: 'unknown' as const };
  }
}
