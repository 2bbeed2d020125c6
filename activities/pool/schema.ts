/**
 * The pool database of a region: the application's schema plus Landlord's partition table and
 * row-level security keyed on the tenant, generated from the data-plane manifest, and the server
 * around it hardened so that a tenant's role reaches its own rows and nothing else.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { DataPlaneManifest } from '../../domain/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import {
  databasesOpenToEveryone,
  grantMembership,
  retryRaces,
  revokePublicSql,
  secureMaintenanceDatabases,
  serverMajorVersion,
} from '../../dataplane/hardening.js';
import { LockWatchdog } from './lock-watchdog.js';
import {
  DEFAULT_CONNECTION_LIMIT,
  POOL_DATABASE,
  READ_ONLY_GROUP_ROLE,
  TENANTS_GROUP_ROLE,
} from './names.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { secureExistingSilos } from '../../dataplane/silo.js';
import { DELETION_OUTBOX_SQL } from '../../dataplane/expiry.js';

const q = pg.escapeIdentifier;
const GROUPS = `${TENANTS_GROUP_ROLE}, ${READ_ONLY_GROUP_ROLE}`;

/**
 * Landlord's own schema in the pool database: the partition table, the coordination locks and the
 * state of what was applied. Tenants may read their own partition row and nothing else here.
 */
const LANDLORD_SCHEMA_SQL = `
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
-- Landlord serialises its work on rows of this table: tenants have no privilege on it, so no
-- tenant can take, hold or wait out these locks (unlike advisory locks, which every role shares).
CREATE TABLE IF NOT EXISTS landlord.locks (name text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS landlord.schema_state (
  name text PRIMARY KEY,
  digest text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
${DELETION_OUTBOX_SQL}`;

/** Two preparers creating the schema at once: the loser tries again and finds it made. */
async function ensureLandlordSchema(c: pg.ClientBase): Promise<void> {
  await retryRaces(() => c.query(LANDLORD_SCHEMA_SQL));
}

/**
 * Takes Landlord's lock `name` in the pool database for the client's open transaction, waiting
 * while another Landlord session holds it.
 */
export async function takeLock(c: pg.ClientBase, name: string): Promise<void> {
  await c.query(
    'INSERT INTO landlord.locks (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name',
    [name],
  );
}

/**
 * What every session of the pool database may do and see, with no lock on the application's
 * tables: nobody but the tenant groups connects, nobody creates temporary objects, objects in
 * public, or advisory locks; the tenant functions are immune to search_path tricks.
 */
function accessSql(): string {
  return `
${revokePublicSql(POOL_DATABASE)}
GRANT CONNECT ON DATABASE ${q(POOL_DATABASE)} TO ${GROUPS};
REVOKE ALL ON SCHEMA landlord FROM PUBLIC;
GRANT USAGE ON SCHEMA landlord TO ${GROUPS};
GRANT USAGE ON SCHEMA public TO ${GROUPS};
-- The tenant of the calling role (also after SET ROLE from a shared application login). Its body is
-- bound when it is created, and its search_path is fixed: nothing a caller defines (a type, cast,
-- operator or function in pg_temp or anywhere) changes what it resolves to.
CREATE OR REPLACE FUNCTION landlord.current_tenant() RETURNS pg_catalog.text
  LANGUAGE sql STABLE PARALLEL SAFE SECURITY INVOKER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT p.tenant_id FROM landlord.tenant_partitions p
  WHERE p.role_name OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.text;
END;
-- Earlier versions mapped any role to its tenant for any caller.
DROP FUNCTION IF EXISTS landlord.tenant_of_role(text);
REVOKE ALL ON FUNCTION landlord.current_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION landlord.current_tenant() TO ${GROUPS};
`;
}

const tenantKeyMatches = (key: string) =>
  `${q(key)} OPERATOR(pg_catalog.=) (SELECT landlord.current_tenant())`;

/** Row-level security on every application table and on the partition table; takes their locks. */
export function rowLevelSecuritySql(manifest: DataPlaneManifest): string {
  const tables = manifest.tables.map((t) => {
    const table = `public.${q(t.name)}`;
    return `
ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON ${table};
CREATE POLICY tenant_isolation ON ${table}
  USING (${tenantKeyMatches(t.tenantKey)}) WITH CHECK (${tenantKeyMatches(t.tenantKey)});
REVOKE ALL ON ${table} FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${TENANTS_GROUP_ROLE};
GRANT SELECT ON ${table} TO ${READ_ONLY_GROUP_ROLE};`;
  });
  return `
ALTER TABLE landlord.tenant_partitions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_partition ON landlord.tenant_partitions;
CREATE POLICY own_partition ON landlord.tenant_partitions FOR SELECT
  USING (role_name OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.text);
REVOKE ALL ON landlord.tenant_partitions, landlord.locks, landlord.schema_state FROM PUBLIC;
GRANT SELECT (tenant_id, role_name) ON landlord.tenant_partitions TO ${GROUPS};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${TENANTS_GROUP_ROLE};
${tables.join('\n')}
`;
}

/** Whether the row-level security of this manifest is in place as last applied. */
async function rowLevelSecurityCurrent(
  c: pg.ClientBase,
  manifest: DataPlaneManifest,
  digest: string,
): Promise<boolean> {
  const { rows } = await c.query<{ current: boolean }>(
    `SELECT (SELECT digest FROM landlord.schema_state WHERE name = 'row-level-security') = $1
        AND (SELECT count(*) FROM unnest($2::text[]) AS t(name)
             JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass('public.' || quote_ident(t.name))
             JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation'
             WHERE c.relrowsecurity) = pg_catalog.cardinality($2::text[]) AS current`,
    [digest, manifest.tables.map((t) => t.name)],
  );
  return rows[0]?.current === true;
}

/**
 * Tenant roles made by earlier versions: they get a connection limit (the default; a tier change
 * sets its tier's) and, from Postgres 16 on, lose the right to SET ROLE to their group.
 */
async function settleTenantRoles(c: pg.ClientBase): Promise<void> {
  const unlimited = await c.query<{ role_name: string }>(
    `SELECT p.role_name FROM landlord.tenant_partitions p
     JOIN pg_catalog.pg_roles r ON r.rolname = p.role_name WHERE r.rolconnlimit = -1`,
  );
  for (const { role_name: role } of unlimited.rows)
    await c.query(`ALTER ROLE ${q(role)} CONNECTION LIMIT ${DEFAULT_CONNECTION_LIMIT}`);
  if ((await serverMajorVersion(c)) < 16) return;
  const settable = await c.query<{ member: string; grp: string }>(
    `SELECT m.rolname AS member, g.rolname AS grp FROM pg_catalog.pg_auth_members a
     JOIN pg_catalog.pg_roles m ON m.oid = a.member JOIN pg_catalog.pg_roles g ON g.oid = a.roleid
     WHERE g.rolname IN ($1, $2) AND a.set_option`,
    [TENANTS_GROUP_ROLE, READ_ONLY_GROUP_ROLE],
  );
  for (const { member, grp } of settable.rows) await grantMembership(c, grp, member);
}

export interface PrepareOptions {
  /** Told about each tenant session ended for holding up the preparation. */
  log?: (message: string) => void;
}

/**
 * Brings a region's pool database to the manifest's schema with row-level security; idempotent and
 * safe to run from several processes at once. Once in place, a second run takes no lock on the
 * application's tables, so open tenant transactions do not hold up a worker's start.
 */
export async function preparePoolDatabase(
  poolDatabaseUrl: string,
  manifest: DataPlaneManifest,
  migrationsDir: string,
  { log }: PrepareOptions = {},
): Promise<void> {
  const watchdog = new LockWatchdog(poolDatabaseUrl, {
    onEnded: (s) =>
      log?.(`ended a session of ${s.role} that held a table lock or held up preparing the pool database`),
  }).start();
  const locking = new pg.Client({ connectionString: poolDatabaseUrl, application_name: 'landlord-prepare' });
  const migrating = new pg.Client({
    connectionString: poolDatabaseUrl,
    application_name: 'landlord-migrate',
  });
  for (const c of [locking, migrating]) c.on('error', () => undefined);
  try {
    await Promise.all([locking.connect(), migrating.connect()]);
    await ensureLandlordSchema(locking);
    await locking.query('BEGIN');
    await takeLock(locking, 'pool-schema');
    await applyApplicationMigrations(migrating, migrationsDir);
    await locking.query(accessSql());
    await settleTenantRoles(locking);
    const sql = rowLevelSecuritySql(manifest);
    const digest = createHash('sha256').update(sql).digest('hex');
    if (!(await rowLevelSecurityCurrent(locking, manifest, digest))) {
      await locking.query(sql);
      await locking.query(
        `INSERT INTO landlord.schema_state (name, digest) VALUES ('row-level-security', $1)
         ON CONFLICT (name) DO UPDATE SET digest = EXCLUDED.digest, applied_at = now()`,
        [digest],
      );
    }
    await locking.query('COMMIT');
  } catch (err) {
    await locking.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await Promise.allSettled([locking.end(), migrating.end(), watchdog.stop()]);
  }
}

/**
 * Prepares every region server given: its maintenance databases closed to PUBLIC, its pool
 * database created and prepared, its silo databases secured; idempotent. Warns about databases
 * of the server that every role (so every tenant) may still connect to.
 */
export async function prepareRegionServers(
  serverUrls: Readonly<Record<string, string>>,
  manifest: DataPlaneManifest,
  migrationsDir: string,
  secret: string,
  { log }: PrepareOptions = {},
): Promise<void> {
  for (const [region, serverUrl] of Object.entries(serverUrls)) {
    await ensureDatabase(serverUrl, POOL_DATABASE);
    await withClient(withDatabase(serverUrl, 'postgres'), secureMaintenanceDatabases);
    await preparePoolDatabase(withDatabase(serverUrl, POOL_DATABASE), manifest, migrationsDir, { log });
    const secured = await secureExistingSilos(serverUrl, region, secret);
    if (secured.length > 0)
      log?.(`${region}: secured ${secured.length} silo database(s) made by an earlier version`);
    const open = await withClient(withDatabase(serverUrl, 'postgres'), databasesOpenToEveryone);
    if (open.length > 0)
      log?.(
        `${region}: every role, tenants' included, may connect to ${open.join(', ')}; ` +
          `REVOKE CONNECT ON DATABASE … FROM PUBLIC unless that is meant`,
      );
  }
}
