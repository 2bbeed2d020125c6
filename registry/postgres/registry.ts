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
import { PostgresBackupStore } from './backups.js';
import { PostgresErasureStore } from './erasures.js';
import { PostgresExportStore } from './exports.js';
import { PostgresIdempotencyStore } from './idempotency.js';
import { PostgresLedgerStore } from './ledger.js';
import { PostgresLegalHoldStore } from './legal-holds.js';
import { PostgresOperationStore } from './operations.js';
import { PostgresReplicationStore } from './replication.js';
import { PostgresRetentionRunStore } from './retention-runs.js';
import { PostgresTenantKeyStore } from './tenant-keys.js';
import { PostgresTenantStore } from './tenants.js';
import { PostgresVerificationStore } from './verifications.js';
import { ensureRuntimeRole, REGISTRY_MIGRATION_LOCK, runtimeUrl } from './runtime-role.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export class PostgresRegistry implements Registry {
  readonly tenants: PostgresTenantStore;
  readonly operations: PostgresOperationStore;
  readonly audit: PostgresAuditStore;
  readonly ledger: PostgresLedgerStore;
  readonly legalHolds: PostgresLegalHoldStore;
  readonly retentionRuns: PostgresRetentionRunStore;
  readonly erasures: PostgresErasureStore;
  readonly tenantKeys: PostgresTenantKeyStore;
  readonly exports: PostgresExportStore;
  readonly backups: PostgresBackupStore;
  readonly verifications: PostgresVerificationStore;
  readonly replication: PostgresReplicationStore;
  readonly apiKeys: PostgresApiKeyStore;
  readonly idempotency: PostgresIdempotencyStore;

  /**
   * `pool` connects as the runtime role (registry/postgres/runtime-role.ts); `ownerUrl`, which owns
   * the tables, is used by `migrate` alone.
   */
  constructor(
    readonly pool: pg.Pool,
    idempotency: IdempotencySettings = DEFAULT_IDEMPOTENCY,
    private readonly ownerUrl?: string,
  ) {
    this.tenants = new PostgresTenantStore(pool);
    this.operations = new PostgresOperationStore(pool);
    this.audit = new PostgresAuditStore(pool);
    this.ledger = new PostgresLedgerStore(pool);
    this.legalHolds = new PostgresLegalHoldStore(pool);
    this.retentionRuns = new PostgresRetentionRunStore(pool);
    this.erasures = new PostgresErasureStore(pool);
    this.tenantKeys = new PostgresTenantKeyStore(pool);
    this.exports = new PostgresExportStore(pool);
    this.backups = new PostgresBackupStore(pool);
    this.verifications = new PostgresVerificationStore(pool);
    this.replication = new PostgresReplicationStore(pool);
    this.apiKeys = new PostgresApiKeyStore(pool);
    this.idempotency = new PostgresIdempotencyStore(pool, idempotency);
  }

  async close(): Promise<void> {
    await this.operations.close();
    await this.pool.end();
  }

  /** Brings the registry's tables up to date and gives the runtime role its rights on them. */
  async migrate(): Promise<void> {
    const ownerUrl = this.ownerUrl ?? this.pool.options.connectionString!;
    await runner({
      databaseUrl: ownerUrl,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'registry_migrations',
      advisoryLockMode: 'wait',
      lockValue: REGISTRY_MIGRATION_LOCK,
      log: () => undefined,
    } as Parameters<typeof runner>[0]);
    if (!this.ownerUrl) return;
    const owner = new pg.Client({ connectionString: ownerUrl, application_name: 'landlord-migrate' });
    owner.on('error', () => undefined);
    await owner.connect();
    try {
      await ensureRuntimeRole(owner, ownerUrl);
    } finally {
      await owner.end().catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}

/**
 * A registry on the database at `url` (a role that owns it, or may create it), with at most `max`
 * connections. Its queries run as the runtime role `migrate` sets up, never as `url`'s role.
 */
export function connectRegistry(
  url: string,
  max = 10,
  { idempotency = DEFAULT_IDEMPOTENCY }: { idempotency?: IdempotencySettings } = {},
): PostgresRegistry {
  const pool = new pg.Pool({ connectionString: runtimeUrl(url), max, application_name: 'landlord' });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new PostgresRegistry(pool, idempotency, url);
}
