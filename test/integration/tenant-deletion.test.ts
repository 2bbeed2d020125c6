/**
 * An offboarded tenant's final deletion (activities/data/offboard.ts) on real pool and silo
 * databases and silo folders: every row and file of the tenant goes, in batches with
 * `offboard.delete` evidence, and nobody else's; any legal hold stops it before anything changes or
 * between batches; an interrupted, resumed or repeated deletion does nothing twice and counts
 * exactly; a row a table outside the manifest references is never cascaded away.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataActivities } from '../../activities/data/index.js';
import type { DeleteTenantDataInput, DeleteTenantDataResult } from '../../activities/data/offboard.js';
import { PoolDirectory } from '../../activities/pool/directory.js';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { secureSiloDatabase, siloOwnerPassword, siloOwnerUrl } from '../../dataplane/silo.js';
import { localSiloFolder, siloNames } from '../../domain/index.js';
import type { LedgerEntry } from '../../domain/index.js';
import { MemoryRegistry } from '../../registry/index.js';
import { testStack } from '../support/stack.js';

const q = pg.escapeIdentifier;
const config = loadConfig({});
const [region, drRegion] = ['local-a', 'local-b'];
/** The manifest's tables, children first: the order the deletion goes in. */
const TABLES = ['activity_log', 'documents', 'projects', 'app_users'] as const;

type Tenant = DeleteTenantDataInput['tenant'];
type Totals = Record<(typeof TABLES)[number], number>;

describe("deleting an offboarded tenant's data", () => {
  const secret = () => testStack().secret;
  const serverUrl = (r: string) => testStack().regionUrls[r]!;
  const poolUrl = () => withDatabase(serverUrl(region), POOL_DATABASE);
  let directory: PoolDirectory;
  let objectsRoot: string;
  let store: MemoryRegistry;
  const pool: string[] = [];
  const silos: { tenantId: string; region: string }[] = [];

  /** The data activities over this test's registry, with a changed lock budget. */
  const activities = (lockBudgetMs = config.retention.lockBudgetMs) =>
    createDataActivities({
      directory,
      manifest: config.manifest,
      store,
      secret: secret(),
      retention: { ...config.retention, lockBudgetMs },
      objectsRoot,
    });

  beforeAll(() => {
    directory = new PoolDirectory(testStack().regionUrls);
    objectsRoot = mkdtempSync(join(tmpdir(), 'landlord-offboard-objects-'));
    store = new MemoryRegistry();
  });
  afterAll(async () => {
    await withClient(poolUrl(), async (c) => {
      for (const table of TABLES) await c.query(`DELETE FROM ${q(table)} WHERE tenant_id = ANY($1)`, [pool]);
      await c.query('DELETE FROM landlord.deletion_outbox WHERE tenant_id = ANY($1)', [pool]);
    });
    for (const silo of silos) {
      const names = siloNames(silo.tenantId);
      await withClient(withDatabase(serverUrl(silo.region), 'postgres'), async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${q(names.database)} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.owner)}`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.role)}`);
      });
    }
    await directory?.close();
    rmSync(objectsRoot, { recursive: true, force: true });
  });

  const poolTenant = (): Tenant => {
    const id = `offb-${randomBytes(4).toString('hex')}`;
    pool.push(id);
    return { id, tier: 'basic', region, deploymentModel: 'pool' };
  };

  /** A silo tenant whose databases (and, with a standby, its DR standby's) exist as onboarding makes them. */
  async function siloTenant(withStandby = false): Promise<Tenant> {
    const id = `offb-${randomBytes(4).toString('hex')}`;
    for (const r of withStandby ? [region, drRegion] : [region]) {
      const names = siloNames(id);
      await withClient(withDatabase(serverUrl(r), 'postgres'), (c) =>
        c.query(`CREATE ROLE ${q(names.role)} NOLOGIN`),
      );
      silos.push({ tenantId: id, region: r });
      await ensureDatabase(serverUrl(r), names.database);
      await secureSiloDatabase(serverUrl(r), {
        database: names.database,
        role: names.role,
        owner: names.owner,
        ownerPassword: siloOwnerPassword(secret(), r, id),
      });
      await withClient(siloOwnerUrl(serverUrl(r), r, id, secret()), (c) =>
        applyApplicationMigrations(c, config.migrationsDir),
      );
      mkdirSync(localSiloFolder(objectsRoot, r, id), { recursive: true });
    }
    return {
      id,
      tier: 'premium',
      region,
      deploymentModel: 'silo',
      ...(withStandby ? { drRegion } : {}),
    };
  }

  /** The database where a store of the tenant keeps its rows. */
  const urlOf = (tenant: Tenant, r = tenant.region) =>
    tenant.deploymentModel === 'pool' ? poolUrl() : siloOwnerUrl(serverUrl(r), r, tenant.id, secret());

  /** People of a tenant, each with a user row, documents in one project and activity they caused. */
  async function seed(url: string, tenantId: string, people: { documents: number; activity: number }[]) {
    await withClient(url, async (c) => {
      const project = (
        await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [tenantId])
      ).rows[0].id as string;
      for (const p of people) {
        const id = randomUUID();
        await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
          tenantId,
          id,
          `${id}@example.com`,
        ]);
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
           SELECT $1, $2, $3, 'title ' || i, 'body' FROM generate_series(1, $4) i`,
          [tenantId, project, id, p.documents],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action)
           SELECT $1, $2, 'edit' FROM generate_series(1, $3)`,
          [tenantId, id, p.activity],
        );
      }
    });
  }

  /** Every row of the tenant per table, as SQL finds them. */
  const totalsOf = (url: string, tenantId: string): Promise<Totals> =>
    withClient(url, async (c) => {
      const totals = {} as Totals;
      for (const table of TABLES)
        totals[table] = (
          (await c.query(`SELECT count(*)::int AS n FROM ${q(table)} WHERE tenant_id = $1`, [tenantId]))
            .rows[0] as { n: number }
        ).n;
      return totals;
    });
  const none: Totals = { activity_log: 0, documents: 0, projects: 0, app_users: 0 };
  const outboxOf = (url: string, tenantId: string, operationId: string) =>
    withClient(url, async (c) => {
      const { rows } = await c.query<{
        record_key: string;
        entry: LedgerEntry;
        first_key: string | null;
        last_key: string | null;
      }>(
        `SELECT record_key, entry, first_key, last_key FROM landlord.deletion_outbox
          WHERE tenant_id = $1 AND starts_with(record_key, $2) ORDER BY id`,
        [tenantId, `offboard:${operationId}:`],
      );
      return rows;
    });

  const inputFor = (tenant: Tenant, on: 'primary' | 'standby' = 'primary'): DeleteTenantDataInput => ({
    operationId: `op-offboard-${randomBytes(4).toString('hex')}`,
    tenant,
    store: on,
    requestedBy: 'key_sales_ops',
  });
  const remove = (
    input: DeleteTenantDataInput,
    acts = activities(),
    env = new MockActivityEnvironment(),
  ): Promise<DeleteTenantDataResult> => env.run(acts.deleteTenantData, input);
  /** Target and count of each count, in order. */
  const pairs = (result: DeleteTenantDataResult) => result.counts.map((c) => [c.target, c.count]);
  const rowPairs = (totals: Totals) => TABLES.map((t) => [t, totals[t]]);

  /** Writes a file into a silo store's folder. */
  const put = (tenant: Tenant, r: string, key: string) => {
    const path = join(localSiloFolder(objectsRoot, r, tenant.id), key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, key);
  };
  /** Everything left in a silo store's folder, folders included. */
  const leftIn = (tenant: Tenant, r: string) =>
    readdirSync(localSiloFolder(objectsRoot, r, tenant.id), { recursive: true }).map(String);

  it("deletes every row of a pool tenant in batches with their evidence, nobody else's, and a repeat records nothing new", async () => {
    const [tenant, other] = [poolTenant(), poolTenant()];
    await seed(poolUrl(), tenant.id, [
      { documents: 7, activity: 40 },
      { documents: 3, activity: 5 },
    ]);
    await seed(poolUrl(), other.id, [{ documents: 2, activity: 4 }]);
    const [before, otherBefore] = [await totalsOf(poolUrl(), tenant.id), await totalsOf(poolUrl(), other.id)];
    expect(before).toEqual({ activity_log: 45, documents: 10, projects: 1, app_users: 2 });

    const input = inputFor(tenant);
    const acts = activities();
    const result = await remove(input, acts);
    const base = { store: 'primary', region, database: POOL_DATABASE, unit: 'rows' };
    // Children before the tables they reference: the manifest's order reversed; no storage in a pool.
    expect(result).toEqual({
      blockedBy: [],
      counts: TABLES.map((target) => ({ ...base, target, count: before[target] })),
    });
    expect(await totalsOf(poolUrl(), tenant.id)).toEqual(none);
    expect(await totalsOf(poolUrl(), other.id)).toEqual(otherBefore);

    const records = await outboxOf(poolUrl(), tenant.id, input.operationId);
    expect(records.map((r) => r.entry.target)).toEqual(TABLES);
    for (const r of records) {
      expect(r.entry).toEqual({
        kind: 'offboard.delete',
        tenantId: tenant.id,
        region,
        database: POOL_DATABASE,
        target: r.entry.target,
        dataClass: config.manifest.tables.find((t) => t.name === r.entry.target)!.dataClass,
        count: before[r.entry.target as keyof Totals],
        unit: 'rows',
        operationId: input.operationId,
        requestedBy: 'key_sales_ops',
        recordKey: `offboard:${input.operationId}:primary:${r.entry.target}:${r.first_key}`,
      });
    }

    // Forwarded to the ledger; asked again, the deletion finds nothing, counts the same from the
    // ledger and records nothing new.
    expect(await acts.forwardDeletionEvidence({ tenant })).toBe(4);
    expect(await remove(input, acts)).toEqual(result);
    expect(await outboxOf(poolUrl(), tenant.id, input.operationId)).toEqual([]);
    expect(await acts.forwardDeletionEvidence({ tenant })).toBe(0);
    const ledger = await store.ledger.list({ tenantId: tenant.id, limit: 100 });
    expect(ledger.map((r) => [r.kind, r.target, r.count])).toEqual(
      TABLES.map((t) => ['offboard.delete', t, before[t]]),
    );
    expect(await store.ledger.verify()).toMatchObject({ ok: true });
    // A pool tenant has no standby: nothing to do there.
    expect(await remove({ ...input, store: 'standby' })).toEqual({ blockedBy: [], counts: [] });
  });

  it("empties a silo's primary and standby databases and storage folders, files outside any prefix too", async () => {
    const tenant = await siloTenant(true);
    const files = [
      'attachments/p1/a.pdf',
      'attachments/b.png',
      `exports/${randomUUID()}/2026-01.csv`,
      'exports/all.csv',
      'exports/more/deep/x.csv',
      // Under no manifest prefix: counted as `/`.
      'scratch/notes.txt',
      'readme.txt',
    ];
    for (const r of [region, drRegion]) {
      await seed(urlOf(tenant, r), tenant.id, [
        { documents: 2, activity: 6 },
        { documents: 1, activity: 2 },
      ]);
      for (const key of files) put(tenant, r, key);
    }
    const before = await totalsOf(urlOf(tenant), tenant.id);
    expect(before).toEqual({ activity_log: 8, documents: 3, projects: 1, app_users: 2 });
    const acts = activities();
    const database = siloNames(tenant.id).database;
    const objects = [
      ['attachments/', 2],
      ['exports/', 3],
      // Nothing there: a zero count, recorded.
      ['logs/', 0],
      ['/', 2],
    ] as const;

    const primary = inputFor(tenant);
    const done = await remove(primary, acts);
    expect(done).toEqual({
      blockedBy: [],
      counts: [
        ...TABLES.map((target) => ({
          store: 'primary',
          region,
          database,
          target,
          unit: 'rows',
          count: before[target],
        })),
        ...objects.map(([target, count]) => ({ store: 'primary', region, target, unit: 'objects', count })),
      ],
    });
    expect(await totalsOf(urlOf(tenant), tenant.id)).toEqual(none);
    // The folder stays for the stack destroy to remove, emptied of files and folders.
    expect(leftIn(tenant, region)).toEqual([]);
    expect(existsSync(join(objectsRoot, region, '.deleting', tenant.id))).toBe(false);
    // The standby is untouched until its own turn.
    expect(await totalsOf(urlOf(tenant, drRegion), tenant.id)).toEqual(before);
    expect(leftIn(tenant, drRegion)).toContain('readme.txt');

    const standby = { ...primary, store: 'standby' as const };
    const standbyDone = await remove(standby, acts);
    expect(standbyDone.blockedBy).toEqual([]);
    expect(standbyDone.counts.map((c) => [c.store, c.region, c.target, c.count])).toEqual([
      ...rowPairs(before).map(([t, n]) => ['standby', drRegion, t, n]),
      ...objects.map(([t, n]) => ['standby', drRegion, t, n]),
    ]);
    expect(await totalsOf(urlOf(tenant, drRegion), tenant.id)).toEqual(none);
    expect(leftIn(tenant, drRegion)).toEqual([]);

    // Each store's evidence goes to the ledger from its own outbox: one record per target here.
    const primaryRecords = await outboxOf(urlOf(tenant), tenant.id, primary.operationId);
    expect(primaryRecords.map((r) => r.record_key)).toContain(
      `offboard:${primary.operationId}:primary:logs/:none`,
    );
    expect(await acts.forwardDeletionEvidence({ tenant, store: 'primary' })).toBe(8);
    expect(await acts.forwardDeletionEvidence({ tenant, store: 'standby' })).toBe(8);
    const ledger = await store.ledger.list({ tenantId: tenant.id, limit: 100 });
    expect(ledger.every((r) => r.kind === 'offboard.delete' && r.operationId === primary.operationId)).toBe(
      true,
    );
    expect(
      ledger.filter((r) => r.unit === 'objects').map((r) => [r.region, r.target, r.count, r.dataClass]),
    ).toEqual(
      [region, drRegion].flatMap((r) => [
        [r, 'attachments/', 2, 'content'],
        [r, 'exports/', 3, 'personal'],
        [r, 'logs/', 0, 'telemetry'],
        [r, '/', 2, undefined],
      ]),
    );
    expect(ledger.filter((r) => r.unit === 'objects').every((r) => r.database === undefined)).toBe(true);
    // Asked again after its evidence is in the ledger: the same counts, nothing new.
    expect(await remove(primary, acts)).toEqual(done);
    expect(await outboxOf(urlOf(tenant), tenant.id, primary.operationId)).toEqual([]);

    // A silo without DR has no standby: nothing to do there.
    const single = await siloTenant();
    expect(await remove(inputFor(single, 'standby'), acts)).toEqual({ blockedBy: [], counts: [] });
  });

  it("drops a silo's leftover restore databases, each table's rows recorded first", async () => {
    const tenant = await siloTenant();
    const names = siloNames(tenant.id);
    const [pre, staged] = [`${names.database}$pre_0a1b2c3d`, `${names.database}$restore_0a1b2c3d`];
    const server = withDatabase(serverUrl(region), 'postgres');
    await seed(urlOf(tenant), tenant.id, [{ documents: 4, activity: 9 }]);
    const old = await totalsOf(urlOf(tenant), tenant.id);
    await withClient(server, async (c) => {
      // As a crashed restore's switch leaves them: the pre-restore copy closed, a staging one half-made.
      await c.query(`CREATE DATABASE ${q(pre)} TEMPLATE ${q(names.database)} OWNER ${q(names.owner)}`);
      await c.query(`ALTER DATABASE ${q(pre)} ALLOW_CONNECTIONS false`);
      await c.query(`CREATE DATABASE ${q(staged)} OWNER ${q(names.owner)}`);
    });
    try {
      await seed(urlOf(tenant), tenant.id, [{ documents: 1, activity: 2 }]);
      const before = await totalsOf(urlOf(tenant), tenant.id);
      const input = inputFor(tenant);
      const acts = activities();
      const done = await remove(input, acts);
      const manifestOrder = [...TABLES].reverse();
      expect(done.counts.filter((c) => c.unit === 'rows')).toEqual([
        ...TABLES.map((target) => ({
          store: 'primary',
          region,
          database: names.database,
          target,
          unit: 'rows',
          count: before[target],
        })),
        ...[pre, staged].flatMap((database) =>
          manifestOrder.map((target) => ({
            store: 'primary',
            region,
            database,
            target,
            unit: 'rows',
            count: database === pre ? old[target] : 0,
          })),
        ),
      ]);
      const left = await withClient(server, (c) =>
        c.query(`SELECT datname FROM pg_database WHERE datname = ANY($1)`, [[pre, staged]]),
      );
      expect(left.rows).toEqual([]);

      // In the ledger through the live database's outbox, and counted the same when asked again.
      await acts.forwardDeletionEvidence({ tenant });
      const ledger = await store.ledger.list({ tenantId: tenant.id, kind: 'offboard.delete', limit: 100 });
      expect(ledger.filter((r) => r.database === pre).map((r) => [r.target, r.count])).toEqual(
        manifestOrder.map((t) => [t, old[t]]),
      );
      expect(ledger.find((r) => r.database === pre)).toMatchObject({
        operationId: input.operationId,
        requestedBy: 'key_sales_ops',
        dataClass: config.manifest.tables[0]!.dataClass,
        recordKey: `offboard:${input.operationId}:primary:${pre}:${manifestOrder[0]}`,
      });
      expect(await remove(input, acts)).toEqual(done);
      expect(await acts.forwardDeletionEvidence({ tenant })).toBe(0);
    } finally {
      await withClient(server, async (c) => {
        for (const d of [pre, staged]) await c.query(`DROP DATABASE IF EXISTS ${q(d)} WITH (FORCE)`);
      });
    }
  });

  it('changes nothing under any hold of the tenant: the whole tenant, one data class, or one subject', async () => {
    const tenant = await siloTenant();
    await seed(urlOf(tenant), tenant.id, [{ documents: 2, activity: 3 }]);
    put(tenant, region, 'attachments/a.pdf');
    const before = await totalsOf(urlOf(tenant), tenant.id);
    const input = inputFor(tenant);
    for (const scope of [{}, { dataClasses: ['telemetry'] }, { subjects: [randomUUID()] }]) {
      const hold = await store.legalHolds.place({
        tenantId: tenant.id,
        reason: 'case 9',
        createdBy: 'key_legal',
        ...scope,
      });
      expect(await remove(input), JSON.stringify(scope)).toEqual({ blockedBy: [hold.id], counts: [] });
      expect(await totalsOf(urlOf(tenant), tenant.id)).toEqual(before);
      expect(leftIn(tenant, region)).toContain('attachments/a.pdf');
      expect(await outboxOf(urlOf(tenant), tenant.id, input.operationId)).toEqual([]);
      await store.legalHolds.release(tenant.id, hold.id, { releasedBy: 'key_legal', reason: 'closed' });
    }
    // Every hold in force is named; an ended one is not.
    const [a, b] = [
      await store.legalHolds.place({ tenantId: tenant.id, reason: 'a', createdBy: 'key_legal' }),
      await store.legalHolds.place({
        tenantId: tenant.id,
        reason: 'b',
        createdBy: 'key_legal',
        dataClasses: ['business'],
      }),
    ];
    await store.legalHolds.place({
      tenantId: tenant.id,
      reason: 'ended',
      createdBy: 'key_legal',
      until: new Date(Date.now() - 1000).toISOString(),
    });
    expect((await remove(input)).blockedBy).toEqual([a.id, b.id]);
    for (const hold of [a, b])
      await store.legalHolds.release(tenant.id, hold.id, { releasedBy: 'key_legal', reason: 'closed' });
    const done = await remove(input);
    expect(done.blockedBy).toEqual([]);
    expect(pairs(done)).toEqual([
      ...rowPairs(before),
      ['attachments/', 1],
      ['exports/', 0],
      ['logs/', 0],
      ['/', 0],
    ]);
    expect(await totalsOf(urlOf(tenant), tenant.id)).toEqual(none);
  });

  it('stops between batches when a hold is placed, and a second call after its release finishes with exact totals', async () => {
    const tenant = poolTenant();
    await seed(poolUrl(), tenant.id, [{ documents: 5, activity: 1500 }]);
    const before = await totalsOf(poolUrl(), tenant.id);
    const input = inputFor(tenant);
    // A tiny lock budget: small batches after the first.
    const acts = activities(1);
    const env = new MockActivityEnvironment();
    let holdId: string | undefined;
    env.on('heartbeat', () => {
      if (holdId) return;
      holdId = 'pending';
      void store.legalHolds
        .place({ tenantId: tenant.id, reason: 'case 12', createdBy: 'key_legal', dataClasses: ['personal'] })
        .then((h) => (holdId = h.id));
    });
    const stopped = await remove(input, acts, env);
    expect(stopped.blockedBy).toEqual([holdId]);
    const left = await totalsOf(poolUrl(), tenant.id);
    expect(left.activity_log).toBeGreaterThan(0);
    expect(left.activity_log).toBeLessThan(1500);
    expect(left).toMatchObject({ documents: 5, projects: 1, app_users: 1 });
    expect(pairs(stopped)).toEqual([['activity_log', 1500 - left.activity_log]]);

    await store.legalHolds.release(tenant.id, holdId!, { releasedBy: 'key_legal', reason: 'closed' });
    const finished = await remove(input, acts);
    expect(finished.blockedBy).toEqual([]);
    expect(pairs(finished)).toEqual(rowPairs(before));
    expect(await totalsOf(poolUrl(), tenant.id)).toEqual(none);
    const records = await outboxOf(poolUrl(), tenant.id, input.operationId);
    expect(records.filter((r) => r.entry.target === 'activity_log').length).toBeGreaterThan(2);
    expect(records.reduce((n, r) => n + r.entry.count, 0)).toBe(1507);
  });

  it('resumes a killed attempt from an older heartbeat, deleting nothing twice and counting exactly', async () => {
    const tenant = poolTenant();
    await seed(poolUrl(), tenant.id, [
      { documents: 3, activity: 1500 },
      { documents: 1, activity: 10 },
    ]);
    const before = await totalsOf(poolUrl(), tenant.id);
    const input = inputFor(tenant);
    const acts = activities(1);
    const dying = new MockActivityEnvironment();
    const beats: unknown[] = [];
    dying.on('heartbeat', (details: unknown) => {
      beats.push(structuredClone(details));
      // The worker dies after its third batch committed; only its first heartbeat got out.
      if (beats.length === 3) throw new Error('worker killed');
    });
    await expect(remove(input, acts, dying)).rejects.toThrow('worker killed');
    expect((await totalsOf(poolUrl(), tenant.id)).activity_log).toBeLessThan(1510);

    const resumed = await remove(input, acts, new MockActivityEnvironment({ heartbeatDetails: beats[0] }));
    expect(pairs(resumed)).toEqual(rowPairs(before));
    expect(await totalsOf(poolUrl(), tenant.id)).toEqual(none);
    const records = await outboxOf(poolUrl(), tenant.id, input.operationId);
    const logRecords = records.filter((r) => r.entry.target === 'activity_log');
    expect(logRecords.reduce((n, r) => n + r.entry.count, 0)).toBe(1510);
    expect(new Set(records.map((r) => r.record_key)).size).toBe(records.length);
    // Batches never overlap: each starts after the one before ended.
    const keys = logRecords
      .map((r) => [Number(r.first_key), Number(r.last_key)] as const)
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < keys.length; i++) expect(keys[i]![0]).toBeGreaterThan(keys[i - 1]![1]);
  });

  it('resumes a killed attempt amid storage batches, recording each file once', async () => {
    const tenant = await siloTenant();
    await seed(urlOf(tenant), tenant.id, [{ documents: 1, activity: 1 }]);
    for (let i = 0; i < 1200; i++) put(tenant, region, `attachments/${String(i).padStart(4, '0')}.bin`);
    const input = inputFor(tenant);
    const acts = activities();
    const dying = new MockActivityEnvironment();
    const beats: { current?: { target: string } }[] = [];
    const files = () => leftIn(tenant, region).filter((k) => k.endsWith('.bin')).length;
    dying.on('heartbeat', (details: { current?: { target: string } }) => {
      // Killed once the first storage batch is done, before the heartbeat after it got out.
      if (files() < 1200) throw new Error('worker killed');
      beats.push(structuredClone(details));
    });
    await expect(remove(input, acts, dying)).rejects.toThrow('worker killed');
    expect(files()).toBe(700);

    // The last heartbeat that got out was before any file went.
    const resumed = await remove(
      input,
      acts,
      new MockActivityEnvironment({ heartbeatDetails: beats.at(-1) }),
    );
    expect(pairs(resumed)).toEqual([
      ['activity_log', 1],
      ['documents', 1],
      ['projects', 1],
      ['app_users', 1],
      ['attachments/', 1200],
      ['exports/', 0],
      ['logs/', 0],
      ['/', 0],
    ]);
    expect(leftIn(tenant, region)).toEqual([]);
    const objectRecords = (await outboxOf(urlOf(tenant), tenant.id, input.operationId)).filter(
      (r) => r.entry.target === 'attachments/',
    );
    expect(objectRecords.length).toBe(3);
    expect(objectRecords.reduce((n, r) => n + r.entry.count, 0)).toBe(1200);
  });

  it('fails, naming the table, rather than cascade into rows of a table the manifest does not list', async () => {
    const tenant = await siloTenant();
    await seed(urlOf(tenant), tenant.id, [{ documents: 2, activity: 3 }]);
    // The application's own table, unknown to the manifest, with a row that references a user.
    await withClient(urlOf(tenant), (c) =>
      c.query(
        `CREATE TABLE invoices (
           tenant_id text NOT NULL, id bigint GENERATED ALWAYS AS IDENTITY, user_id uuid NOT NULL,
           PRIMARY KEY (tenant_id, id),
           FOREIGN KEY (tenant_id, user_id) REFERENCES app_users (tenant_id, id) ON DELETE CASCADE);
         INSERT INTO invoices (tenant_id, user_id) SELECT tenant_id, id FROM app_users`,
      ),
    );
    const before = await totalsOf(urlOf(tenant), tenant.id);
    const input = inputFor(tenant);
    const failure = await remove(input).catch((err: unknown) => err);
    expect(failure).toMatchObject({
      kind: 'DataRejected',
      message: expect.stringMatching(
        /^1 row\(s\) of the tenant in table app_users are referenced through a foreign key by rows of invoices \(not in the manifest\)/,
      ),
      detail: { table: 'app_users', rows: 1, referencedBy: ['invoices'] },
    });
    // Refused before anything went.
    expect(await totalsOf(urlOf(tenant), tenant.id)).toEqual(before);
    expect(await outboxOf(urlOf(tenant), tenant.id, input.operationId)).toEqual([]);
    const invoices = await withClient(urlOf(tenant), (c) =>
      c.query<{ n: number }>('SELECT count(*)::int AS n FROM invoices'),
    );
    expect(invoices.rows[0]!.n).toBe(1);
  });
});
