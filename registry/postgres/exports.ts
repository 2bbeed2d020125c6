import type pg from 'pg';
import type { ExportedTable, TenantExport } from '../../domain/index.js';
import type { ExportStore, NewExport } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

function exportFromRow(r: Row): TenantExport {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    operationId: r.operation_id as string,
    createdAt: iso(r.created_at as Date)!,
    keyId: r.key_id as string,
    format: r.format as TenantExport['format'],
    bytes: Number(r.bytes),
    sha256: r.sha256 as string,
    schemaVersion: r.schema_version as string,
    tables: r.tables as ExportedTable[],
    ...(r.verified_at ? { verifiedAt: iso(r.verified_at as Date)! } : {}),
  };
}

/** Tenants' exports in `tenant_exports` (migration 012): inserted once, then only verified. */
export class PostgresExportStore implements ExportStore {
  constructor(private readonly pool: pg.Pool) {}

  async record(e: NewExport): Promise<TenantExport> {
    // A racing insert of the same id waits for the first to commit, then inserts nothing; the
    // SELECT after it (a statement of its own, so a snapshot of its own) sees the one that won.
    const { rows } = await this.pool.query(
      `INSERT INTO tenant_exports (id, tenant_id, operation_id, created_at, key_id, format, bytes, sha256,
         schema_version, tables)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        e.id,
        e.tenantId,
        e.operationId,
        e.createdAt,
        e.keyId,
        e.format,
        e.bytes,
        e.sha256,
        e.schemaVersion,
        JSON.stringify(e.tables),
      ],
    );
    if (rows[0]) return exportFromRow(rows[0] as Row);
    const existing = await this.get(e.tenantId, e.id);
    if (!existing) throw new Error(`export ${e.id} exists, but not for tenant ${e.tenantId}`);
    return existing;
  }

  async get(tenantId: string, id: string): Promise<TenantExport | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM tenant_exports WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    return rows[0] ? exportFromRow(rows[0] as Row) : undefined;
  }

  async list(tenantId: string): Promise<TenantExport[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM tenant_exports WHERE tenant_id = $1 ORDER BY created_at DESC, seq DESC',
      [tenantId],
    );
    return rows.map((r) => exportFromRow(r as Row));
  }

  async markVerified(tenantId: string, id: string, at: string): Promise<TenantExport | undefined> {
    await this.pool.query(
      `UPDATE tenant_exports SET verified_at = $3
        WHERE tenant_id = $1 AND id = $2 AND verified_at IS NULL`,
      [tenantId, id, at],
    );
    return this.get(tenantId, id);
  }
}
