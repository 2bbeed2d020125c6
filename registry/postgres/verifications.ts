import type pg from 'pg';
import type {
  VerificationResult,
  VerificationRun,
  VerificationRunDetail,
  VerificationRunRequest,
  VerificationRunStatus,
  VerifiedTable,
} from '../../domain/index.js';
import type { VerificationStore } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

/** A run's row with its results counted. */
const RUN_SELECT = `
SELECT r.*, coalesce(c.verified, 0) AS verified, coalesce(c.failed, 0) AS failed
  FROM restore_verification_runs r
  LEFT JOIN LATERAL (
    SELECT (count(*) FILTER (WHERE ok))::int AS verified, (count(*) FILTER (WHERE NOT ok))::int AS failed
      FROM restore_verification_results WHERE run_id = r.id) c ON true`;

function runFromRow(r: Row): VerificationRun {
  return {
    id: r.id as string,
    trigger: r.trigger as VerificationRun['trigger'],
    requestedBy: r.requested_by as string,
    share: Number(r.share),
    ...(r.tenants ? { tenants: r.tenants as string[] } : {}),
    status: r.status as VerificationRunStatus,
    startedAt: iso(r.started_at as Date)!,
    ...(r.finished_at ? { finishedAt: iso(r.finished_at as Date)! } : {}),
    total: r.total as number,
    verified: r.verified as number,
    failed: r.failed as number,
    ...(r.error ? { error: r.error as VerificationRun['error'] } : {}),
  };
}

function resultFromRow(r: Row): VerificationResult {
  return {
    runId: r.run_id as string,
    tenantId: r.tenant_id as string,
    ...(r.backup_id ? { backupId: r.backup_id as string } : {}),
    ok: r.ok as boolean,
    problems: r.problems as string[],
    ...(r.restore_ms !== null ? { restoreMs: r.restore_ms as number } : {}),
    ...(r.tables ? { tables: r.tables as VerifiedTable[] } : {}),
    startedAt: iso(r.started_at as Date)!,
    finishedAt: iso(r.finished_at as Date)!,
  };
}

/** Restore verification runs and results (migration 015). */
export class PostgresVerificationStore implements VerificationStore {
  constructor(private readonly pool: pg.Pool) {}

  async start(run: VerificationRunRequest): Promise<VerificationRun> {
    await this.pool.query(
      `INSERT INTO restore_verification_runs (id, trigger, requested_by, share, tenants, status)
       VALUES ($1, $2, $3, $4, $5, 'running') ON CONFLICT (id) DO NOTHING`,
      [run.id, run.trigger, run.requestedBy, run.share, run.tenants ?? null],
    );
    const { rows } = await this.pool.query(`${RUN_SELECT} WHERE r.id = $1`, [run.id]);
    return runFromRow(rows[0] as Row);
  }

  async setTotal(id: string, total: number): Promise<void> {
    await this.pool.query('UPDATE restore_verification_runs SET total = $2 WHERE id = $1', [id, total]);
  }

  async recordResult(result: VerificationResult): Promise<VerificationResult | undefined> {
    // A racing or retried insert inserts nothing; the SELECT after returns the first.
    await this.pool.query(
      `INSERT INTO restore_verification_results
         (run_id, tenant_id, backup_id, ok, problems, restore_ms, tables, started_at, finished_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM restore_verification_runs WHERE id = $1)
       ON CONFLICT (run_id, tenant_id) DO NOTHING`,
      [
        result.runId,
        result.tenantId,
        result.backupId ?? null,
        result.ok,
        JSON.stringify(result.problems),
        result.restoreMs ?? null,
        result.tables ? JSON.stringify(result.tables) : null,
        result.startedAt,
        result.finishedAt,
      ],
    );
    const { rows } = await this.pool.query(
      'SELECT * FROM restore_verification_results WHERE run_id = $1 AND tenant_id = $2',
      [result.runId, result.tenantId],
    );
    return rows[0] ? resultFromRow(rows[0] as Row) : undefined;
  }

  async finish(id: string, status: 'succeeded' | 'failed', error?: VerificationRun['error']): Promise<void> {
    await this.pool.query(
      `UPDATE restore_verification_runs SET status = $2, error = $3, finished_at = now()
       WHERE id = $1 AND status = 'running'`,
      [id, status, error ? JSON.stringify(error) : null],
    );
  }

  async get(id: string): Promise<VerificationRunDetail | undefined> {
    const { rows } = await this.pool.query(`${RUN_SELECT} WHERE r.id = $1`, [id]);
    if (!rows[0]) return undefined;
    const results = await this.pool.query(
      'SELECT * FROM restore_verification_results WHERE run_id = $1 ORDER BY tenant_id COLLATE "C"',
      [id],
    );
    return { ...runFromRow(rows[0] as Row), results: (results.rows as Row[]).map(resultFromRow) };
  }

  async list({ limit, before }: { limit: number; before?: string }): Promise<VerificationRun[]> {
    const { rows } = await this.pool.query(
      `${RUN_SELECT}
       WHERE $1::text IS NULL OR r.seq < (SELECT seq FROM restore_verification_runs WHERE id = $1)
       ORDER BY r.seq DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return (rows as Row[]).map(runFromRow);
  }

  async countFailingTenants(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT DISTINCT ON (tenant_id) tenant_id, ok FROM restore_verification_results
          ORDER BY tenant_id, seq DESC) latest
        JOIN tenants t ON t.id = latest.tenant_id
       WHERE NOT latest.ok AND t.status IN ('active', 'suspended')`,
    );
    return rows[0]!.n;
  }

  async latestResults(tenantIds: readonly string[]): Promise<Map<string, VerificationResult>> {
    const { rows } = await this.pool.query(
      `SELECT DISTINCT ON (tenant_id) * FROM restore_verification_results
        WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id, seq DESC`,
      [tenantIds],
    );
    return new Map(rows.map((r) => [r.tenant_id as string, resultFromRow(r as Row)]));
  }
}
