import type pg from 'pg';
import type { TenantRecord } from '../../domain/index.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { TenantFilter, TenantStore } from '../stores.js';
import { tenantFromRow } from './rows.js';

export class PostgresTenantStore implements TenantStore {
  constructor(private readonly pool: pg.Pool) {}

  async upsert(t: TenantRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO tenants (id, name, tier, region, dr_region, residency, deployment_model, status, status_reason,
         admin_email, features, labels, resources, created_at, updated_at, version, drift, read_only, retention,
         offboarding, active_region, recovery_region)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, region = EXCLUDED.region,
         dr_region = EXCLUDED.dr_region, residency = EXCLUDED.residency, deployment_model = EXCLUDED.deployment_model,
         status = EXCLUDED.status, status_reason = EXCLUDED.status_reason, admin_email = EXCLUDED.admin_email,
         features = EXCLUDED.features, labels = EXCLUDED.labels, resources = EXCLUDED.resources,
         updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, drift = EXCLUDED.drift,
         read_only = EXCLUDED.read_only, retention = EXCLUDED.retention, offboarding = EXCLUDED.offboarding,
         active_region = EXCLUDED.active_region, recovery_region = EXCLUDED.recovery_region
       WHERE tenants.version < EXCLUDED.version`,
      [
        t.id,
        t.name,
        t.tier,
        t.region,
        t.drRegion ?? null,
        t.residency ?? null,
        t.deploymentModel,
        t.status,
        t.statusReason ?? null,
        t.adminEmail,
        JSON.stringify(t.features),
        JSON.stringify(t.labels),
        JSON.stringify(t.resources),
        t.createdAt,
        t.updatedAt,
        t.version,
        t.drift ? JSON.stringify(t.drift) : null,
        t.readOnly ? JSON.stringify(t.readOnly) : null,
        t.retention ? JSON.stringify(t.retention) : null,
        t.offboarding ? JSON.stringify(t.offboarding) : null,
        t.activeRegion ?? null,
        t.recoveryRegion ?? null,
      ],
    );
  }

  async get(id: string): Promise<TenantRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM tenants WHERE id = $1', [id]);
    return rows[0] ? tenantFromRow(rows[0]) : undefined;
  }

  /** Keyset pagination on (created_at, id): stable while tenants are added. */
  async list(f: TenantFilter): Promise<{ items: TenantRecord[]; nextCursor?: string }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.tier) add('tier = ?', f.tier);
    if (f.region) add('region = ?', f.region);
    if (f.status) add('status = ?', f.status);
    const after = f.cursor ? decodeCursor(f.cursor) : undefined;
    if (after) {
      args.push(after.micros, after.id);
      where.push(
        `(created_at, id) > (to_timestamp(0) + $${args.length - 1}::bigint * interval '1 microsecond', $${args.length})`,
      );
    }
    args.push(f.limit + 1);
    const { rows } = await this.pool.query(
      `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS cursor_micros
       FROM tenants ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at, id LIMIT $${args.length}`,
      args,
    );
    const items = rows.slice(0, f.limit).map(tenantFromRow);
    const last = rows.length > f.limit ? rows[f.limit - 1] : undefined;
    return last
      ? { items, nextCursor: encodeCursor(last.cursor_micros as string, last.id as string) }
      : { items };
  }
}
