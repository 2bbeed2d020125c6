import type pg from 'pg';
import type { TenantKeyDestruction, TenantKeyInfo } from '../../domain/index.js';
import type { NewTenantKey, StoredTenantKey, TenantKeyStore } from '../stores.js';
import { iso } from './rows.js';
import type { Row } from './rows.js';

function keyFromRow(r: Row): StoredTenantKey {
  return {
    tenantId: r.tenant_id as string,
    keyId: r.key_id as string,
    kekId: r.kek_id as string,
    createdAt: iso(r.created_at as Date)!,
    ...(r.destroyed_at ? { destroyedAt: iso(r.destroyed_at as Date)! } : {}),
    ...(r.destroyed_by ? { destroyedBy: r.destroyed_by as string } : {}),
    ...(r.wrapped_key ? { wrapped: r.wrapped_key as string } : {}),
  };
}

const infoOf = ({ wrapped: _wrapped, ...info }: StoredTenantKey): TenantKeyInfo => info;

export class PostgresTenantKeyStore implements TenantKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(key: NewTenantKey): Promise<TenantKeyInfo> {
    // A racing insert waits for the first to commit, then inserts nothing; the SELECT (a statement
    // of its own, so a snapshot of its own) sees the key that won.
    const { rows } = await this.pool.query(
      `INSERT INTO tenant_keys (tenant_id, key_id, kek_id, wrapped_key) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id) DO NOTHING RETURNING *`,
      [key.tenantId, key.keyId, key.kekId, key.wrapped],
    );
    if (rows[0]) return infoOf(keyFromRow(rows[0] as Row));
    const existing = await this.get(key.tenantId);
    if (!existing) throw new Error(`the data key of tenant ${key.tenantId} was neither recorded nor found`);
    return infoOf(existing);
  }

  async get(tenantId: string): Promise<StoredTenantKey | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM tenant_keys WHERE tenant_id = $1', [tenantId]);
    return rows[0] ? keyFromRow(rows[0] as Row) : undefined;
  }

  async destroy(tenantId: string, destroyedBy: string): Promise<TenantKeyDestruction> {
    const { rowCount } = await this.pool.query(
      `UPDATE tenant_keys SET wrapped_key = NULL, destroyed_at = now(), destroyed_by = $2
       WHERE tenant_id = $1 AND destroyed_at IS NULL`,
      [tenantId, destroyedBy],
    );
    if (rowCount) return 'destroyed';
    return (await this.get(tenantId)) ? 'already' : 'unknown';
  }
}
