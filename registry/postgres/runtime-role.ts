/**
 * The role Landlord's queries run as. The URL Landlord is configured with owns the registry's
 * tables (it runs the migrations), and an owner can switch a table's triggers off — a superuser, as
 * the embedded default is, can even do so for its session alone. So the ledger's and the legal
 * holds' guarantees would bind every role but the one Landlord uses. Instead the owner only
 * migrates, and every query runs as the database's runtime role: no superuser, no owner, no
 * member of any role, and on the ledger, the audit trail and the erasure list only SELECT and INSERT; on legal holds
 * SELECT, INSERT and an UPDATE of the release columns alone; on tenant keys SELECT, INSERT and
 * an UPDATE of the columns their destruction sets alone; on tenant exports SELECT, INSERT and an
 * UPDATE of their verification time alone; on tenant backups SELECT, INSERT and an UPDATE of their
 * verification and expiry times alone.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The advisory lock the registry's migrations run under (node-pg-migrate's `lockValue`); the
 * runtime role's grants are made under it too, so no GRANT races a migration's ALTER TABLE.
 */
export const REGISTRY_MIGRATION_LOCK = 7241865325823964;

/** Tables the runtime role reads and appends to, and never changes. */
const APPEND_ONLY = ['ledger_records', 'audit_events', 'erasure_list'];
/** What a legal hold's release sets; nothing else of a hold ever changes. */
const HOLD_RELEASE_COLUMNS = ['released_at', 'released_by', 'release_reason'];
/** What a tenant key's destruction sets; nothing else of a key ever changes. */
const KEY_DESTRUCTION_COLUMNS = ['wrapped_key', 'destroyed_at', 'destroyed_by'];
/** What an export's verification sets; nothing else of an export ever changes. */
const EXPORT_VERIFICATION_COLUMNS = ['verified_at'];
/** What a backup's verification and expiry set; nothing else of a backup ever changes. */
const BACKUP_CHANGE_COLUMNS = ['verified_at', 'expired_at'];

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * The runtime role of a registry database: `<database>_app`, or for a database whose name does not
 * make one, a name from its hash. One per database, so registries sharing a server stay apart.
 */
function runtimeRoleOf(database: string): string {
  const name = `${database}_app`;
  return IDENTIFIER.test(name) && name.length <= 63
    ? name
    : `landlord_app_${createHash('sha256').update(database).digest('hex').slice(0, 16)}`;
}

/** Marks a role as Landlord's own (COMMENT ON ROLE): a role of that name without it is not taken over. */
const markOf = (database: string) => `Landlord's registry runtime role for database ${database}`;

function databaseOf(url: URL): string {
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error('the registry URL must name its database (…/landlord_registry)');
  return database;
}

/**
 * The runtime role's password: derived from the owner's password, so that every process configured
 * with the owner's URL agrees without another setting, and nobody without that password knows it.
 */
function runtimePassword(url: URL): string {
  if (!url.password)
    throw new Error(
      "the registry URL has no password: Landlord derives its runtime role's from it (give the URL one)",
    );
  return createHmac('sha256', decodeURIComponent(url.password))
    .update('landlord registry runtime role')
    .digest('base64url');
}

/**
 * A SCRAM-SHA-256 verifier of `password` (RFC 5802, as Postgres stores it): the role is given this,
 * so the password itself is in no statement a server could log.
 */
function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** The owner's URL with the runtime role's name and password in place of the owner's. */
export function runtimeUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  const role = runtimeRoleOf(databaseOf(url));
  if (decodeURIComponent(url.username) === role)
    throw new Error(
      `the registry URL must name the role that owns the registry, not ${role}, which Landlord makes itself`,
    );
  const password = runtimePassword(url);
  url.username = role;
  url.password = password;
  return url.toString();
}

/** Attributes the runtime role must have, as pg_roles shows them. */
const ATTRIBUTES = {
  rolcanlogin: true,
  rolsuper: false,
  rolcreaterole: false,
  rolcreatedb: false,
  rolreplication: false,
  rolbypassrls: false,
  rolinherit: false,
} as const;

/** Whether the runtime role signs in with the password derived now. */
async function signsIn(ownerUrl: string): Promise<boolean> {
  const client = new pg.Client({
    connectionString: runtimeUrl(ownerUrl),
    application_name: 'landlord-migrate',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    // A wrong password (28P01), or anything else that keeps it out: its password is set again.
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the runtime role when it is missing and gives it exactly its rights on the registry's
 * tables, run by the owner after its migrations. Safe to run again and from processes at once. An
 * existing role is checked, not altered (a role that is not a superuser may not restate another's
 * attributes), and only its password is set again, when it no longer signs in.
 */
export async function ensureRuntimeRole(owner: pg.ClientBase, ownerUrl: string): Promise<void> {
  const url = new URL(ownerUrl);
  const database = databaseOf(url);
  const role = runtimeRoleOf(database);
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
  await owner.query('BEGIN');
  try {
    await owner.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_MIGRATION_LOCK]);
    const { rows: here } = await owner.query<{ database: string; schema: string }>(
      'SELECT current_database() AS database, current_schema() AS schema',
    );
    if (here[0]!.database !== database)
      throw new Error(`the registry URL names database ${database} but reaches ${here[0]!.database}`);
    const { schema } = here[0]!;
    const { rows: existing } = await owner.query<
      { mark: string | null; member_of: number } & Record<keyof typeof ATTRIBUTES, boolean>
    >(
      `SELECT shobj_description(r.oid, 'pg_authid') AS mark, ${Object.keys(ATTRIBUTES).join(', ')},
              (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS member_of
         FROM pg_roles r WHERE r.rolname = $1`,
      [role],
    );
    const found = existing[0];
    // A verifier is base64 with `$` and `:`: it needs no quoting in the literal role statements take.
    const password = () => `PASSWORD '${scramVerifier(runtimePassword(url))}'`;
    const asOwner = async (sql: string, verb: string) => {
      try {
        await owner.query(sql);
      } catch (err) {
        if ((err as { code?: string }).code === '42501')
          throw new Error(
            `the registry's role cannot ${verb} the role ${role} Landlord runs as: give it CREATEROLE ` +
              '(and, on Postgres 16 and later, ADMIN OPTION on that role), or connect as a role that has them',
          );
        throw err;
      }
    };
    if (found) {
      if (found.mark !== markOf(database))
        throw new Error(
          `a role ${role} exists that Landlord did not make; drop or rename it, and start again`,
        );
      const wrong = (Object.keys(ATTRIBUTES) as (keyof typeof ATTRIBUTES)[]).filter(
        (a) => found[a] !== ATTRIBUTES[a],
      );
      if (wrong.length > 0 || found.member_of > 0)
        throw new Error(
          `the role ${role} Landlord runs as was changed (${[...wrong, ...(found.member_of > 0 ? ['a member of another role'] : [])].join(', ')}); ` +
            'drop it, and start again: Landlord makes it anew',
        );
      if (!(await signsIn(ownerUrl))) await asOwner(`ALTER ROLE ${q(role)} ${password()}`, 'alter');
    } else {
      // The defaults are the rest: no superuser, no CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS.
      await asOwner(`CREATE ROLE ${q(role)} LOGIN NOINHERIT ${password()}`, 'create');
      const { rows } = await owner.query<{ sql: string }>(
        `SELECT format('COMMENT ON ROLE %I IS %L', $1::text, $2::text) AS sql`,
        [role, markOf(database)],
      );
      await owner.query(rows[0]!.sql);
    }
    const { rows: tables } = await owner.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> 'registry_migrations'`,
    );
    await owner.query(`GRANT CONNECT ON DATABASE ${q(database)} TO ${q(role)}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${q(schema)} TO ${q(role)}`);
    for (const { name } of tables) {
      await owner.query(`REVOKE ALL ON ${q(schema)}.${q(name)} FROM ${q(role)}`);
      const rights = APPEND_ONLY.includes(name)
        ? 'SELECT, INSERT'
        : name === 'legal_holds'
          ? `SELECT, INSERT, UPDATE (${HOLD_RELEASE_COLUMNS.join(', ')})`
          : name === 'tenant_keys'
            ? `SELECT, INSERT, UPDATE (${KEY_DESTRUCTION_COLUMNS.join(', ')})`
            : name === 'tenant_exports'
              ? `SELECT, INSERT, UPDATE (${EXPORT_VERIFICATION_COLUMNS.join(', ')})`
              : name === 'tenant_backups'
                ? `SELECT, INSERT, UPDATE (${BACKUP_CHANGE_COLUMNS.join(', ')})`
                : 'SELECT, INSERT, UPDATE, DELETE';
      await owner.query(`GRANT ${rights} ON ${q(schema)}.${q(name)} TO ${q(role)}`);
    }
    await owner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${q(schema)} TO ${q(role)}`);
    await owner.query('COMMIT');
  } catch (err) {
    await owner.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
