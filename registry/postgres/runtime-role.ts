/**
 * The role Landlord's processes use the registry as. The URL Landlord is configured with owns the
 * registry's tables (it runs the migrations), and an owner can switch a table's triggers off — a
 * superuser, as the embedded default is, can even do so for its session alone. So the ledger's and
 * the legal holds' guarantees would bind every role but the one Landlord uses. Instead the owner
 * only migrates, and everything else runs as `landlord_registry`: no superuser, no owner, and on the
 * ledger and the audit trail only SELECT and INSERT, on legal holds only what a release changes.
 */
import { createHmac } from 'node:crypto';
import type pg from 'pg';

export const REGISTRY_RUNTIME_ROLE = 'landlord_registry';

/** Tables the runtime role reads and appends to, and never changes. */
const APPEND_ONLY = ['ledger_records', 'audit_events'];
/** What a legal hold's release sets; nothing else of a hold ever changes. */
const HOLD_RELEASE_COLUMNS = ['released_at', 'released_by', 'release_reason'];
/** Serializes the set-up of processes starting together (GRANTs racing each other fail). */
const SETUP_LOCK = `SELECT pg_advisory_xact_lock(hashtext('landlord.registry_runtime_role'))`;

/**
 * The runtime role's password: derived from the owner's URL, so that every process configured
 * with it agrees without another setting, and nobody without the owner's URL knows it.
 */
function runtimePassword(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  const key = url.password ? decodeURIComponent(url.password) : ownerUrl;
  return createHmac('sha256', key).update('landlord registry runtime role').digest('base64url');
}

/** The owner's URL with the runtime role's name and password in place of the owner's. */
export function runtimeUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  if (decodeURIComponent(url.username) === REGISTRY_RUNTIME_ROLE)
    throw new Error(
      `the registry URL must name the role that owns the registry, not ${REGISTRY_RUNTIME_ROLE}, which Landlord makes itself`,
    );
  url.username = REGISTRY_RUNTIME_ROLE;
  url.password = runtimePassword(ownerUrl);
  return url.toString();
}

/**
 * Creates the runtime role when it is missing and gives it exactly its rights on the registry's
 * tables, run by the owner after its migrations. Safe to run again and from processes at once.
 */
export async function ensureRuntimeRole(owner: pg.ClientBase, ownerUrl: string): Promise<void> {
  const role = REGISTRY_RUNTIME_ROLE;
  const password = runtimePassword(ownerUrl);
  await owner.query('BEGIN');
  try {
    await owner.query(SETUP_LOCK);
    const { rows } = await owner.query<{ exists: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists',
      [role],
    );
    const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT';
    // A literal: CREATE ROLE takes no parameters. The password is base64url, so it needs no escaping.
    const withPassword = `${attributes} PASSWORD '${password}'`;
    try {
      await owner.query(
        rows[0]!.exists ? `ALTER ROLE ${role} ${withPassword}` : `CREATE ROLE ${role} ${withPassword}`,
      );
    } catch (err) {
      if ((err as { code?: string }).code === '42501')
        throw new Error(
          `the registry's role cannot ${rows[0]!.exists ? 'alter' : 'create'} the role ${role} Landlord runs as: ` +
            'give it CREATEROLE (or connect as a role that has it)',
        );
      throw err;
    }
    const { rows: tables } = await owner.query<{ name: string }>(
      `SELECT quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> 'registry_migrations'`,
    );
    const { rows: database } = await owner.query<{ name: string }>(
      'SELECT quote_ident(current_database()) AS name',
    );
    await owner.query(`GRANT CONNECT ON DATABASE ${database[0]!.name} TO ${role}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${'public'} TO ${role}`);
    for (const { name } of tables) {
      await owner.query(`REVOKE ALL ON ${name} FROM ${role}`);
      const rights = APPEND_ONLY.includes(name)
        ? 'SELECT, INSERT'
        : name === 'legal_holds'
          ? `SELECT, INSERT, UPDATE (${HOLD_RELEASE_COLUMNS.join(', ')})`
          : 'SELECT, INSERT, UPDATE, DELETE';
      await owner.query(`GRANT ${rights} ON ${name} TO ${role}`);
    }
    await owner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    await owner.query('COMMIT');
  } catch (err) {
    await owner.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
