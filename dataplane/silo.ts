/**
 * A local silo's database and its two roles. The tenant's login role may only read and write the
 * rows of its own database; everything in that database belongs to a per-silo owner role, which is
 * how Landlord (migrations, copies, the admin user) works inside it — never as a superuser, so no
 * code in a database a tenant can log in to ever runs with more than that database's rights.
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { SILO_OWNER_PREFIX, siloNames } from '../domain/index.js';
import { withClient, withDatabase } from './connection.js';
import { MIGRATIONS_TABLE } from './migrations.js';
import {
  grantTablesSql,
  retryRaces,
  revokePublicSql,
  secureMaintenanceDatabases,
  serverMajorVersion,
  tenantRoleAttributes,
} from './hardening.js';

const q = pg.escapeIdentifier;

/** Connections Landlord itself may hold as a silo's owner (a migration, a copy, a check). */
const OWNER_CONNECTION_LIMIT = 8;

/** The folder under which local regions keep their silo tenants' object storage (one per data dir). */
export function localObjectsRoot(dataDir: string): string {
  return join(dataDir, 'objects');
}

/** The silo owner's password, derived from the master secret so that it is stored nowhere. */
export function siloOwnerPassword(secret: string, region: string, tenantId: string): string {
  return createHmac('sha256', secret).update(`silo-owner:${region}:${tenantId}`).digest('base64url');
}

/** URL of a silo database as its owner. */
export function siloOwnerUrl(serverUrl: string, region: string, tenantId: string, secret: string): string {
  const { database, owner } = siloNames(tenantId);
  const u = new URL(withDatabase(serverUrl, database));
  u.username = encodeURIComponent(owner);
  u.password = encodeURIComponent(siloOwnerPassword(secret, region, tenantId));
  return ownerSession(u.toString());
}

/**
 * Settings of every session Landlord opens in a silo as its owner: names resolve in public only,
 * and a lock the tenant holds on its own tables fails the statement after 30 s (retried by the
 * activity) instead of holding a worker's slot for as long as the tenant likes.
 */
export function ownerSession(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', '-c search_path=public -c lock_timeout=30s');
  return u.toString();
}

/** Creates the silo's owner role, or sets its password and attributes; run as a superuser. */
export async function ensureSiloOwner(c: pg.ClientBase, owner: string, password: string): Promise<void> {
  await retryRaces(async () => {
    const exists = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [owner]);
    await c.query(
      // INHERIT: the database owner's rights on schema public come through pg_database_owner, which
      // a role that does not inherit does not get on Postgres 15.
      `${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${q(owner)} LOGIN INHERIT ${tenantRoleAttributes(OWNER_CONNECTION_LIMIT)}
     PASSWORD ${pg.escapeLiteral(password)}`,
    );
    // From Postgres 16 on, Landlord's own sessions may use the connections the server reserves, so
    // tenants filling the server do not lock Landlord out of their silos.
    if ((await serverMajorVersion(c)) >= 16)
      await c.query(`GRANT pg_use_reserved_connections TO ${q(owner)}`);
  });
}

export interface SiloAccess {
  database: string;
  /** The tenant's login role. */
  role: string;
  owner: string;
  ownerPassword: string;
  /** Connections the tenant's role may hold; undefined leaves the current limit. */
  connectionLimit?: number;
}

/**
 * Puts a silo database under its owner role and confines the tenant's role to reading and writing
 * the tables of schema public: run as a superuser of the server; idempotent, and safe to run while
 * another run secures another silo. A silo made before the owner role existed (its database and
 * tables owned by the tenant's role) is taken over: everything the tenant's role owned passes to
 * the owner, every privilege it or PUBLIC held on the database's schemas and relations is revoked
 * before the grants below are made again, and the database's settings are cleared (Landlord sets
 * none on a silo).
 */
export async function secureSiloDatabase(serverUrl: string, access: SiloAccess): Promise<void> {
  const { database, role, owner, ownerPassword, connectionLimit } = access;
  await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    await ensureSiloOwner(c, owner, ownerPassword);
    await retryRaces(async () => {
      const { rows } = await c.query<{ owner: string }>(
        'SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = $1',
        [database],
      );
      if (!rows[0]) throw new Error(`database ${database} does not exist`);
      if (rows[0].owner !== owner) await c.query(`ALTER DATABASE ${q(database)} OWNER TO ${q(owner)}`);
      await c.query(`ALTER DATABASE ${q(database)} RESET ALL`);
      await c.query(`REVOKE ALL ON DATABASE ${q(database)} FROM PUBLIC`);
      await c.query(`GRANT CONNECT ON DATABASE ${q(database)} TO ${q(role)}`);
      await c.query(
        `ALTER ROLE ${q(role)} ${connectionLimit === undefined ? 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS' : tenantRoleAttributes(connectionLimit)}`,
      );
    });
    await secureMaintenanceDatabases(c);
  });
  // Nothing here runs code a tenant could have written: ownership and privilege changes only, with
  // the catalog first on the search path whatever the database's settings said.
  await withClient(searchPathPinned(withDatabase(serverUrl, database)), (c) =>
    retryRaces(async () => {
      // One transaction: the tenant's role is never without its grants in between.
      await c.query('BEGIN');
      try {
        // The tenant's role owns nothing here; whatever it does own (all of it, in a silo made before
        // the owner role existed) passes to the owner.
        await c.query(`REASSIGN OWNED BY ${q(role)} TO ${q(owner)}`);
        await c.query(revokeFromTenantSql(role));
        await c.query(revokePublicSql(database));
        await c.query(`GRANT USAGE ON SCHEMA public TO ${q(role)}`);
        await c.query(
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(owner)} IN SCHEMA public
           GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${q(role)}`,
        );
        await c.query(
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(owner)} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${q(role)}`,
        );
        await c.query(grantTablesSql(role, MIGRATIONS_TABLE));
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }),
  );
}

/**
 * Revokes every privilege PUBLIC or `role` holds on the database's own schemas, and on the tables
 * and sequences in them (what a tenant that owned its database could have granted itself or
 * everyone); the grants a silo's tenant gets are made again after.
 */
function revokeFromTenantSql(role: string): string {
  return `
DO $revoke$
DECLARE s pg_catalog.text;
BEGIN
  FOR s IN SELECT n.nspname FROM pg_catalog.pg_namespace n
    WHERE n.nspname OPERATOR(pg_catalog.!~) '^pg_' AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'
  LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA %I FROM PUBLIC, %I', s, ${pg.escapeLiteral(role)});
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, %I', s, ${pg.escapeLiteral(role)});
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC, %I', s, ${pg.escapeLiteral(role)});
  END LOOP;
END $revoke$;`;
}

/** A URL whose sessions start with only the catalog on their search path. */
export function searchPathPinned(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', '-c search_path=pg_catalog');
  return u.toString();
}

/**
 * Secures every silo database on a region server that is not yet under its owner role (made by an
 * earlier Landlord) or still open to PUBLIC; returns their names. Run at worker start.
 */
export async function secureExistingSilos(
  serverUrl: string,
  region: string,
  secret: string,
): Promise<string[]> {
  const stale = await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT d.datname FROM pg_catalog.pg_database d
       JOIN pg_catalog.pg_roles r ON r.rolname = d.datname
       WHERE d.datname ~ '^silo_[a-z][a-z0-9_]{2,39}$'
         AND (pg_catalog.pg_get_userbyid(d.datdba) <> $1 || substr(d.datname, 6)
              OR pg_catalog.has_database_privilege('public', d.oid, 'CONNECT'))`,
      [SILO_OWNER_PREFIX],
    );
    return rows.map((r) => r.datname);
  });
  for (const database of stale) {
    const tenantId = database.slice('silo_'.length).replaceAll('_', '-');
    const names = siloNames(tenantId);
    await secureSiloDatabase(serverUrl, {
      ...names,
      ownerPassword: siloOwnerPassword(secret, region, tenantId),
    });
  }
  return stale;
}
