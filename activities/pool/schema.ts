/**
 * The pool database of a region: the application's schema plus Landlord's partition table and
 * row-level security keyed on the tenant, generated from the data-plane manifest.
 */
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { DataPlaneManifest } from '../../domain/index.js';
import { ensureDatabase, withDatabase } from '../database.js';

export const POOL_DATABASE = 'landlord_pool';
/** Group role holding the table privileges every tenant role inherits. */
export const TENANTS_GROUP_ROLE = 'landlord_tenants';
/** Group role a tenant role is moved to while the tenant is read-only: it may only select. */
export const READ_ONLY_GROUP_ROLE = 'landlord_tenants_read_only';

const q = pg.escapeIdentifier;

/** Applies the application's migrations to a database; safe to run concurrently. */
export async function applyApplicationMigrations(databaseUrl: string, migrationsDir: string): Promise<void> {
  await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'app_migrations',
    advisoryLockMode: 'wait',
    log: () => undefined,
  } as Parameters<typeof runner>[0]);
}

/** The SQL that binds the application's tables to their tenant; idempotent. */
export function rowLevelSecuritySql(manifest: DataPlaneManifest): string {
  const tables = manifest.tables.map((t) => {
    const table = q(t.name);
    const key = q(t.tenantKey);
    return `
ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON ${table};
CREATE POLICY tenant_isolation ON ${table}
  USING (${key} = landlord.current_tenant()) WITH CHECK (${key} = landlord.current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${TENANTS_GROUP_ROLE};
GRANT SELECT ON ${table} TO ${READ_ONLY_GROUP_ROLE};`;
  });
  return `
DO $$ BEGIN
  CREATE ROLE ${TENANTS_GROUP_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
  CREATE ROLE ${READ_ONLY_GROUP_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
CREATE SCHEMA IF NOT EXISTS landlord;
CREATE TABLE IF NOT EXISTS landlord.tenant_partitions (
  tenant_id text PRIMARY KEY,
  role_name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Maps a role to its tenant without letting tenants read the partition table.
CREATE OR REPLACE FUNCTION landlord.tenant_of_role(role_name text) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $f$ SELECT tenant_id FROM landlord.tenant_partitions p WHERE p.role_name = $1 $f$;
-- Not SECURITY DEFINER, so current_user is the caller (also after SET ROLE).
CREATE OR REPLACE FUNCTION landlord.current_tenant() RETURNS text
  LANGUAGE sql STABLE AS $f$ SELECT landlord.tenant_of_role(current_user::text) $f$;
REVOKE ALL ON FUNCTION landlord.tenant_of_role(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA landlord TO ${TENANTS_GROUP_ROLE}, ${READ_ONLY_GROUP_ROLE};
GRANT EXECUTE ON FUNCTION landlord.tenant_of_role(text), landlord.current_tenant()
  TO ${TENANTS_GROUP_ROLE}, ${READ_ONLY_GROUP_ROLE};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${TENANTS_GROUP_ROLE};
${tables.join('\n')}
`;
}

/** Brings a region's pool database to the manifest's schema with row-level security; idempotent. */
export async function preparePoolDatabase(
  poolDatabaseUrl: string,
  manifest: DataPlaneManifest,
  migrationsDir: string,
): Promise<void> {
  await applyApplicationMigrations(poolDatabaseUrl, migrationsDir);
  const client = new pg.Client({ connectionString: poolDatabaseUrl });
  await client.connect();
  try {
    // Serialise concurrent preparers (API, workers, tests) on one advisory lock.
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('landlord.pool-schema'))`);
    await client.query(rowLevelSecuritySql(manifest));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** Creates and prepares the pool database on every region server given; idempotent. */
export async function preparePoolDatabases(
  serverUrls: Readonly<Record<string, string>>,
  manifest: DataPlaneManifest,
  migrationsDir: string,
): Promise<void> {
  for (const serverUrl of Object.values(serverUrls)) {
    await ensureDatabase(serverUrl, POOL_DATABASE);
    await preparePoolDatabase(withDatabase(serverUrl, POOL_DATABASE), manifest, migrationsDir);
  }
}
