/**
 * What every tenant role meets on a region's Postgres server: no temporary objects, no objects of
 * its own, no advisory locks (a lock space every role of a database shares), no database but its
 * own. Used for the pool database, each silo database and the server's maintenance databases.
 */
import pg from 'pg';

const q = pg.escapeIdentifier;

/** Databases every role may connect to on a fresh server; Landlord's tenants may not. */
export const MAINTENANCE_DATABASES = ['postgres', 'template1'] as const;

/**
 * Revokes EXECUTE from PUBLIC on every advisory-lock function of the current database. Advisory
 * locks are shared by every role of a database, so one tenant could hold another's (or
 * Landlord's) keys, or fill the server's lock table with them; superusers keep them.
 */
export const REVOKE_ADVISORY_LOCKS_SQL = `
DO $revoke$
DECLARE f pg_catalog.regprocedure;
BEGIN
  FOR f IN SELECT p.oid::pg_catalog.regprocedure FROM pg_catalog.pg_proc p
    WHERE p.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
      AND p.proname OPERATOR(pg_catalog.~) '^pg_(try_)?advisory_'
  LOOP
    EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $revoke$;`;

/**
 * Revokes EXECUTE from PUBLIC on the functions that create large objects: they live outside every
 * table of the manifest, where retention, erasure and backups never see them.
 */
export const REVOKE_LARGE_OBJECTS_SQL = `
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
  pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text), pg_catalog.lo_import(text, oid)
  FROM PUBLIC;`;

/**
 * What PUBLIC may do in a database Landlord manages: connect to it, create temporary objects in it,
 * create objects in its public schema, take advisory locks, create large objects — none of it;
 * each role is granted what it needs instead.
 */
export function revokePublicSql(database: string): string {
  return `
REVOKE ALL ON DATABASE ${q(database)} FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
${REVOKE_ADVISORY_LOCKS_SQL}
${REVOKE_LARGE_OBJECTS_SQL}`;
}

/**
 * SQLSTATEs of two sessions changing the same catalog row at once (creating one role, granting on
 * one database): the loser tries again and finds the work done.
 */
const RACES = new Set(['23505', '42P06', '42P07', '42710', 'XX000', '40P01', '40001']);

/** Runs `work` again (up to 5 times, after a short random pause) when it lost such a race. */
export async function retryRaces<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 5 || !RACES.has((err as { code?: string }).code ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }
}

/** The server's major version, e.g. 18. */
export async function serverMajorVersion(c: pg.ClientBase): Promise<number> {
  const { rows } = await c.query<{ v: string }>(
    `SELECT pg_catalog.current_setting('server_version_num') AS v`,
  );
  return Math.floor(Number(rows[0]!.v) / 10_000);
}

/**
 * Makes `member` a member of `group` that inherits its privileges. From Postgres 16 on, the member
 * may not `SET ROLE` to the group either, so it cannot act as the group (as another tenant's peer).
 */
export async function grantMembership(c: pg.ClientBase, group: string, member: string): Promise<void> {
  const options = (await serverMajorVersion(c)) >= 16 ? ' WITH INHERIT TRUE, SET FALSE' : '';
  await c.query(`GRANT ${q(group)} TO ${q(member)}${options}`);
}

/** Role attributes a tenant's login role must never have, plus its connection limit. */
export function tenantRoleAttributes(connectionLimit: number): string {
  return `NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT ${Math.trunc(connectionLimit)}`;
}

/**
 * Server-wide: no role but superusers may connect to, or create temporary objects in, the
 * maintenance databases. Run as a superuser connected to any database of the server; idempotent.
 */
export async function secureMaintenanceDatabases(c: pg.ClientBase): Promise<void> {
  // Only where PUBLIC still has them: a REVOKE rewrites the database's row, which two sessions
  // doing it at once fail on.
  const { rows } = await c.query<{ datname: string }>(
    `SELECT d.datname FROM pg_catalog.pg_database d
     WHERE d.datname = ANY($1) AND (pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')
        OR pg_catalog.has_database_privilege('public', d.oid, 'TEMPORARY'))`,
    [[...MAINTENANCE_DATABASES]],
  );
  for (const { datname } of rows)
    await retryRaces(() => c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${q(datname)} FROM PUBLIC`));
}

/** Databases of the server any role may still connect to (PUBLIC holds CONNECT), for a warning. */
export async function databasesOpenToEveryone(c: pg.ClientBase): Promise<string[]> {
  const { rows } = await c.query<{ datname: string }>(
    `SELECT d.datname FROM pg_catalog.pg_database d
     WHERE d.datallowconn AND pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')
     ORDER BY d.datname`,
  );
  return rows.map((r) => r.datname);
}

/**
 * Lets `role` read and write every table of schema public and use its sequences, except the
 * migrations table; idempotent.
 */
export function grantTablesSql(role: string, migrationsTable: string): string {
  return `
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${q(role)};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${q(role)};
DO $grant$ BEGIN
  IF pg_catalog.to_regclass(${pg.escapeLiteral(`public.${migrationsTable}`)}) IS NOT NULL THEN
    EXECUTE ${pg.escapeLiteral(`REVOKE ALL ON public.${q(migrationsTable)} FROM ${q(role)}`)};
  END IF;
END $grant$;`;
}

/**
 * Creates a database no tenant can connect to at any moment: made with connections off, PUBLIC's
 * rights revoked, then opened (scratch databases for restore verification, a silo's restore
 * staging database). Needs a superuser connection on a Postgres server of 9.5 or later.
 */
export async function createClosedDatabase(
  c: pg.ClientBase,
  name: string,
  { owner, comment }: { owner?: string; comment?: string } = {},
): Promise<void> {
  await c.query(
    `CREATE DATABASE ${pg.escapeIdentifier(name)}${owner ? ` OWNER ${pg.escapeIdentifier(owner)}` : ''} ALLOW_CONNECTIONS false`,
  );
  if (comment !== undefined)
    await c.query(`COMMENT ON DATABASE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(comment)}`);
  await c.query(`REVOKE ALL ON DATABASE ${pg.escapeIdentifier(name)} FROM PUBLIC`);
  await c.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} ALLOW_CONNECTIONS true`);
}
