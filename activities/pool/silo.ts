/**
 * A local silo's database and its two roles. The tenant's login role may only read and write the
 * rows of its own database; everything in that database belongs to a per-silo owner role, which is
 * how Landlord (migrations, copies, the admin user) works inside it — never as a superuser, so no
 * code in a database a tenant can log in to ever runs with more than that database's rights.
 */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { withClient, withDatabase } from '../database.js';
import {
  grantTablesSql,
  revokePublicSql,
  secureMaintenanceDatabases,
  tenantRoleAttributes,
} from './hardening.js';

const q = pg.escapeIdentifier;

/** Connections Landlord itself may hold as a silo's owner (a migration, a copy, a check). */
const OWNER_CONNECTION_LIMIT = 8;

/** The application's migrations table in every database Landlord migrates. */
export const MIGRATIONS_TABLE = 'app_migrations';

/** The silo database's name (and its tenant role's); matches pulumi/local's naming. */
export function siloDatabaseName(tenantId: string): string {
  return `silo_${tenantId.replaceAll('-', '_')}`;
}

/** The names of a tenant's silo objects on its region's server. */
export function siloNames(tenantId: string): { database: string; role: string; owner: string } {
  const database = siloDatabaseName(tenantId);
  return { database, role: database, owner: `${database}_owner` };
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
  // Whatever settings the database carries, Landlord's sessions resolve names in public only.
  u.searchParams.set('options', '-c search_path=public');
  return u.toString();
}

/** Creates the silo's owner role, or sets its password and attributes; run as a superuser. */
export async function ensureSiloOwner(c: pg.ClientBase, owner: string, password: string): Promise<void> {
  const exists = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [owner]);
  await c.query(
    // INHERIT: the database owner's rights on schema public come through pg_database_owner, which
    // a role that does not inherit does not get on Postgres 15.
    `${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${q(owner)} LOGIN INHERIT ${tenantRoleAttributes(OWNER_CONNECTION_LIMIT)}
     PASSWORD ${pg.escapeLiteral(password)}`,
  );
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
 * its tables: run as a superuser of the server; idempotent. A silo made before the owner role
 * existed (its database and tables owned by the tenant's role) is taken over: everything the
 * tenant's role owned passes to the owner, and the settings the tenant could have left on its
 * database are cleared.
 */
export async function secureSiloDatabase(serverUrl: string, access: SiloAccess): Promise<void> {
  const { database, role, owner, ownerPassword, connectionLimit } = access;
  let takenOver = false;
  await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    await ensureSiloOwner(c, owner, ownerPassword);
    const { rows } = await c.query<{ owner: string }>(
      'SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = $1',
      [database],
    );
    if (!rows[0]) throw new Error(`database ${database} does not exist`);
    if (rows[0].owner !== owner) {
      takenOver = rows[0].owner === role;
      await c.query(`ALTER DATABASE ${q(database)} OWNER TO ${q(owner)}`);
    }
    if (takenOver) await c.query(`ALTER DATABASE ${q(database)} RESET ALL`);
    await c.query(`REVOKE ALL ON DATABASE ${q(database)} FROM PUBLIC`);
    await c.query(`GRANT CONNECT ON DATABASE ${q(database)} TO ${q(role)}`);
    await c.query(
      `ALTER ROLE ${q(role)} ${connectionLimit === undefined ? 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS' : tenantRoleAttributes(connectionLimit)}`,
    );
    await secureMaintenanceDatabases(c);
  });
  // Nothing here runs code a tenant could have written: ownership and privilege changes only, with
  // the catalog first on the search path whatever the database's settings said.
  await withClient(searchPathPinned(withDatabase(serverUrl, database)), async (c) => {
    // The tenant's role owns nothing here; whatever it does own (all of it, in a silo made before
    // the owner role existed) passes to the owner.
    await c.query(`REASSIGN OWNED BY ${q(role)} TO ${q(owner)}`);
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
  });
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
         AND (pg_catalog.pg_get_userbyid(d.datdba) <> d.datname || '_owner'
              OR pg_catalog.has_database_privilege('public', d.oid, 'CONNECT'))`,
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
