/**
 * The `local` target's resource implementations, against a region's real Postgres server and the
 * machine's file system. Every create adopts what already exists (a create interrupted after it took
 * effect is simply run again), every delete tolerates what is already gone, and every read reports
 * what is really there so that `refresh` sees drift.
 *
 * Loaded by the dynamic-provider host through tsx (see dynamic.ts), never serialized.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import pg from 'pg';
import type * as pulumi from '@pulumi/pulumi';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { withDatabase } from '../../dataplane/connection.js';
import { grantTablesSql, tenantRoleAttributes } from '../../dataplane/hardening.js';
import { ensureSiloOwner, ownerSession, secureSiloDatabase } from '../../dataplane/silo.js';
import { dropReplicatorRole, releaseReplication } from '../../dataplane/replication.js';
import { MIGRATIONS_TABLE } from '../../dataplane/migrations.js';

type Provider = Required<
  Pick<pulumi.dynamic.ResourceProvider, 'create' | 'delete' | 'diff' | 'read' | 'update'>
>;
const q = pg.escapeIdentifier;

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const replaceOn =
  (...keys: string[]) =>
  async (_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) => {
    const replaces = keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    const changes =
      replaces.length > 0 ||
      Object.keys(news).some(
        (k) => !k.startsWith('__') && JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
      );
    return { changes, replaces, deleteBeforeReplace: true };
  };

/**
 * The tenant's login role, with a generated password (a secret output) and a connection limit; it
 * can create nothing and owns nothing.
 */
const role: Provider = {
  async create({ serverUrl, name, connectionLimit }) {
    const password = randomBytes(24).toString('base64url');
    await withClient(serverUrl, async (c) => {
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
      await c.query(
        `${rowCount ? 'ALTER' : 'CREATE'} ROLE ${q(name)} LOGIN ${tenantRoleAttributes(connectionLimit)}
         PASSWORD ${pg.escapeLiteral(password)}`,
      );
    });
    return { id: name, outs: { serverUrl, name, connectionLimit, password } };
  },
  async read(id, props) {
    const exists = await withClient(props.serverUrl, (c) =>
      c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [id]),
    );
    return exists.rowCount ? { id, props } : { id: '', props: {} };
  },
  diff: replaceOn('name'),
  async update(id, olds, news) {
    await withClient(news.serverUrl, (c) =>
      c.query(`ALTER ROLE ${q(id)} ${tenantRoleAttributes(news.connectionLimit)}`),
    );
    return { outs: { ...news, password: olds.password } };
  },
  async delete(id, props) {
    await dropRole(props.serverUrl, id);
  },
};

async function dropRole(serverUrl: string, name: string): Promise<void> {
  await withClient(serverUrl, async (c) => {
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
    await c.query(`DROP ROLE IF EXISTS ${q(name)}`);
  });
}

/**
 * The tenant's own database, owned by a role of its own (`owner`, whose password Landlord derives)
 * that owns everything in it; the tenant's role may connect and use its tables, nothing more.
 */
const database: Provider = {
  async create(inputs) {
    const { serverUrl, name, owner, ownerPassword } = inputs;
    await withClient(serverUrl, async (c) => {
      await ensureSiloOwner(c, owner, ownerPassword);
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!rowCount) await c.query(`CREATE DATABASE ${q(name)} OWNER ${q(owner)}`);
    });
    await secure(inputs);
    return { id: name, outs: inputs };
  },
  async read(id, props) {
    const found = await withClient(props.serverUrl, (c) =>
      c.query('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [id]),
    );
    return found.rowCount ? { id, props: { ...props, owner: found.rows[0].owner } } : { id: '', props: {} };
  },
  diff: replaceOn('name'),
  // Also how a silo made by an earlier version (owned by the tenant's role) comes under its owner.
  async update(_id, _olds, news) {
    await secure(news);
    return { outs: news };
  },
  async delete(id, props) {
    // A DR silo's subscription or slot would refuse the drop (and a slot left would hold WAL).
    await releaseReplication(props.serverUrl, id);
    await withClient(props.serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${q(id)} WITH (FORCE)`));
    await dropReplicatorRole(props.serverUrl, id);
    if (props.ownerPassword !== undefined) await dropRole(props.serverUrl, props.owner);
  },
};

function secure({ serverUrl, name, tenantRole, owner, ownerPassword }: Record<string, string>) {
  return secureSiloDatabase(serverUrl, { database: name, role: tenantRole, owner, ownerPassword });
}

/** The application's migrations, applied as the silo's owner; then the tenant's role may use the tables. */
const migrations: Provider = {
  async create(inputs) {
    const applied = await applyAs(inputs);
    return { id: `${inputs.database}-migrations`, outs: { ...inputs, applied } };
  },
  async read(id, props) {
    try {
      const applied = await listApplied(props);
      return { id, props: { ...props, applied } };
    } catch {
      return { id: '', props: {} };
    }
  },
  diff: replaceOn('database'),
  async update(_id, _olds, news) {
    return { outs: { ...news, applied: await applyAs(news) } };
  },
  // The database goes with its tables; nothing to undo on its own.
  async delete() {},
};

/** The silo database as `role` (its owner; in the state of an earlier version, the tenant's role). */
function ownDatabaseUrl({ serverUrl, database, role, password }: Record<string, string>): string {
  const u = new URL(withDatabase(serverUrl, database));
  u.username = encodeURIComponent(role);
  u.password = encodeURIComponent(password);
  return ownerSession(u.toString());
}

async function applyAs(inputs: Record<string, string>): Promise<string[]> {
  return withClient(ownDatabaseUrl(inputs), async (c) => {
    // One stack action at a time per stack: the silo's migrations need no lock of their own.
    await applyApplicationMigrations(c, inputs.migrationsDir);
    if (inputs.tenantRole) await c.query(grantTablesSql(inputs.tenantRole, MIGRATIONS_TABLE));
    return applied(c);
  });
}

async function listApplied(inputs: Record<string, string>): Promise<string[]> {
  return withClient(ownDatabaseUrl(inputs), applied);
}

async function applied(c: pg.ClientBase): Promise<string[]> {
  return (await c.query(`SELECT name FROM public.${q(MIGRATIONS_TABLE)} ORDER BY run_on, name`)).rows.map(
    (r) => r.name as string,
  );
}

/** The tenant's object-storage folder. */
const folder: Provider = {
  async create({ path }) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return { id: path, outs: { path } };
  },
  async read(id, props) {
    return existsSync(id) ? { id, props } : { id: '', props: {} };
  },
  diff: replaceOn('path'),
  async update(_id, _olds, news) {
    return { outs: news };
  },
  async delete(id) {
    rmSync(id, { recursive: true, force: true });
  },
};

/**
 * The tenant's data-encryption key: 256 random bits, kept only as a secret in the stack's state.
 * Backups will be encrypted with it, so deleting it crypto-shreds them.
 */
const dataKey: Provider = {
  async create({ keyId }) {
    const key = randomBytes(32).toString('base64');
    return { id: keyId, outs: { keyId, key, fingerprint: fingerprintOf(key) } };
  },
  // The key exists exactly as long as the state holds it.
  async read(id, props) {
    return { id, props };
  },
  diff: replaceOn('keyId'),
  async update(_id, olds, news) {
    return { outs: { ...news, key: olds.key, fingerprint: olds.fingerprint } };
  },
  async delete() {},
};

/** A short, non-secret identifier of a key, safe to show and to store. */
export function fingerprintOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export const localProviders = { role, database, migrations, folder, dataKey } as const;
export type LocalProviderKind = keyof typeof localProviders;

/** Checks used by tests: what exists for a tenant on a region server and on disk. */
export async function inspectLocalSilo(
  serverUrl: string,
  names: { database: string; role: string; owner: string; folder: string },
) {
  return withClient(serverUrl, async (c) => {
    const roles = await c.query('SELECT 1 FROM pg_roles WHERE rolname = ANY($1)', [
      [names.role, names.owner],
    ]);
    return {
      database:
        ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [names.database])).rowCount ?? 0) > 0,
      role: (roles.rowCount ?? 0) > 0,
      folder: existsSync(names.folder),
    };
  });
}
