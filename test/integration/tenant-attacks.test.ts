/**
 * Every tenant role is an attacker's foothold. These tests connect as real tenant roles with their
 * real passwords — a pool tenant's derived one, a silo tenant's from its stack — and try what a
 * hostile tenant would: shadowing names in pg_temp, creating objects, changing roles and settings,
 * other databases, COPY, TRUNCATE, locks, connection floods. Another tenant's rows must never be
 * visible or writable, and its operations must never stall.
 */
import { createScratchDatabase, dropScratchDatabase } from '../../activities/backups/scratch-database.js';
import { createClosedDatabase } from '../../dataplane/hardening.js';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../dataplane/connection.js';
import { DELETION_OUTBOX_SQL } from '../../dataplane/expiry.js';
import {
  secureExistingSilos,
  secureSiloDatabase,
  siloOwnerPassword,
  siloOwnerUrl,
} from '../../dataplane/silo.js';
import { siloNames } from '../../domain/index.js';
import {
  createTenantDatabaseActivities,
  tenantRoleName,
  tenantRolePassword,
} from '../../activities/pool/index.js';
import { preparePoolDatabase } from '../../activities/pool/schema.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { stackResourceOutputs } from '../support/pulumi-cli.js';
import { testStack } from '../support/stack.js';

/** Attacks run in both regions: local-b is on a server started apart from Landlord when one is installed. */
const REGIONS = ['local-a', 'local-b'] as const;
/** Where a session goes unless told. */
const DEFAULT_REGION = 'local-a';
const TABLES = ['app_users', 'projects', 'documents', 'activity_log'] as const;

interface Credentials {
  user: string;
  password: string;
}

/** A session as `who` on `database` of the region server; errors of a killed session are kept. */
async function connectAs(
  h: Harness,
  who: Credentials,
  database: string,
  region = DEFAULT_REGION,
): Promise<pg.Client> {
  const u = new URL(h.directory.serverDatabaseUrl(region, database));
  u.username = encodeURIComponent(who.user);
  u.password = encodeURIComponent(who.password);
  const client = new pg.Client({ connectionString: u.toString(), application_name: 'attacker' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function outcome(c: pg.ClientBase, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await c.query(sql, params);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** The SQLSTATE a connection attempt fails with, or 'ok'. */
async function connectOutcomeAs(
  h: Harness,
  who: Credentials,
  database: string,
  region = DEFAULT_REGION,
): Promise<string> {
  try {
    await (await connectAs(h, who, database, region)).end();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** connectAs and connectOutcomeAs bound to one region. */
const sessionsIn = (region: string) => ({
  connect: (h: Harness, who: Credentials, database: string) => connectAs(h, who, database, region),
  connectOutcome: (h: Harness, who: Credentials, database: string) =>
    connectOutcomeAs(h, who, database, region),
});

/**
 * Storage batches written down before they take any file (dataplane/storage-expiry.ts): a tenant
 * that could add or remove one would forge or hide deletion evidence.
 */
const OBJECT_DELETION_ATTACKS: [string, string, string][] = [
  ['the storage batches written down', 'SELECT * FROM landlord.object_deletions', '42501'],
  [
    'forging a storage batch',
    "INSERT INTO landlord.object_deletions (record_key, tenant_id, entry) VALUES ('x', 'x', '{}')",
    '42501',
  ],
  ['hiding a storage batch from its finish', 'DELETE FROM landlord.object_deletions', '42501'],
];

describe.each(REGIONS)('a pool tenant attacking its neighbours in %s', (region) => {
  const poolTenant = (id: string): Credentials => ({
    user: tenantRoleName(id),
    password: tenantRolePassword(testStack().secret, region, id),
  });
  const { connect, connectOutcome } = sessionsIn(region);
  let h: Harness;
  const attacker = uniqueTenantId('atk');
  const victim = uniqueTenantId('vic');
  /** The victim's rows, as a superuser reads them before any attack. */
  let victimRows: Record<string, unknown[]>;

  const superuserPool = () => h.directory.databaseUrl(region);
  const readVictimRows = () =>
    withClient(superuserPool(), async (c) => {
      const rows: Record<string, unknown[]> = {};
      for (const table of TABLES)
        rows[table] = (
          await c.query(`SELECT * FROM ${table} WHERE tenant_id = $1 ORDER BY id`, [victim])
        ).rows;
      return rows;
    });
  const asAttacker = () => connect(h, poolTenant(attacker), 'landlord_pool');

  beforeAll(async () => {
    h = await Harness.create();
    for (const id of [attacker, victim]) expect((await h.onboard({ id, region })).status).toBe('succeeded');
    for (const id of [attacker, victim]) {
      const c = await connect(h, poolTenant(id), 'landlord_pool');
      try {
        const user = (await c.query(`SELECT id FROM app_users WHERE tenant_id = $1`, [id])).rows[0].id;
        const project = (
          await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, $2) RETURNING id`, [
            id,
            `${id} plans`,
          ])
        ).rows[0].id;
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body) VALUES ($1, $2, $3, 'secret', $4)`,
          [id, project, user, `only ${id} may read this`],
        );
        await c.query(`INSERT INTO activity_log (tenant_id, actor_id, action) VALUES ($1, $2, 'login')`, [
          id,
          user,
        ]);
      } finally {
        await c.end();
      }
    }
    await withClient(superuserPool(), (c) => c.query(`ANALYZE ${TABLES.join(', ')}`));
    victimRows = await readVictimRows();
  });
  afterAll(async () => {
    await h?.close();
  });

  // Statements a tenant role is refused, whatever it is after: a name shadowed in pg_temp, an object
  // of its own, another identity, Landlord's tables and settings, the server's files.
  const refused: [string, string, string][] = [
    ['the pg_temp type of the reported attack', 'CREATE TYPE pg_temp.text AS (v pg_catalog.text)', '42501'],
    ['a temporary table', 'CREATE TEMP TABLE loot (x int)', '42501'],
    [
      'a function in pg_temp',
      `CREATE FUNCTION pg_temp.current_tenant() RETURNS text LANGUAGE sql AS $$SELECT 'x'$$`,
      '42501',
    ],
    [
      'an operator in pg_temp',
      'CREATE OPERATOR pg_temp.= (leftarg = text, rightarg = text, function = pg_catalog.texteq)',
      '42501',
    ],
    ['a cast', 'CREATE CAST (name AS text) WITH INOUT AS IMPLICIT', '42501'],
    ['a table in public', 'CREATE TABLE public.loot (x int)', '42501'],
    [
      'a function in public',
      `CREATE FUNCTION public.current_user() RETURNS text LANGUAGE sql AS $$SELECT 'x'$$`,
      '42501',
    ],
    ['a type in public', 'CREATE TYPE public.text AS (v pg_catalog.text)', '42501'],
    ['a schema', 'CREATE SCHEMA loot', '42501'],
    ['an extension', 'CREATE EXTENSION IF NOT EXISTS pgcrypto', '42501'],
    ['a role', 'CREATE ROLE loot', '42501'],
    [
      'replacing current_tenant()',
      `CREATE OR REPLACE FUNCTION landlord.current_tenant() RETURNS text LANGUAGE sql AS $$SELECT 'x'$$`,
      '42501',
    ],
    ['a trigger on a shared table', 'ALTER TABLE app_users ENABLE TRIGGER ALL', '42501'],
    ['turning row-level security off', 'ALTER TABLE app_users DISABLE ROW LEVEL SECURITY', '42501'],
    ['dropping the policy', 'DROP POLICY tenant_isolation ON app_users', '42501'],
    ['TRUNCATE', 'TRUNCATE app_users', '42501'],
    ['SET ROLE to a superuser', 'SET ROLE postgres', '42501'],
    ['SET SESSION AUTHORIZATION', 'SET SESSION AUTHORIZATION postgres', '42501'],
    ['reading past row-level security', 'SET row_security = off; SELECT * FROM app_users', '42501'],
    ['an advisory lock', 'SELECT pg_advisory_lock(1)', '42501'],
    ['a shared advisory lock', 'SELECT pg_try_advisory_lock_shared(1, 2)', '42501'],
    ['a transaction advisory lock', 'BEGIN; SELECT pg_advisory_xact_lock(42); COMMIT', '42501'],
    ['a large object', 'SELECT lo_create(0)', '42501'],
    ['a large object from bytes', `SELECT lo_from_bytea(0, 'loot')`, '42501'],
    ["Landlord's lock table", 'SELECT * FROM landlord.locks', '42501'],
    ["locking Landlord's partition table", 'BEGIN; LOCK TABLE landlord.tenant_partitions; COMMIT', '42501'],
    ["Landlord's schema state", 'SELECT * FROM landlord.schema_state', '42501'],
    [
      'the deletion outbox (evidence waiting for the ledger)',
      'SELECT * FROM landlord.deletion_outbox',
      '42501',
    ],
    [
      'forging deletion evidence',
      "INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ('x', 'x', '{}')",
      '42501',
    ],
    ['erasing deletion evidence', 'DELETE FROM landlord.deletion_outbox', '42501'],
    ...OBJECT_DELETION_ATTACKS,
    ['the migrations table', 'SELECT * FROM app_migrations', '42501'],
    ['the old role-to-tenant map', `SELECT landlord.tenant_of_role('x')`, '42883'],
    ['a setting on the pool database', 'ALTER DATABASE landlord_pool SET search_path = loot', '42501'],
    ['a setting on the tenants group', 'ALTER ROLE landlord_tenants SET search_path = loot', '42501'],
    ['a setting on a superuser', 'ALTER ROLE postgres SET search_path = loot', '42501'],
    ['granting the read-only group to itself', 'GRANT landlord_tenants_read_only TO CURRENT_USER', '42501'],
    ['a server file', `SELECT pg_read_file('/etc/passwd')`, '42501'],
    ['a directory listing', `SELECT pg_ls_dir('.')`, '42501'],
    ['COPY to a server file', `COPY app_users TO '/tmp/loot'`, '42501'],
    ['COPY to a program', `COPY app_users TO PROGRAM 'id'`, '42501'],
  ];

  if (region === testStack().externalRegion?.region) {
    it(`runs on the Postgres ${testStack().externalRegion!.version} server started apart from Landlord`, async () => {
      await withClient(superuserPool(), async (c) => {
        const { rows } = await c.query<{ server_version: string }>('SHOW server_version');
        expect(rows[0]!.server_version.startsWith(testStack().externalRegion!.version)).toBe(true);
      });
    });
  }
  // Without a Postgres of its own on this machine, local-b is embedded too: say so as a skipped test.
  if (region === 'local-b' && testStack().externalRegion === undefined)
    it.skip(
      'runs on a Postgres server started apart from Landlord (none installed: Debian postgresql, or LANDLORD_TEST_POSTGRES_BIN)',
    );

  it.each(refused)('refuses %s', async (_name, sql, code) => {
    const c = await asAttacker();
    try {
      expect(await outcome(c, sql)).toBe(code);
    } finally {
      await c.end();
    }
  });

  it("cannot act as the victim: SET ROLE, another tenant's settings, its sessions", async () => {
    const victimRole = tenantRoleName(victim);
    const v = await connect(h, poolTenant(victim), 'landlord_pool');
    const c = await asAttacker();
    try {
      expect(await outcome(c, `SET ROLE ${victimRole}`)).toBe('42501');
      expect(await outcome(c, `SET SESSION AUTHORIZATION ${victimRole}`)).toBe('42501');
      expect(await outcome(c, `ALTER ROLE ${victimRole} SET search_path = loot`)).toBe('42501');
      expect(await outcome(c, `ALTER ROLE ${victimRole} PASSWORD 'mine'`)).toBe('42501');
      const victimPid = (v as unknown as { processID: number }).processID;
      expect(await outcome(c, 'SELECT pg_terminate_backend($1)', [victimPid])).toBe('42501');
      expect(await outcome(c, 'SELECT pg_cancel_backend($1)', [victimPid])).toBe('42501');
      // The tenants group: refused from Postgres 16 on; on older servers a group with no tenant.
      if ((await outcome(c, 'SET ROLE landlord_tenants')) === 'ok') {
        expect((await c.query('SELECT landlord.current_tenant() AS t')).rows).toEqual([{ t: null }]);
        expect((await c.query('SELECT count(*)::int AS n FROM app_users')).rows).toEqual([{ n: 0 }]);
        expect(await outcome(c, `INSERT INTO projects (tenant_id, name) VALUES ($1, 'x')`, [victim])).toBe(
          '42501',
        );
      }
      expect((await v.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    } finally {
      await Promise.allSettled([c.end(), v.end()]);
    }
  });

  it("sees only its own rows, whatever it sets, and cannot write the victim's", async () => {
    const c = await asAttacker();
    try {
      const tenantOfSession = async () =>
        (await c.query<{ t: string }>('SELECT landlord.current_tenant() AS t')).rows[0]!.t;
      for (const setting of [
        'SET search_path = pg_temp, landlord, public, pg_catalog',
        'SET search_path = public',
        `SET landlord.tenant = '${victim}'`,
        `SET app.tenant_id = '${victim}'`,
        `SET application_name = 'landlord-worker'`,
        'SET row_security = on',
      ]) {
        await c.query(setting);
        expect(await tenantOfSession(), setting).toBe(attacker);
        for (const table of TABLES) {
          const { rows } = await c.query<{ tenant_id: string }>(`SELECT DISTINCT tenant_id FROM ${table}`);
          expect(rows, `${table} after ${setting}`).toEqual([{ tenant_id: attacker }]);
          expect((await c.query(`SELECT 1 FROM ${table} WHERE tenant_id = $1`, [victim])).rowCount).toBe(0);
        }
      }
      // Of Landlord's tables, its own partition row; of the statistics, nothing about shared tables.
      expect((await c.query('SELECT tenant_id FROM landlord.tenant_partitions')).rows).toEqual([
        { tenant_id: attacker },
      ]);
      expect(
        (await c.query(`SELECT tablename FROM pg_stats WHERE tablename = ANY($1)`, [[...TABLES]])).rowCount,
      ).toBe(0);

      // Writes into the victim's partition: refused by the policy, or touching nothing.
      expect(
        await outcome(c, `INSERT INTO projects (tenant_id, name) VALUES ($1, 'planted')`, [victim]),
      ).toBe('42501');
      expect(await outcome(c, `UPDATE projects SET tenant_id = $1`, [victim])).toBe('42501');
      expect(
        (await c.query(`UPDATE projects SET name = 'pwned' WHERE tenant_id = $1`, [victim])).rowCount,
      ).toBe(0);
      expect((await c.query(`DELETE FROM app_users WHERE tenant_id = $1`, [victim])).rowCount).toBe(0);
      expect(
        (await c.query(`UPDATE documents SET body = 'pwned' WHERE tenant_id <> $1`, [attacker])).rowCount,
      ).toBe(0);

      // COPY out shows its own rows only; COPY in is refused under row-level security.
      let copied = '';
      const out = c.query(copyTo('COPY app_users (tenant_id) TO STDOUT'));
      for await (const chunk of out) copied += String(chunk);
      expect(copied.trim().split('\n')).toEqual([attacker]);
      const into = c.query(copyFrom('COPY projects (tenant_id, name) FROM STDIN'));
      const refusedCopy = new Promise<string>((resolve) => {
        into.on('error', (err: { code?: string }) => resolve(err.code ?? 'error'));
        into.on('finish', () => resolve('ok'));
      });
      into.end(`${victim}\tplanted by copy\n`);
      expect(await refusedCopy).toBe('0A000');
    } finally {
      await c.end();
    }
  });

  it('gains nothing from the defaults it may set on its own role', async () => {
    const c = await asAttacker();
    try {
      // A role may change its own defaults (only the database and other roles are refused, above).
      expect(
        await outcome(
          c,
          `ALTER ROLE CURRENT_USER SET search_path = pg_temp, public; ALTER ROLE CURRENT_USER SET row_security = off`,
        ),
      ).toBe('ok');
    } finally {
      await c.end();
    }
    const again = await asAttacker();
    try {
      // With row security off by default, everything under a policy refuses to answer.
      expect(await outcome(again, 'SELECT landlord.current_tenant()')).toBe('42501');
      expect(await outcome(again, 'SELECT * FROM app_users')).toBe('42501');
      // With it on, its pg_temp-first search path changes nothing either.
      await again.query('SET row_security = on');
      expect((await again.query('SHOW search_path')).rows).toEqual([{ search_path: 'pg_temp, public' }]);
      expect((await again.query('SELECT landlord.current_tenant() AS t')).rows).toEqual([{ t: attacker }]);
      expect((await again.query('SELECT DISTINCT tenant_id FROM app_users')).rows).toEqual([
        { tenant_id: attacker },
      ]);
    } finally {
      await again.query('ALTER ROLE CURRENT_USER RESET ALL');
      await again.end();
    }
    // The victim's operations still run.
    const suspend = await h.api('POST', `/v1/tenants/${victim}/suspend`, { role: 'operator' });
    expect((await h.waitForOperation(suspend.body!.id as string)).status).toBe('succeeded');
    const resume = await h.api('POST', `/v1/tenants/${victim}/resume`, { role: 'operator' });
    expect((await h.waitForOperation(resume.body!.id as string)).status).toBe('succeeded');
  });

  it('reaches no database but its own: not a silo, not the maintenance databases', async () => {
    // A silo as Landlord secures one, on the same server.
    const silo = siloNames(uniqueTenantId('nosilo'));
    await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
      await c.query(`CREATE ROLE ${silo.role} LOGIN`);
      await c.query(`CREATE DATABASE ${silo.database}`);
    });
    try {
      await secureSiloDatabase(testStack().regionUrls[region]!, { ...silo, ownerPassword: 'owner-password' });
      for (const database of ['postgres', 'template1', silo.database])
        expect(await connectOutcome(h, poolTenant(attacker), database), database).toBe('42501');
      expect(await connectOutcome(h, poolTenant(attacker), 'landlord_pool')).toBe('ok');
    } finally {
      await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
        await c.query(`DROP DATABASE ${silo.database}`);
        await c.query(`DROP ROLE ${silo.role}`);
        await c.query(`DROP ROLE ${silo.owner}`);
      });
    }
  });

  // A restore verification restores another tenant's backup into a scratch database on this
  // server, and a silo restore stages one beside the live database: made closed, no tenant gets in.
  it('reaches no scratch or staging database a restore makes on its server', async () => {
    const serverUrl = testStack().regionUrls[region]!;
    const staging = `${siloNames(uniqueTenantId('staged')).database}$restore_0a1b2c3d`;
    const scratch = await createScratchDatabase(serverUrl);
    await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), (c) =>
      createClosedDatabase(c, staging),
    );
    try {
      for (const database of [scratch, staging])
        expect(await connectOutcome(h, poolTenant(attacker), database), database).toBe('42501');
    } finally {
      await dropScratchDatabase(serverUrl, scratch);
      await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), (c) =>
        c.query(`DROP DATABASE IF EXISTS "${staging}"`),
      );
    }
  });

  it('cannot turn the watchdog on a neighbour: its own LOCK TABLE is what is ended', async () => {
    // The victim reads in an open transaction, as an application does.
    const reader = await connect(h, poolTenant(victim), 'landlord_pool');
    await reader.query('BEGIN');
    await reader.query('SELECT count(*) FROM projects');
    const locker = await asAttacker();
    try {
      // It queues behind the victim's read; the watchdog ends it rather than the reader.
      expect(await outcome(locker, 'BEGIN; LOCK TABLE projects IN ACCESS EXCLUSIVE MODE')).toBe('57P01');
      expect((await reader.query('SELECT count(*)::int AS n FROM projects')).rows).toEqual([{ n: 1 }]);
      await reader.query('COMMIT');
    } finally {
      await Promise.allSettled([reader.end(), locker.end()]);
    }
  });

  it('cannot hold a lock in a prepared transaction: refused, or rolled back', async () => {
    const c = await asAttacker();
    const gid = `attack-${attacker}`;
    try {
      const prepared = await outcome(
        c,
        `BEGIN; LOCK TABLE app_users IN SHARE MODE; PREPARE TRANSACTION '${gid}'`,
      );
      // Refused where the server allows no prepared transactions (the default, and embedded);
      // otherwise it must not outlive the watchdog's next look.
      expect(['55000', 'ok']).toContain(prepared);
      if (prepared === 'ok') {
        // A newcomer's admin user is written into app_users, which the lock would hold up.
        expect((await h.onboard({ id: uniqueTenantId('after2pc'), region })).status).toBe('succeeded');
        await withClient(superuserPool(), async (s) => {
          expect((await s.query('SELECT gid FROM pg_prepared_xacts WHERE gid = $1', [gid])).rows).toEqual([]);
        });
      }
    } finally {
      await c.end();
    }
  });

  it('holds no more sessions than its tier allows; others still connect', async () => {
    const limit = h.config.catalog.tiers.find((t) => t.id === 'basic')!.database.connectionLimit;
    const sessions: pg.Client[] = [];
    try {
      for (let i = 0; i < limit; i++) sessions.push(await asAttacker());
      expect(await connectOutcome(h, poolTenant(attacker), 'landlord_pool')).toBe('53300');
      expect(await connectOutcome(h, poolTenant(victim), 'landlord_pool')).toBe('ok');
    } finally {
      await Promise.allSettled(sessions.map((s) => s.end()));
    }
  });

  it("holds every lock it can take, and the victim's operations still finish: its session is ended", async () => {
    const holder = await asAttacker();
    let ended = false;
    holder.on('error', () => (ended = true));
    // All at once: the watchdog may end the session any moment after its first LOCK TABLE.
    await holder
      .query(
        `BEGIN; ${TABLES.map((t) => `LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE;`).join(' ')} SELECT * FROM app_users FOR UPDATE`,
      )
      .catch(() => undefined);
    try {
      const newcomer = uniqueTenantId('new');
      const [suspended, onboarded] = await Promise.all([
        h
          .api('POST', `/v1/tenants/${victim}/suspend`, { role: 'operator' })
          .then((r) => h.waitForOperation(r.body!.id as string, 30_000)),
        h.onboard({ id: newcomer, region }),
      ]);
      expect(suspended.status).toBe('succeeded');
      expect(onboarded.status).toBe('succeeded');
      const resumed = await h
        .api('POST', `/v1/tenants/${victim}/resume`, { role: 'operator' })
        .then((r) => h.waitForOperation(r.body!.id as string, 30_000));
      expect(resumed.status).toBe('succeeded');
      await expect(holder.query('SELECT 1')).rejects.toThrow();
      expect(ended).toBe(true);
    } finally {
      await holder.end().catch(() => undefined);
    }
    // The victim's application, blocked by such a lock, gets its answer too.
    const again = await asAttacker();
    await again.query('BEGIN');
    await again.query('LOCK TABLE projects IN ACCESS EXCLUSIVE MODE');
    const v = await connect(h, poolTenant(victim), 'landlord_pool');
    try {
      expect((await v.query('SELECT count(*)::int AS n FROM projects')).rows).toEqual([{ n: 1 }]);
    } finally {
      await Promise.allSettled([v.end(), again.end()]);
    }
  });

  it("does not hold up a worker's start with an open transaction on the shared tables", async () => {
    const reader = await asAttacker();
    await reader.query('BEGIN');
    for (const table of TABLES) await reader.query(`SELECT count(*) FROM ${table}`);
    try {
      await preparePoolDatabase(superuserPool(), h.config.manifest, h.config.migrationsDir);
      // Nothing it does needed the tables' locks: the reader was left alone.
      expect((await reader.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    } finally {
      await reader.end();
    }
  });

  it("left the victim's rows exactly as they were", async () => {
    expect(await readVictimRows()).toEqual(victimRows);
  });
});

describe.each(REGIONS)('a silo tenant attacking the server it shares, in %s', (region) => {
  const { connect, connectOutcome } = sessionsIn(region);
  let h: Harness;
  const tenant = uniqueTenantId('silo');
  const neighbour = uniqueTenantId('nbr');
  let credentials: Credentials;

  beforeAll(async () => {
    h = await Harness.create({ provisioning: true });
    for (const id of [tenant, neighbour])
      expect((await h.onboard({ id, tier: 'premium', region })).status).toBe('succeeded');
    // Its real password, from its stack's state.
    const outputs = stackResourceOutputs(h, `${tenant}.${region}`);
    credentials = { user: siloNames(tenant).role, password: outputs[`${tenant}-role`]!.password as string };
    // The silo's deletion outbox, made by its owner as a retention run's first batch makes it.
    await withClient(siloOwnerUrl(h.directory.serverUrl(region), region, tenant, testStack().secret), (c) =>
      c.query(DELETION_OUTBOX_SQL),
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('may use its own tables', async () => {
    const c = await connect(h, credentials, siloNames(tenant).database);
    try {
      await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'mine')`, [tenant]);
      expect((await c.query('SELECT name FROM projects')).rows).toEqual([{ name: 'mine' }]);
    } finally {
      await c.end();
    }
  });

  it('reaches no other database: not the pool, not another silo, not the maintenance databases', async () => {
    for (const database of ['landlord_pool', siloNames(neighbour).database, 'postgres', 'template1'])
      expect(await connectOutcome(h, credentials, database), database).toBe('42501');
  });

  const refused: [string, string, string][] = [
    ['a temporary table', 'CREATE TEMP TABLE loot (x int)', '42501'],
    ['a table', 'CREATE TABLE loot (x int)', '42501'],
    [
      'a function (the first half of a trigger for Landlord to run)',
      `CREATE FUNCTION public.loot() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$`,
      '42501',
    ],
    ['a schema', 'CREATE SCHEMA loot', '42501'],
    ['changing a table', 'ALTER TABLE app_users ADD COLUMN loot text', '42501'],
    ['a trigger', 'ALTER TABLE app_users ENABLE TRIGGER ALL', '42501'],
    [
      'a setting on its database',
      `ALTER DATABASE ${siloNames(tenant).database} SET search_path = loot`,
      '42501',
    ],
    ['TRUNCATE', 'TRUNCATE app_users', '42501'],
    ['an advisory lock', 'SELECT pg_advisory_lock(1)', '42501'],
    ['a large object', 'SELECT lo_create(0)', '42501'],
    ['the migrations table', 'SELECT * FROM app_migrations', '42501'],
    ['reading the deletion outbox', 'SELECT * FROM landlord.deletion_outbox', '42501'],
    [
      'forging deletion evidence',
      "INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ('x', 'x', '{}')",
      '42501',
    ],
    ['erasing deletion evidence', 'DELETE FROM landlord.deletion_outbox', '42501'],
    ...OBJECT_DELETION_ATTACKS,
    ['a table in the outbox schema', 'CREATE TABLE landlord.loot (x int)', '42501'],
  ];

  it.each(refused)('refuses %s', async (_name, sql, code) => {
    const c = await connect(h, credentials, siloNames(tenant).database);
    try {
      expect(await outcome(c, sql)).toBe(code);
    } finally {
      await c.end();
    }
  });

  it('is served by an owner role that is no superuser, and cannot become it', async () => {
    const c = await connect(h, credentials, siloNames(tenant).database);
    try {
      expect(await outcome(c, `SET ROLE ${siloNames(tenant).owner}`)).toBe('42501');
    } finally {
      await c.end();
    }
    await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
      const { rows } = await c.query(
        `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1`,
        [siloNames(tenant).owner],
      );
      expect(rows).toEqual([
        { rolname: siloNames(tenant).owner, rolsuper: false, rolcreaterole: false, rolcreatedb: false },
      ]);
    });
  });

  it('secures one silo from several places at once', async () => {
    // Stack updates and workers starting at the same time all secure the same silo and server.
    const names = siloNames(tenant);
    const access = { ...names, ownerPassword: siloOwnerPassword(testStack().secret, region, tenant) };
    const serverUrl = testStack().regionUrls[region]!;
    await Promise.all(Array.from({ length: 6 }, () => secureSiloDatabase(serverUrl, access)));
    const c = await connect(h, credentials, names.database);
    try {
      expect((await c.query('SELECT count(*)::int AS n FROM projects')).rows).toEqual([{ n: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('takes over a silo an earlier version left owned by its tenant; a trigger planted there runs as the owner', async () => {
    const legacy = uniqueTenantId('legacy');
    const names = siloNames(legacy);
    const password = 'legacy-tenant-password';
    await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
      await c.query(`CREATE ROLE ${names.role} LOGIN PASSWORD '${password}'`);
      await c.query(`CREATE DATABASE ${names.database} OWNER ${names.role}`);
    });
    // What the tenant could do as the owner of its database before: tables, a trigger for whoever
    // writes its users, and a setting for every session.
    const asLegacy = await connect(h, { user: names.role, password }, names.database);
    try {
      await asLegacy.query(`CREATE TABLE app_users (tenant_id text NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(),
        email text NOT NULL, display_name text, role text NOT NULL DEFAULT 'member',
        created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, email))`);
      await asLegacy.query(`CREATE TABLE loot (who text, superuser boolean)`);
      await asLegacy.query(`CREATE FUNCTION public.steal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO public.loot SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
          RETURN NEW;
        END $$`);
      await asLegacy.query(
        `CREATE TRIGGER steal AFTER INSERT ON app_users FOR EACH ROW EXECUTE FUNCTION public.steal()`,
      );
      await asLegacy.query(`ALTER DATABASE ${names.database} SET search_path = loot, public`);
      // And grants it could give itself, and everyone, as that owner.
      await asLegacy.query(`GRANT CREATE ON SCHEMA public TO ${names.role}`);
      await asLegacy.query(`CREATE SCHEMA loot`);
      await asLegacy.query(`GRANT ALL ON SCHEMA loot TO PUBLIC`);
      await asLegacy.query(`GRANT ALL ON loot TO PUBLIC`);
    } finally {
      await asLegacy.end();
    }

    const secured = await secureExistingSilos(testStack().regionUrls[region]!, region, testStack().secret);
    expect(secured).toContain(names.database);

    await withClient(h.directory.serverDatabaseUrl(region, names.database), async (c) => {
      const owners = await c.query(
        `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace`,
      );
      expect(owners.rows).toEqual([{ owner: names.owner }]);
      const settings = await c.query(
        `SELECT count(*)::int AS n FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = $1)`,
        [names.database],
      );
      expect(settings.rows).toEqual([{ n: 0 }]);
    });
    const after = await connect(h, { user: names.role, password }, names.database);
    try {
      expect(await outcome(after, 'CREATE TABLE public.more_loot (x int)')).toBe('42501');
      expect(await outcome(after, 'CREATE TABLE loot.more_loot (x int)')).toBe('42501');
      expect(await outcome(after, 'CREATE FUNCTION loot.f() RETURNS int LANGUAGE sql AS $$SELECT 1$$')).toBe(
        '42501',
      );
      expect(await outcome(after, `DROP TRIGGER steal ON app_users`)).toBe('42501');
    } finally {
      await after.end();
    }
    // Landlord writes the admin user as the silo's owner: the planted trigger gets the owner's rights only.
    const pool = createTenantDatabaseActivities({
      directory: h.directory,
      secret: testStack().secret,
      manifest: h.config.manifest,
    });
    await pool.createSiloAdminUser({ tenantId: legacy, region, email: 'owner@legacy.test' });
    await withClient(h.directory.serverDatabaseUrl(region, names.database), async (c) => {
      expect((await c.query('SELECT who, superuser FROM loot')).rows).toEqual([
        { who: names.owner, superuser: false },
      ]);
    });
    await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
      await c.query(`DROP DATABASE ${names.database} WITH (FORCE)`);
      await c.query(`DROP ROLE ${names.role}`);
      await c.query(`DROP ROLE ${names.owner}`);
    });
  });
});
