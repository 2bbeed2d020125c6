import type pg from 'pg';
import { addPart, emptyTotals } from '../../domain/index.js';
import type {
  RetentionRun,
  RetentionRunRequest,
  RetentionRunStatus,
  RetentionTenantPart,
} from '../../domain/index.js';
import type { RetentionRunStore } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

/** A run's row with its parts' count and sums (computed in SQL from the parts' reports). */
const RUN_SELECT = `
SELECT r.*, coalesce(p.done, 0) AS done, coalesce(p.parts, '[]'::jsonb) AS parts
  FROM retention_runs r
  LEFT JOIN LATERAL (
    SELECT count(*)::int AS done,
           jsonb_agg(jsonb_build_object('status', status, 'tables', part->'tables')) AS parts
      FROM retention_run_parts WHERE run_id = r.id) p ON true`;

function runFromRow(r: Row): RetentionRun {
  const parts = r.parts as Pick<RetentionTenantPart, 'status' | 'tables'>[];
  return {
    id: r.id as string,
    trigger: r.trigger as RetentionRun['trigger'],
    requestedBy: r.requested_by as string,
    dryRun: r.dry_run as boolean,
    force: r.force as boolean,
    ...(r.tenants ? { tenants: r.tenants as string[] } : {}),
    ...(r.data_classes ? { dataClasses: r.data_classes as string[] } : {}),
    status: r.status as RetentionRunStatus,
    progress: { done: r.done as number, ...(r.total !== null ? { total: r.total as number } : {}) },
    totals: parts.reduce((t, p) => addPart(t, { tenantId: '', ...p }), emptyTotals()),
    ...(r.error ? { error: r.error as RetentionRun['error'] } : {}),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    ...(r.finished_at ? { finishedAt: iso(r.finished_at as Date)! } : {}),
  };
}

const partOf = (r: Row): RetentionTenantPart => ({
  ...(r.part as RetentionTenantPart),
  recordedAt: iso(r.recorded_at as Date)!,
});

export class PostgresRetentionRunStore implements RetentionRunStore {
  constructor(private readonly pool: pg.Pool) {}

  async start(run: RetentionRunRequest): Promise<RetentionRun> {
    await this.pool.query(
      `INSERT INTO retention_runs (id, trigger, requested_by, dry_run, force, tenants, data_classes, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'running') ON CONFLICT (id) DO NOTHING`,
      [
        run.id,
        run.trigger,
        run.requestedBy,
        run.dryRun,
        run.force,
        run.tenants ?? null,
        run.dataClasses ?? null,
      ],
    );
    return (await this.get(run.id))!;
  }

  async setTotal(id: string, total: number): Promise<void> {
    await this.pool.query('UPDATE retention_runs SET total = $2, updated_at = now() WHERE id = $1', [
      id,
      total,
    ]);
  }

  async recordPart(id: string, part: RetentionTenantPart): Promise<void> {
    const { recordedAt: _at, ...stored } = part;
    await this.pool.query(
      `WITH part AS (
         INSERT INTO retention_run_parts (run_id, tenant_id, status, part) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id, tenant_id) DO UPDATE SET status = EXCLUDED.status, part = EXCLUDED.part,
           recorded_at = now()
         RETURNING run_id)
       UPDATE retention_runs SET updated_at = now() WHERE id IN (SELECT run_id FROM part)`,
      [id, part.tenantId, part.status, JSON.stringify(stored)],
    );
  }

  async finish(id: string, status: 'succeeded' | 'failed', error?: RetentionRun['error']): Promise<void> {
    await this.pool.query(
      `UPDATE retention_runs SET status = $2, error = $3, updated_at = now(), finished_at = now()
       WHERE id = $1 AND status = 'running'`,
      [id, status, error ? JSON.stringify(error) : null],
    );
  }

  async get(id: string): Promise<RetentionRun | undefined> {
    const { rows } = await this.pool.query(`${RUN_SELECT} WHERE r.id = $1`, [id]);
    return rows[0] ? runFromRow(rows[0] as Row) : undefined;
  }

  async list({ limit, before }: { limit: number; before?: string }): Promise<RetentionRun[]> {
    const { rows } = await this.pool.query(
      `${RUN_SELECT}
       WHERE $1::text IS NULL OR r.seq < (SELECT seq FROM retention_runs WHERE id = $1)
       ORDER BY r.seq DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return (rows as Row[]).map(runFromRow);
  }

  async parts(id: string, { limit, afterTenant }: { limit: number; afterTenant?: string }) {
    const { rows } = await this.pool.query(
      `SELECT part, recorded_at FROM retention_run_parts
       WHERE run_id = $1 AND ($2::text IS NULL OR tenant_id > $2) ORDER BY tenant_id LIMIT $3`,
      [id, afterTenant ?? null, limit],
    );
    return (rows as Row[]).map(partOf);
  }

  async lastRealPart(tenantId: string, exceptRun: string): Promise<RetentionTenantPart | undefined> {
    const { rows } = await this.pool.query(
      `SELECT p.part, p.recorded_at FROM retention_run_parts p JOIN retention_runs r ON r.id = p.run_id
       WHERE p.tenant_id = $1 AND p.run_id <> $2 AND NOT r.dry_run AND p.status = 'succeeded'
       ORDER BY p.recorded_at DESC LIMIT 1`,
      [tenantId, exceptRun],
    );
    return rows[0] ? partOf(rows[0] as Row) : undefined;
  }
}
