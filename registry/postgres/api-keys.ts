import type pg from 'pg';
import type { ApiKeyRecord, Role } from '../../domain/index.js';
import type { ApiKeyStore } from '../stores.js';
import { newApiKey, secretHash } from '../api-key-secrets.js';
import { apiKeyFromRow } from './rows.js';

export class PostgresApiKeyStore implements ApiKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates a key and returns its secret; the secret is shown once and only its hash is kept. */
  async create(input: {
    name: string;
    role: Role;
    createdBy: string;
  }): Promise<{ key: ApiKeyRecord; secret: string }> {
    const { id, secret } = newApiKey();
    const { rows } = await this.pool.query(
      `INSERT INTO api_keys (id, name, role, secret_hash, created_by) VALUES ($1,$2,$3,$4,$5) RETURNING *`,
      [id, input.name, input.role, secretHash(secret), input.createdBy],
    );
    return { key: apiKeyFromRow(rows[0]), secret };
  }

  /** Makes `secret` a valid admin key under a fixed id (used for LANDLORD_ADMIN_KEY); idempotent. */
  async ensureAdmin(id: string, secret: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO api_keys (id, name, role, secret_hash, created_by) VALUES ($1, $1, 'admin', $2, 'landlord')
       ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, revoked_at = NULL, role = 'admin'`,
      [id, secretHash(secret)],
    );
  }

  async hasActiveAdmin(): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1`,
    );
    return rows.length > 0;
  }

  async authenticate(secret: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE api_keys SET last_used_at = now() WHERE secret_hash = $1 AND revoked_at IS NULL RETURNING *`,
      [secretHash(secret)],
    );
    return rows[0] ? apiKeyFromRow(rows[0]) : undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map(apiKeyFromRow);
  }

  /** Revokes a key: `revoked` now, `already` revoked before, or `unknown`. */
  async revoke(id: string): Promise<'revoked' | 'already' | 'unknown'> {
    const { rows } = await this.pool.query<{ was_active: boolean }>(
      `UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now())
       FROM (SELECT id, revoked_at IS NULL AS was_active FROM api_keys WHERE id = $1 FOR UPDATE) old
       WHERE k.id = old.id RETURNING old.was_active`,
      [id],
    );
    if (!rows[0]) return 'unknown';
    return rows[0].was_active ? 'revoked' : 'already';
  }
}
