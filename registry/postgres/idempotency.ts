import type pg from 'pg';
import { DEFAULT_IDEMPOTENCY } from '../stores.js';
import type { IdempotencyBegin, IdempotencySettings, IdempotencyStore } from '../stores.js';

export class PostgresIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly settings: IdempotencySettings = DEFAULT_IDEMPOTENCY,
  ) {}

  async begin(principal: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    // Taken over: the same request's claim left in flight too long, or any claim expired.
    const inserted = await this.pool.query(
      `INSERT INTO idempotency_keys (principal, key, request_hash) VALUES ($1,$2,$3)
       ON CONFLICT (principal, key) DO UPDATE SET created_at = now(), request_hash = EXCLUDED.request_hash,
         response_status = NULL, response_headers = NULL, response_body = NULL, completed_at = NULL
       WHERE (idempotency_keys.response_status IS NULL AND idempotency_keys.request_hash = EXCLUDED.request_hash
           AND idempotency_keys.created_at < now() - make_interval(secs => $4))
         OR idempotency_keys.completed_at < now() - make_interval(secs => $5)`,
      [principal, key, requestHash, this.settings.inFlightStaleMs / 1000, this.settings.ttlMs / 1000],
    );
    if ((inserted.rowCount ?? 0) > 0) return { state: 'new' };
    const { rows } = await this.pool.query(
      'SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2',
      [principal, key],
    );
    const row = rows[0];
    if (!row) return this.begin(principal, key, requestHash);
    if (row.request_hash !== requestHash) return { state: 'mismatch' };
    if (row.response_status === null) return { state: 'in-flight' };
    return {
      state: 'replay',
      status: row.response_status,
      headers: row.response_headers ?? {},
      body: row.response_body,
    };
  }

  async complete(
    principal: string,
    key: string,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE idempotency_keys SET response_status = $3, response_headers = $4, response_body = $5, completed_at = now()
       WHERE principal = $1 AND key = $2`,
      [principal, key, status, JSON.stringify(headers), JSON.stringify(body)],
    );
  }

  async abandon(principal: string, key: string): Promise<void> {
    await this.pool.query(
      'DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND response_status IS NULL',
      [principal, key],
    );
  }

  async purgeExpired(batch = 1000): Promise<number> {
    // One short statement per batch; the index on completed_at finds them.
    const { rowCount } = await this.pool.query(
      `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_keys WHERE completed_at < now() - make_interval(secs => $1) LIMIT $2))`,
      [this.settings.ttlMs / 1000, batch],
    );
    return rowCount ?? 0;
  }
}
