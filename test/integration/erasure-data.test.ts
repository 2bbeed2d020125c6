/**
 * A data subject's erasure in a tenant's databases and silo folders (activities/data/erasure.ts),
 * on real pool and silo databases: the subject's rows go or are anonymized as the manifest says and
 * nobody else's change; holds stop it before anything changes, or between batches; an interrupted
 * or resumed erasure does nothing twice and counts exactly; the evidence names the subject only by
 * its HMAC.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataActivities } from '../../activities/data/index.js';
import type { EraseSubjectInput, EraseSubjectResult } from '../../activities/data/erasure.js';
import { PoolDirectory } from '../../activities/pool/directory.js';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { secureSiloDatabase, siloOwnerPassword, siloOwnerUrl } from '../../dataplane/silo.js';
import { localSiloFolder, siloNames } from '../../domain/index.js';
import type { DataPlaneManifest, ErasureCount, LedgerEntry } from '../../domain/index.js';
import { MemoryRegistry } from '../../registry/index.js';
import { testStack } from '../support/stack.js';

const q = pg.escapeIdentifier;
const config = loadConfig({});
const [region, drRegion] = ['local-a', 'local-b'];
const SUBJECT_TABLES = ['activity_log', 'documents', 'app_users'] as const;

type Tenant = EraseSubjectInput['tenant'];
type Counts = Record<(typeof SUBJECT_TABLES)[number], number>;

describe('erasing a data subject in a tenant store', () => {
  const secret = () => testStack().secret;
  const serverUrl = (r: string) => testStack().regionUrls[r]!;
  const poolUrl = () => withDatabase(serverUrl(region), POOL_DATABASE);
  let directory: PoolDirectory;
  let objectsRoot: string;
  let store: MemoryRegistry;
  const pool: string[] = [];
  const silos: { tenantId: string; region: string }[] = [];

  /** The data activities over this test's registry, with the manifest or lock budget changed. */
  const activities = (change: { manifest?: DataPlaneManifest; lockBudgetMs?: number } = {}) =>
    createDataActivities({
      directory,
      manifest: change.manifest ?? config.manifest,
      store,
      secret: secret(),
      retention: { ...config.retention, lockBudgetMs: change.lockBudgetMs ?? config.retention.lockBudgetMs },
      objectsRoot,
    });

  beforeAll(() => {
    directory = new PoolDirectory(testStack().regionUrls);
    objectsRoot = mkdtempSync(join(tmpdir(), 'landlord-erasure-objects-'));
    store = new MemoryRegistry();
  });
  afterAll(async () => {
    await withClient(poolUrl(), async (c) => {
      for (const table of [...SUBJECT_TABLES, 'projects'])
        await c.query(`DELETE FROM ${q(table)} WHERE tenant_id = ANY($1)`, [pool]);
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
    const id = `erase-${randomBytes(4).toString('hex')}`;
    pool.push(id);
    return { id, tier: 'basic', region, deploymentModel: 'pool' };
  };

  /** A silo tenant whose databases (and, with `drRegion`, its standby's) exist as onboarding makes them. */
  async function siloTenant(withStandby = false): Promise<Tenant> {
    const id = `erase-${randomBytes(4).toString('hex')}`;
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

  /** People of a tenant, each with a user row, documents they wrote and activity they caused. */
  async function seed(
    url: string,
    tenantId: string,
    people: { id: string; documents: number; activity: number }[],
  ) {
    await withClient(url, async (c) => {
      const project = (
        await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [tenantId])
      ).rows[0].id as string;
      for (const p of people) {
        await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
          tenantId,
          p.id,
          `${p.id}@example.com`,
        ]);
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
           SELECT $1, $2, $3, 'title ' || i, 'body' FROM generate_series(1, $4) i`,
          [tenantId, project, p.id, p.documents],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action)
           SELECT $1, $2, 'edit' FROM generate_series(1, $3)`,
          [tenantId, p.id, p.activity],
        );
      }
    });
  }

  /** The subject's rows of the tenant per table, as SQL finds them. */
  const rowsOf = (url: string, tenantId: string, subject: string): Promise<Counts> =>
    withClient(url, async (c) => {
      const n = async (sql: string) => ((await c.query(sql, [tenantId, subject])).rows[0] as { n: number }).n;
      return {
        activity_log: await n(
          'SELECT count(*)::int AS n FROM activity_log WHERE tenant_id = $1 AND actor_id::text = $2',
        ),
        documents: await n(
          'SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1 AND author_id::text = $2',
        ),
        app_users: await n('SELECT count(*)::int AS n FROM app_users WHERE tenant_id = $1 AND id::text = $2'),
      };
    });
  /** Every row of the tenant per table. */
  const totalsOf = (url: string, tenantId: string) =>
    withClient(url, async (c) => {
      const totals: Record<string, number> = {};
      for (const table of [...SUBJECT_TABLES, 'projects'])
        totals[table] = (
          (await c.query(`SELECT count(*)::int AS n FROM ${q(table)} WHERE tenant_id = $1`, [tenantId]))
            .rows[0] as { n: number }
        ).n;
      return totals;
    });
  const outboxOf = (url: string, tenantId: string, erasureId: string) =>
    withClient(url, async (c) => {
      const { rows } = await c.query<{
        record_key: string;
        entry: LedgerEntry;
        first_key: string | null;
        last_key: string | null;
      }>(
        `SELECT record_key, entry, first_key, last_key FROM landlord.deletion_outbox
          WHERE tenant_id = $1 AND starts_with(record_key, $2) ORDER BY id`,
        [tenantId, `erasure:${erasureId}:`],
      );
      return rows;
    });

  /** An erasure request, and the input of its activity for one store. */
  async function request(tenant: Tenant, subject: string, on: 'primary' | 'standby' = 'primary') {
    const now = new Date();
    const erasure = await store.erasures.create({
      tenantId: tenant.id,
      subject,
      reason: 'Art. 17 request',
      receivedAt: now.toISOString(),
      dueBy: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      requestedBy: 'key_privacy',
    });
    const input: EraseSubjectInput = {
      operationId: `op-${erasure.id}`,
      erasureId: erasure.id,
      tenant,
      store: on,
      subjectHmac: createHmac('sha256', `key-of-${tenant.id}`).update(subject).digest('hex'),
      requestedBy: 'key_privacy',
    };
    return input;
  }

  const count = (counts: ErasureCount[], target: string) => counts.find((c) => c.target === target)?.count;
  const erase = (
    input: EraseSubjectInput,
    acts = activities(),
    env = new MockActivityEnvironment(),
  ): Promise<EraseSubjectResult> => env.run(acts.eraseSubjectData, input);

  it("deletes and anonymizes exactly the subject's rows as the manifest says, and the evidence names only its HMAC", async () => {
    const [tenant, other] = [poolTenant(), poolTenant()];
    const [subject, someone] = [randomUUID(), randomUUID()];
    await seed(poolUrl(), tenant.id, [
      { id: subject, documents: 7, activity: 40 },
      { id: someone, documents: 3, activity: 5 },
    ]);
    // The same person in another tenant: a different data subject there, not erased.
    await seed(poolUrl(), other.id, [{ id: subject, documents: 2, activity: 4 }]);
    const before = await rowsOf(poolUrl(), tenant.id, subject);
    expect(before).toEqual({ activity_log: 40, documents: 7, app_users: 1 });
    const [totals, someoneBefore, otherBefore] = [
      await totalsOf(poolUrl(), tenant.id),
      await rowsOf(poolUrl(), tenant.id, someone),
      await totalsOf(poolUrl(), other.id),
    ];

    const input = await request(tenant, subject);
    const acts = activities();
    const result = await erase(input, acts);
    expect(result.blockedBy).toEqual([]);
    const base = { store: 'primary', region, database: POOL_DATABASE, unit: 'rows' };
    // Children before the tables they reference: the manifest's order reversed.
    expect(result.counts).toEqual([
      { ...base, target: 'activity_log', mode: 'delete', count: 40 },
      { ...base, target: 'documents', mode: 'anonymize', count: 7 },
      { ...base, target: 'app_users', mode: 'delete', count: 1 },
    ]);
    expect(await rowsOf(poolUrl(), tenant.id, subject)).toEqual({
      activity_log: 0,
      documents: 0,
      app_users: 0,
    });
    // Anonymized documents stay, without their author.
    expect(await totalsOf(poolUrl(), tenant.id)).toEqual({
      ...totals,
      activity_log: totals.activity_log! - 40,
      app_users: totals.app_users! - 1,
    });
    const authorless = await withClient(poolUrl(), (c) =>
      c.query(`SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1 AND author_id IS NULL`, [
        tenant.id,
      ]),
    );
    expect(authorless.rows[0]).toEqual({ n: 7 });
    expect(await rowsOf(poolUrl(), tenant.id, someone)).toEqual(someoneBefore);
    expect(await totalsOf(poolUrl(), other.id)).toEqual(otherBefore);
    expect(await rowsOf(poolUrl(), other.id, subject)).toEqual({
      activity_log: 4,
      documents: 2,
      app_users: 1,
    });

    const records = await outboxOf(poolUrl(), tenant.id, input.erasureId);
    expect(records.length).toBeGreaterThanOrEqual(3);
    for (const r of records) {
      expect(r.entry).toMatchObject({
        tenantId: tenant.id,
        subjectHmac: input.subjectHmac,
        operationId: input.operationId,
        requestedBy: 'key_privacy',
        region,
        database: POOL_DATABASE,
        unit: 'rows',
        recordKey: r.record_key,
      });
      expect(r.record_key.startsWith(`erasure:${input.erasureId}:primary:${r.entry.target}:`)).toBe(true);
    }
    expect(
      records
        .filter((r) => r.entry.target === 'documents')
        .every((r) => r.entry.kind === 'erasure.anonymize'),
    ).toBe(true);
    expect(records.find((r) => r.entry.target === 'app_users')?.entry).toMatchObject({
      kind: 'erasure.delete',
      dataClass: 'personal',
      count: 1,
    });
    // Not even as a row key: app_users' key is the subject itself.
    const written = JSON.stringify(records).toLowerCase();
    expect(written).not.toContain(subject.toLowerCase());

    // Forwarded to the ledger; asked again, the erasure has nothing left to do and counts the same
    // from the ledger, and the ledger holds each record once.
    expect(await acts.forwardDeletionEvidence({ tenant })).toBe(records.length);
    const again = await erase(input, acts);
    expect(again).toEqual(result);
    expect(await acts.forwardDeletionEvidence({ tenant })).toBe(0);
    const ledger = await store.ledger.list({ tenantId: tenant.id, limit: 100 });
    expect(ledger.map((r) => r.recordKey)).toEqual(records.map((r) => r.record_key));
    expect(JSON.stringify(ledger).toLowerCase()).not.toContain(subject.toLowerCase());
    expect(await store.ledger.verify()).toMatchObject({ ok: true });
  });

  it('records one zero count per table for a subject without rows, and a subject no column can hold has none', async () => {
    const tenant = poolTenant();
    await seed(poolUrl(), tenant.id, [{ id: randomUUID(), documents: 2, activity: 3 }]);
    const totals = await totalsOf(poolUrl(), tenant.id);
    for (const subject of [randomUUID(), 'jane.doe@example.com']) {
      const input = await request(tenant, subject);
      const result = await erase(input);
      expect(result).toEqual({
        blockedBy: [],
        counts: SUBJECT_TABLES.map((target) => expect.objectContaining({ target, count: 0 })),
      });
      await erase(input);
      const records = await outboxOf(poolUrl(), tenant.id, input.erasureId);
      expect(records.map((r) => [r.entry.target, r.entry.kind, r.entry.count, r.record_key])).toEqual([
        ['activity_log', 'erasure.delete', 0, `erasure:${input.erasureId}:primary:activity_log:none`],
        ['documents', 'erasure.anonymize', 0, `erasure:${input.erasureId}:primary:documents:none`],
        ['app_users', 'erasure.delete', 0, `erasure:${input.erasureId}:primary:app_users:none`],
      ]);
      expect(JSON.stringify(records)).not.toContain(subject);
    }
    expect(await totalsOf(poolUrl(), tenant.id)).toEqual(totals);
  });

  it('changes nothing under a hold on the subject, on a data class it touches, or on the whole tenant', async () => {
    const tenant = poolTenant();
    const subject = randomUUID();
    await seed(poolUrl(), tenant.id, [{ id: subject, documents: 2, activity: 3 }]);
    const before = await rowsOf(poolUrl(), tenant.id, subject);
    const input = await request(tenant, subject);
    const scopes = [
      { subjects: [subject] },
      // The same UUID written otherwise: the subject columns hold it as one value.
      { subjects: [subject.toUpperCase()] },
      { dataClasses: ['telemetry'] },
      {},
    ];
    for (const scope of scopes) {
      const hold = await store.legalHolds.place({
        tenantId: tenant.id,
        reason: 'case 9',
        createdBy: 'key_legal',
        ...scope,
      });
      expect(await erase(input), JSON.stringify(scope)).toEqual({ blockedBy: [hold.id], counts: [] });
      expect(await rowsOf(poolUrl(), tenant.id, subject)).toEqual(before);
      expect(await outboxOf(poolUrl(), tenant.id, input.erasureId)).toEqual([]);
      await store.legalHolds.release(tenant.id, hold.id, { releasedBy: 'key_legal', reason: 'closed' });
    }
    // Holds on someone else, or on a class the erasure does not touch, stop nothing.
    await store.legalHolds.place({
      tenantId: tenant.id,
      reason: 'x',
      createdBy: 'key_legal',
      subjects: [randomUUID()],
    });
    await store.legalHolds.place({
      tenantId: tenant.id,
      reason: 'y',
      createdBy: 'key_legal',
      dataClasses: ['business'],
    });
    expect((await erase(input)).blockedBy).toEqual([]);
    expect(await rowsOf(poolUrl(), tenant.id, subject)).toEqual({
      activity_log: 0,
      documents: 0,
      app_users: 0,
    });
  });

  it('stops between batches when a hold is placed, and a second call finishes with exact counts', async () => {
    const tenant = poolTenant();
    const subject = randomUUID();
    await seed(poolUrl(), tenant.id, [{ id: subject, documents: 5, activity: 1500 }]);
    const input = await request(tenant, subject);
    // A tiny lock budget: small batches after the first.
    const acts = activities({ lockBudgetMs: 1 });
    const env = new MockActivityEnvironment();
    let holdId: string | undefined;
    env.on('heartbeat', () => {
      if (holdId) return;
      holdId = 'pending';
      void store.legalHolds
        .place({ tenantId: tenant.id, reason: 'case 12', createdBy: 'key_legal', subjects: [subject] })
        .then((h) => (holdId = h.id));
    });
    const stopped = await erase(input, acts, env);
    expect(stopped.blockedBy).toEqual([holdId]);
    const left = await rowsOf(poolUrl(), tenant.id, subject);
    expect(left.activity_log).toBeGreaterThan(0);
    expect(left.activity_log).toBeLessThan(1500);
    expect(left).toMatchObject({ documents: 5, app_users: 1 });
    expect(stopped.counts).toEqual([
      expect.objectContaining({ target: 'activity_log', count: 1500 - left.activity_log }),
    ]);

    await store.legalHolds.release(tenant.id, holdId!, { releasedBy: 'key_legal', reason: 'closed' });
    const finished = await erase(input, acts);
    expect(finished.blockedBy).toEqual([]);
    expect(finished.counts.map((c) => [c.target, c.count])).toEqual([
      ['activity_log', 1500],
      ['documents', 5],
      ['app_users', 1],
    ]);
    expect(await rowsOf(poolUrl(), tenant.id, subject)).toEqual({
      activity_log: 0,
      documents: 0,
      app_users: 0,
    });
    const records = await outboxOf(poolUrl(), tenant.id, input.erasureId);
    expect(records.filter((r) => r.entry.target === 'activity_log').length).toBeGreaterThan(2);
  });

  it('resumes a killed attempt from an older heartbeat, erasing nothing twice and counting exactly', async () => {
    const tenant = poolTenant();
    const subject = randomUUID();
    await seed(poolUrl(), tenant.id, [
      { id: subject, documents: 3, activity: 1500 },
      { id: randomUUID(), documents: 1, activity: 10 },
    ]);
    const totals = await totalsOf(poolUrl(), tenant.id);
    const input = await request(tenant, subject);
    const acts = activities({ lockBudgetMs: 1 });
    const dying = new MockActivityEnvironment();
    const beats: unknown[] = [];
    dying.on('heartbeat', (details: unknown) => {
      beats.push(structuredClone(details));
      // The worker dies after its third batch committed; only its first heartbeat got out.
      if (beats.length === 3) throw new Error('worker killed');
    });
    await expect(erase(input, acts, dying)).rejects.toThrow('worker killed');
    const left = (await rowsOf(poolUrl(), tenant.id, subject)).activity_log;
    expect(left).toBeLessThan(1500);

    const resumed = await erase(input, acts, new MockActivityEnvironment({ heartbeatDetails: beats[0] }));
    expect(resumed.counts.map((c) => [c.target, c.count])).toEqual([
      ['activity_log', 1500],
      ['documents', 3],
      ['app_users', 1],
    ]);
    expect(await totalsOf(poolUrl(), tenant.id)).toEqual({
      ...totals,
      activity_log: totals.activity_log! - 1500,
      app_users: totals.app_users! - 1,
    });
    const records = await outboxOf(poolUrl(), tenant.id, input.erasureId);
    const logRecords = records.filter((r) => r.entry.target === 'activity_log');
    expect(logRecords.reduce((n, r) => n + r.entry.count, 0)).toBe(1500);
    expect(new Set(records.map((r) => r.record_key)).size).toBe(records.length);
    // Batches never overlap: each starts after the one before ended.
    const keys = logRecords
      .map((r) => [Number(r.first_key), Number(r.last_key)] as const)
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < keys.length; i++) expect(keys[i]![0]).toBeGreaterThan(keys[i - 1]![1]);
  });

  it("removes a silo's subject folders under exports/, keeps everyone else's, and erases its DR standby too", async () => {
    const tenant = await siloTenant(true);
    const [subject, someone] = [randomUUID(), randomUUID()];
    const put = (r: string, key: string) => {
      const path = join(localSiloFolder(objectsRoot, r, tenant.id), key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, key);
      return path;
    };
    const present = (r: string, key: string) =>
      existsSync(join(localSiloFolder(objectsRoot, r, tenant.id), key));
    for (const r of [region, drRegion]) {
      await seed(urlOf(tenant, r), tenant.id, [
        { id: subject, documents: 2, activity: 6 },
        { id: someone, documents: 1, activity: 2 },
      ]);
      for (const key of [`exports/${subject}/2026-01.csv`, `exports/${subject}/deep/2026-02.csv`])
        put(r, key);
      for (const key of [`exports/${someone}/2026-01.csv`, 'exports/all.csv', `attachments/${subject}/a.pdf`])
        put(r, key);
    }
    const kept = [`exports/${someone}/2026-01.csv`, 'exports/all.csv', `attachments/${subject}/a.pdf`];
    const acts = activities();

    const primary = await request(tenant, subject);
    const done = await erase(primary, acts);
    const database = siloNames(tenant.id).database;
    expect(done).toEqual({
      blockedBy: [],
      counts: [
        {
          store: 'primary',
          region,
          database,
          target: 'activity_log',
          mode: 'delete',
          unit: 'rows',
          count: 6,
        },
        {
          store: 'primary',
          region,
          database,
          target: 'documents',
          mode: 'anonymize',
          unit: 'rows',
          count: 2,
        },
        { store: 'primary', region, database, target: 'app_users', mode: 'delete', unit: 'rows', count: 1 },
        { store: 'primary', region, target: 'exports/', mode: 'delete', unit: 'objects', count: 2 },
      ],
    });
    // The folder goes with its files: its name is the subject.
    expect(present(region, `exports/${subject}`)).toBe(false);
    for (const key of kept) expect(present(region, key), key).toBe(true);
    expect(await rowsOf(urlOf(tenant), tenant.id, subject)).toEqual({
      activity_log: 0,
      documents: 0,
      app_users: 0,
    });
    expect(await rowsOf(urlOf(tenant), tenant.id, someone)).toEqual({
      activity_log: 2,
      documents: 1,
      app_users: 1,
    });
    // The standby is untouched until its own turn.
    expect(await rowsOf(urlOf(tenant, drRegion), tenant.id, subject)).toEqual({
      activity_log: 6,
      documents: 2,
      app_users: 1,
    });
    expect(present(drRegion, `exports/${subject}/2026-01.csv`)).toBe(true);

    const standby = { ...primary, store: 'standby' as const };
    const standbyDone = await erase(standby, acts);
    expect(standbyDone.blockedBy).toEqual([]);
    expect(standbyDone.counts.map((c) => [c.store, c.region, c.target, c.count])).toEqual([
      ['standby', drRegion, 'activity_log', 6],
      ['standby', drRegion, 'documents', 2],
      ['standby', drRegion, 'app_users', 1],
      ['standby', drRegion, 'exports/', 2],
    ]);
    expect(await rowsOf(urlOf(tenant, drRegion), tenant.id, subject)).toEqual({
      activity_log: 0,
      documents: 0,
      app_users: 0,
    });
    expect(present(drRegion, `exports/${subject}`)).toBe(false);
    for (const key of kept) expect(present(drRegion, key), key).toBe(true);

    // Each store's evidence goes to the ledger from its own outbox; none names the subject.
    expect(await acts.forwardDeletionEvidence({ tenant, store: 'primary' })).toBe(4);
    expect(await acts.forwardDeletionEvidence({ tenant, store: 'standby' })).toBe(4);
    const ledger = await store.ledger.list({ tenantId: tenant.id, limit: 100 });
    expect(
      ledger.filter((r) => r.unit === 'objects').map((r) => [r.region, r.target, r.count, r.kind]),
    ).toEqual([
      [region, 'exports/', 2, 'erasure.delete'],
      [drRegion, 'exports/', 2, 'erasure.delete'],
    ]);
    expect(ledger.find((r) => r.unit === 'objects')!.database).toBeUndefined();
    expect(JSON.stringify(ledger).toLowerCase()).not.toContain(subject);
    // A pool tenant, or a silo without DR, has no standby: nothing to do there.
    const poolInput = { ...(await request(poolTenant(), subject)), store: 'standby' as const };
    expect(await erase(poolInput, acts)).toEqual({ blockedBy: [], counts: [] });
    expect(await acts.forwardDeletionEvidence({ tenant: poolInput.tenant, store: 'standby' })).toBe(0);
  });

  it('has no folder for a subject that is not one path segment, and touches no file for it', async () => {
    const tenant = await siloTenant();
    const folder = localSiloFolder(objectsRoot, region, tenant.id);
    mkdirSync(join(folder, 'exports', 'x'), { recursive: true });
    writeFileSync(join(folder, 'exports', 'x', 'a.csv'), 'a');
    writeFileSync(join(folder, 'exports', 'b.csv'), 'b');
    for (const subject of ['..', '.', 'x/..', 'exports\\x']) {
      const result = await erase(await request(tenant, subject));
      expect(result.blockedBy).toEqual([]);
      expect(count(result.counts, 'exports/'), subject).toBe(0);
    }
    expect(existsSync(join(folder, 'exports', 'x', 'a.csv'))).toBe(true);
    expect(existsSync(join(folder, 'exports', 'b.csv'))).toBe(true);
  });

  it('refuses, before anything changes, to anonymize a NOT NULL column, naming it', async () => {
    const tenant = poolTenant();
    const subject = randomUUID();
    await seed(poolUrl(), tenant.id, [{ id: subject, documents: 2, activity: 3 }]);
    const manifest: DataPlaneManifest = {
      ...config.manifest,
      tables: config.manifest.tables.map((t) =>
        t.name === 'documents'
          ? { ...t, erasure: { mode: 'anonymize' as const, columns: ['author_id', 'title'] } }
          : t,
      ),
    };
    const input = await request(tenant, subject);
    await expect(erase(input, activities({ manifest }))).rejects.toThrow(
      /anonymizes documents\.title on erasure, but the column is NOT NULL/,
    );
    expect(await rowsOf(poolUrl(), tenant.id, subject)).toEqual({
      activity_log: 3,
      documents: 2,
      app_users: 1,
    });
    expect(await outboxOf(poolUrl(), tenant.id, input.erasureId)).toEqual([]);
  });

  it('fails, naming the table and count, rather than let a delete cascade into rows it does not cover', async () => {
    const tenant = poolTenant();
    const subject = randomUUID();
    await seed(poolUrl(), tenant.id, [{ id: subject, documents: 2, activity: 3 }]);
    // documents no longer names its subject: its rows still reference the subject's user.
    const manifest: DataPlaneManifest = {
      ...config.manifest,
      tables: config.manifest.tables.map(({ subjectKey, erasure, ...t }) =>
        t.name === 'documents'
          ? t
          : { ...t, ...(subjectKey ? { subjectKey } : {}), ...(erasure ? { erasure } : {}) },
      ),
    };
    const input = await request(tenant, subject);
    const failure = await erase(input, activities({ manifest })).catch((err: unknown) => err);
    expect(failure).toMatchObject({
      kind: 'DataRejected',
      message: expect.stringMatching(/^1 row\(s\) of the subject in table app_users are still referenced/),
      detail: { table: 'app_users', referenced: 1 },
    });
    // What could go went, with its evidence; the user and their documents' authorship stay.
    expect(await rowsOf(poolUrl(), tenant.id, subject)).toEqual({
      activity_log: 0,
      documents: 2,
      app_users: 1,
    });
    expect(
      (await outboxOf(poolUrl(), tenant.id, input.erasureId)).map((r) => [r.entry.target, r.entry.count]),
    ).toEqual([['activity_log', 3]]);
  });

  it('has the subject indexes in every database, an existing one getting them from its next migration', async () => {
    const indexes = (url: string) =>
      withClient(url, async (c) => {
        const { rows } = await c.query<{ indexdef: string }>(
          `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname IN ('documents_author', 'activity_log_actor')
            ORDER BY indexname`,
        );
        return rows.map((r) => r.indexdef.replace(/^.* USING /, ''));
      });
    const expected = ['btree (tenant_id, actor_id, id)', 'btree (tenant_id, author_id, id)'];
    expect(await indexes(poolUrl())).toEqual(expected);
    // A database migrated before 002 existed (001 only), brought up to date as a worker's start does.
    const database = `erasure_migrate_${randomBytes(3).toString('hex')}`;
    const before = mkdtempSync(join(tmpdir(), 'landlord-migrations-'));
    copyFileSync(join(config.migrationsDir, '001_core.sql'), join(before, '001_core.sql'));
    await ensureDatabase(serverUrl(region), database);
    try {
      const url = withDatabase(serverUrl(region), database);
      await withClient(url, (c) => applyApplicationMigrations(c, before));
      expect(await indexes(url)).toEqual([]);
      await withClient(url, (c) => applyApplicationMigrations(c, config.migrationsDir));
      expect(await indexes(url)).toEqual(expected);
    } finally {
      rmSync(before, { recursive: true, force: true });
      await withClient(withDatabase(serverUrl(region), 'postgres'), (c) =>
        c.query(`DROP DATABASE IF EXISTS ${q(database)} WITH (FORCE)`),
      );
    }
  });
});
