/**
 * The registry on Postgres: one pool shared by its stores. Writes are idempotent upserts; nothing
 * here throws SQL text upwards.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { DEFAULT_IDEMPOTENCY } from '../stores.js';
import type { IdempotencySettings, Registry } from '../stores.js';
import { PostgresApiKeyStore } from './api-keys.js';
import { PostgresAuditStore } from './audit.js';
import { PostgresIdempotencyStore } from './idempotency.js';
import { PostgresLedgerStore } from './ledger.js';
import { PostgresLegalHoldStore } from './legal-holds.js';
import { PostgresOperationStore } from './operations.js';
import { PostgresRetentionRunStore } from './retention-runs.js';
import { PostgresTenantStore } from './tenants.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export class PostgresRegistry implements Registry {
  readonly tenants: PostgresTenantStore;
  readonly operations: PostgresOperationStore;
  readonly audit: PostgresAuditStore;
  readonly ledger: PostgresLedgerStore;
  readonly legalHolds: PostgresLegalHoldStore;
  readonly retentionRuns: PostgresRetentionRunStore;
  readonly apiKeys: PostgresApiKeyStore;
  readonly idempotency: PostgresIdempotencyStore;

  constructor(
    readonly pool: pg.Pool,
    idempotency: IdempotencySettings = DEFAULT_IDEMPOTENCY,
  ) {
    this.tenants = new PostgresTenantStore(pool);
    this.operations = new PostgresOperationStore(pool);
    this.audit = new PostgresAuditStore(pool);
    this.ledger = new PostgresLedgerStore(pool);
    this.legalHolds = new PostgresLegalHoldStore(pool);
    this.retentionRuns = new PostgresRetentionRunStore(pool);
    this.apiKeys = new PostgresApiKeyStore(pool);
    this.idempotency = new PostgresIdempotencyStore(pool, idempotency);
  }

  async close(): Promise<void> {
    await this.operations.close();
    await this.pool.end();
  }

  async migrate(): Promise<void> {
    await runner({
      databaseUrl: this.pool.options.connectionString!,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'registry_migrations',
      advisoryLockMode: 'wait',
      log: () => undefined,
    } as Parameters<typeof runner>[0]);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}

/** A registry on the database at `url`, with at most `max` connections. */
export function connectRegistry(
  url: string,
  max = 10,
  { idempotency = DEFAULT_IDEMPOTENCY }: { idempotency?: IdempotencySettings } = {},
): PostgresRegistry {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'landlord' });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new PostgresRegistry(pool, idempotency);
}
