import type pg from 'pg';
import type { ReplicationState, ReplicationStatus } from '../../domain/index.js';
import type { ReplicationStore } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

function replicationFromRow(r: Row): ReplicationStatus {
  return {
    tenantId: r.tenant_id as string,
    source: r.source as string,
    target: r.target as string,
    state: r.state as ReplicationState,
    ...(r.lag_ms !== null ? { lagMs: Number(r.lag_ms) } : {}),
    ...(r.lag_bytes !== null ? { lagBytes: Number(r.lag_bytes) } : {}),
    ...(r.newest_data_at ? { newestDataAt: iso(r.newest_data_at as Date)! } : {}),
    measuredAt: iso(r.measured_at as Date)!,
    ...(r.reason !== null ? { reason: r.reason as string } : {}),
  };
}

/** Each tenant's latest replication measurement in `replication_status` (migration 017). */
export class PostgresReplicationStore implements ReplicationStore {
  constructor(private readonly pool: pg.Pool) {}

  async put(s: ReplicationStatus): Promise<void> {
    // The WHERE makes a measurement older than the stored one (a late or retried write) a no-op.
    await this.pool.query(
      `INSERT INTO replication_status
         (tenant_id, source, target, state, lag_ms, lag_bytes, newest_data_at, measured_at, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (tenant_id) DO UPDATE SET
         source = EXCLUDED.source, target = EXCLUDED.target, state = EXCLUDED.state,
         lag_ms = EXCLUDED.lag_ms, lag_bytes = EXCLUDED.lag_bytes,
         newest_data_at = EXCLUDED.newest_data_at, measured_at = EXCLUDED.measured_at,
         reason = EXCLUDED.reason
       WHERE replication_status.measured_at <= EXCLUDED.measured_at`,
      [
        s.tenantId,
        s.source,
        s.target,
        s.state,
        s.lagMs ?? null,
        s.lagBytes ?? null,
        s.newestDataAt ?? null,
        s.measuredAt,
        s.reason ?? null,
      ],
    );
  }

  async get(tenantId: string): Promise<ReplicationStatus | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM replication_status WHERE tenant_id = $1', [
      tenantId,
    ]);
    return rows[0] ? replicationFromRow(rows[0] as Row) : undefined;
  }

  async list(): Promise<ReplicationStatus[]> {
    const { rows } = await this.pool.query('SELECT * FROM replication_status ORDER BY tenant_id COLLATE "C"');
    return (rows as Row[]).map(replicationFromRow);
  }

  async delete(tenantId: string): Promise<void> {
    await this.pool.query('DELETE FROM replication_status WHERE tenant_id = $1', [tenantId]);
  }
}
