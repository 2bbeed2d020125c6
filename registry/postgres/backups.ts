import type pg from 'pg';
import type { BackedUpTable, TenantBackup } from '../../domain/index.js';
import type { BackupStore, NewBackup } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

function backupFromRow(r: Row): TenantBackup {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    operationId: r.operation_id as string,
    takenAt: iso(r.taken_at as Date)!,
    region: r.region as string,
    deploymentModel: r.deployment_model as TenantBackup['deploymentModel'],
    keyId: r.key_id as string,
    format: r.format as TenantBackup['format'],
    location: r.location as string,
    objectKey: r.object_key as string,
    bytes: Number(r.bytes),
    sha256: r.sha256 as string,
    schemaVersion: r.schema_version as string,
    tables: r.tables as BackedUpTable[],
    expiresAt: iso(r.expires_at as Date)!,
    status: r.expired_at ? 'expired' : 'available',
    ...(r.expired_at ? { expiredAt: iso(r.expired_at as Date)! } : {}),
    ...(r.verified_at ? { verifiedAt: iso(r.verified_at as Date)! } : {}),
  };
}

/** The backup catalog in `tenant_backups` (migration 014): inserted once, then verified or expired. */
export class PostgresBackupStore implements BackupStore {
  constructor(private readonly pool: pg.Pool) {}

  async record(b: NewBackup): Promise<TenantBackup> {
    // As exports: a racing insert of the same id inserts nothing; the SELECT after sees the winner.
    const { rows } = await this.pool.query(
      `INSERT INTO tenant_backups (id, tenant_id, operation_id, taken_at, region, deployment_model, key_id,
         format, location, object_key, bytes, sha256, schema_version, tables, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        b.id,
        b.tenantId,
        b.operationId,
        b.takenAt,
        b.region,
        b.deploymentModel,
        b.keyId,
        b.format,
        b.location,
        b.objectKey,
        b.bytes,
        b.sha256,
        b.schemaVersion,
        JSON.stringify(b.tables),
        b.expiresAt,
      ],
    );
    if (rows[0]) return backupFromRow(rows[0] as Row);
    const existing = await this.get(b.tenantId, b.id);
    if (!existing) throw new Error(`backup ${b.id} exists, but not for tenant ${b.tenantId}`);
    return existing;
  }

  async get(tenantId: string, id: string): Promise<TenantBackup | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM tenant_backups WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    return rows[0] ? backupFromRow(rows[0] as Row) : undefined;
  }

  async list(tenantId: string): Promise<TenantBackup[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM tenant_backups WHERE tenant_id = $1 ORDER BY taken_at DESC, seq DESC',
      [tenantId],
    );
    return rows.map((r) => backupFromRow(r as Row));
  }

  async latest(tenantId: string, atOrBefore?: string): Promise<TenantBackup | undefined> {
    const { rows } = await this.pool.query(
      `SELECT * FROM tenant_backups
        WHERE tenant_id = $1 AND expired_at IS NULL AND ($2::timestamptz IS NULL OR taken_at <= $2)
        ORDER BY taken_at DESC, seq DESC LIMIT 1`,
      [tenantId, atOrBefore ?? null],
    );
    return rows[0] ? backupFromRow(rows[0] as Row) : undefined;
  }

  async expiring(tenantId: string, at: string): Promise<TenantBackup[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM tenant_backups WHERE tenant_id = $1 AND expired_at IS NULL AND expires_at <= $2
        ORDER BY taken_at, seq`,
      [tenantId, at],
    );
    return rows.map((r) => backupFromRow(r as Row));
  }

  async lastTakenAt(tenantIds: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ tenant_id: string; taken_at: Date }>(
      `SELECT tenant_id, max(taken_at) AS taken_at FROM tenant_backups
        WHERE tenant_id = ANY($1::text[]) GROUP BY tenant_id`,
      [tenantIds],
    );
    return new Map(rows.map((r) => [r.tenant_id, r.taken_at.toISOString()]));
  }

  async markVerified(tenantId: string, id: string, at: string): Promise<TenantBackup | undefined> {
    await this.pool.query(
      `UPDATE tenant_backups SET verified_at = $3
        WHERE tenant_id = $1 AND id = $2 AND (verified_at IS NULL OR verified_at < $3)`,
      [tenantId, id, at],
    );
    return this.get(tenantId, id);
  }

  async markExpired(tenantId: string, id: string, at: string): Promise<TenantBackup | undefined> {
    await this.pool.query(
      `UPDATE tenant_backups SET expired_at = $3 WHERE tenant_id = $1 AND id = $2 AND expired_at IS NULL`,
      [tenantId, id, at],
    );
    return this.get(tenantId, id);
  }
}
