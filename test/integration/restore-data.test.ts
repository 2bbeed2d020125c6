/**
 * Restoring a tenant from its backup (activities/data/restore.ts) on real pool and silo databases,
 * a Postgres registry and a local backup store: the tenant's rows come back exactly as backed up
 * and nobody else's change; erasures made after the backup are applied again, with evidence in the
 * ledger under the restore's operation; a legal hold or a damaged backup changes nothing; a
 * retried switch answers as the first did and restores nothing twice.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackupObjectStore } from '../../activities/backups/local-object-store.js';
import type { TakeBackupInput } from '../../activities/data/backup.js';
import { createDataActivities } from '../../activities/data/index.js';
import type { StageRestoreInput, SwitchedRestore } from '../../activities/data/restore.js';
import { localKek, TenantKeyring } from '../../activities/keys/index.js';
import { PoolDirectory } from '../../activities/pool/directory.js';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { siloRestoreNames } from '../../dataplane/restore-databases.js';
import { secureSiloDatabase, siloOwnerPassword, siloOwnerUrl } from '../../dataplane/silo.js';
import { LandlordError, siloNames } from '../../domain/index.js';
import type { TenantBackup } from '../../domain/index.js';
import { connectRegistry } from '../../registry/index.js';
import type { PostgresRegistry } from '../../registry/index.js';
import { testStack } from '../support/stack.js';

const q = pg.escapeIdentifier;
const config = loadConfig({});
const region = 'local-a';
const TABLES = config.manifest.tables.map((t) => t.name);

type Tenant = TakeBackupInput['tenant'];
type Rows = Record<string, string[]>;

/** The LandlordError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<LandlordError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LandlordError) return err;
    throw err;
  }
  throw new Error('it did not fail');
}

describe('restoring a tenant from its backup', () => {
  const secret = () => testStack().secret;
  const serverUrl = () => testStack().regionUrls[region]!;
  const poolUrl = () => withDatabase(serverUrl(), POOL_DATABASE);
  let directory: PoolDirectory;
  let registry: PostgresRegistry;
  let registryDatabase: string;
  let keyring: TenantKeyring;
  let backupsRoot: string;
  const pool: string[] = [];
  const silos: string[] = [];

  const activities = () =>
    createDataActivities({
      directory,
      manifest: config.manifest,
      store: registry,
      secret: secret(),
      retention: config.retention,
      keyring,
      backups: new LocalBackupObjectStore(backupsRoot),
      migrationsDir: config.migrationsDir,
    });
  const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
    new MockActivityEnvironment().run(fn, ...args);
  const backUp = (tenant: Tenant): Promise<TenantBackup> =>
    run(activities().takeTenantBackup, {
      operationId: `backup-${tenant.id}-${randomBytes(3).toString('hex')}`,
      tenant,
      retentionDays: 30,
    });
  const restoreInput = (tenant: Tenant, backup: TenantBackup): StageRestoreInput => ({
    operationId: `restore-${tenant.id}-${randomBytes(3).toString('hex')}`,
    run: 1,
    tenant,
    backupId: backup.id,
    requestedBy: 'key_operator',
  });
  /** Stages and switches a restore, as the restore operation does. */
  async function restore(input: StageRestoreInput): Promise<SwitchedRestore> {
    const acts = activities();
    const staged = await run(acts.stageTenantRestore, input);
    return run(acts.switchRestoredTenant, {
      ...input,
      ...(staged.stagedDatabase ? { stagedDatabase: staged.stagedDatabase } : {}),
    });
  }

  beforeAll(async () => {
    directory = new PoolDirectory(testStack().regionUrls);
    backupsRoot = mkdtempSync(join(tmpdir(), 'landlord-restore-'));
    registryDatabase = `restore_registry_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(testStack().registryServerUrl, registryDatabase);
    registry = connectRegistry(withDatabase(testStack().registryServerUrl, registryDatabase), 4);
    await registry.migrate();
    keyring = new TenantKeyring({ store: registry.tenantKeys, kek: localKek(secret()) });
  });
  afterAll(async () => {
    await withClient(poolUrl(), async (c) => {
      for (const table of [...TABLES].reverse())
        await c.query(`DELETE FROM ${q(table)} WHERE tenant_id = ANY($1)`, [pool]);
      await c.query('DELETE FROM landlord.deletion_outbox WHERE tenant_id = ANY($1)', [pool]);
      await c.query(
        `DO $$ BEGIN
           IF to_regclass('landlord.restores') IS NOT NULL THEN
             DELETE FROM landlord.restores WHERE tenant_id = ANY(${pg.escapeLiteral(`{${pool.join(',')}}`)});
           END IF;
         END $$`,
      );
    });
    await withClient(withDatabase(serverUrl(), 'postgres'), async (c) => {
      for (const id of silos) {
        const names = siloNames(id);
        for (const db of await siloDatabasesOf(id))
          await c.query(`DROP DATABASE IF EXISTS ${q(db)} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.owner)}`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.role)}`);
      }
    });
    await registry?.close();
    await withClient(testStack().registryServerUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${q(registryDatabase)} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${q(`${registryDatabase}_app`)}`);
    });
    await directory?.close();
    rmSync(backupsRoot, { recursive: true, force: true });
  });

  const poolTenant = (): Tenant => {
    const id = `restore-${randomBytes(4).toString('hex')}`;
    pool.push(id);
    return { id, tier: 'basic', region, deploymentModel: 'pool' };
  };

  /** A silo tenant whose database exists as onboarding makes it. */
  async function siloTenant(): Promise<Tenant> {
    const id = `restore-${randomBytes(4).toString('hex')}`;
    const names = siloNames(id);
    await withClient(withDatabase(serverUrl(), 'postgres'), (c) =>
      c.query(`CREATE ROLE ${q(names.role)} NOLOGIN`),
    );
    silos.push(id);
    await ensureDatabase(serverUrl(), names.database);
    await secureSiloDatabase(serverUrl(), {
      database: names.database,
      role: names.role,
      owner: names.owner,
      ownerPassword: siloOwnerPassword(secret(), region, id),
    });
    await withClient(siloOwnerUrl(serverUrl(), region, id, secret()), (c) =>
      applyApplicationMigrations(c, config.migrationsDir),
    );
    return { id, tier: 'premium', region, deploymentModel: 'silo' };
  }

  /** The silo's database and every restore database named after it. */
  const siloDatabasesOf = (tenantId: string) =>
    withClient(withDatabase(serverUrl(), 'postgres'), async (c) => {
      const live = siloNames(tenantId).database;
      const { rows } = await c.query<{ datname: string }>(
        `SELECT datname::text AS datname FROM pg_database
          WHERE datname::text = $1 OR starts_with(datname::text, $1 || '$') ORDER BY 1`,
        [live],
      );
      return rows.map((r) => r.datname);
    });

  const urlOf = (tenant: Tenant) =>
    tenant.deploymentModel === 'pool' ? poolUrl() : siloOwnerUrl(serverUrl(), region, tenant.id, secret());

  /** People of the tenant, each with a user row, documents they wrote and activity they caused. */
  async function seed(tenant: Tenant, people: { id: string; documents: number; activity: number }[]) {
    await withClient(urlOf(tenant), async (c) => {
      const project = (
        await c.query(
          `INSERT INTO projects (tenant_id, name) VALUES ($1, E'Ünïcödé \\\\ tab\\there') RETURNING id`,
          [tenant.id],
        )
      ).rows[0].id as string;
      for (const p of people) {
        await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
          tenant.id,
          p.id,
          `${p.id}@example.com`,
        ]);
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
           SELECT $1, $2, $3, 'title ' || i, E'line\\nbreak ' || md5(i::text) FROM generate_series(1, $4) i`,
          [tenant.id, project, p.id, p.documents],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action)
           SELECT $1, $2, 'edit' FROM generate_series(1, $3)`,
          [tenant.id, p.id, p.activity],
        );
      }
    });
  }
  const people = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: randomUUID(), documents: 5 + i, activity: 20 + i }));

  /** Every row of the tenant per table, as Postgres writes the row, in id order. */
  const rowsOf = (tenant: Tenant): Promise<Rows> =>
    withClient(urlOf(tenant), async (c) => {
      const rows: Rows = {};
      for (const table of TABLES)
        rows[table] = (
          await c.query<{ r: string }>(
            `SELECT (t.*)::text AS r FROM ${q(table)} t WHERE tenant_id = $1 ORDER BY id`,
            [tenant.id],
          )
        ).rows.map((r) => r.r);
      return rows;
    });

  /** Changes a tenant's rows every way: updated, deleted and added. */
  const scribble = (tenant: Tenant) =>
    withClient(urlOf(tenant), async (c) => {
      await c.query(`UPDATE documents SET title = 'changed' WHERE tenant_id = $1`, [tenant.id]);
      await c.query(
        `DELETE FROM activity_log WHERE tenant_id = $1 AND id IN
           (SELECT id FROM activity_log WHERE tenant_id = $1 ORDER BY id LIMIT 7)`,
        [tenant.id],
      );
      await c.query(
        `DELETE FROM app_users WHERE tenant_id = $1 AND id = (SELECT id FROM app_users WHERE tenant_id = $1 ORDER BY id LIMIT 1)`,
        [tenant.id],
      );
      await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'new')`, [tenant.id]);
      await c.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'new')`, [tenant.id]);
    });

  it('brings a pool tenant’s rows back exactly, and leaves its neighbour’s untouched', async () => {
    const [tenant, neighbour] = [poolTenant(), poolTenant()];
    await seed(tenant, people(3));
    await seed(neighbour, people(2));
    const original = await rowsOf(tenant);
    const backup = await backUp(tenant);
    await scribble(tenant);
    expect(await rowsOf(tenant)).not.toEqual(original);
    await scribble(neighbour);
    const neighbourBefore = await rowsOf(neighbour);

    const input = restoreInput(tenant, backup);
    const staged = await run(activities().stageTenantRestore, input);
    // Nothing staged for a pool: its rows are replaced at the switch, in one transaction.
    expect(staged.stagedDatabase).toBeUndefined();
    expect(staged.tables.map((t) => [t.name, t.rows, t.expectedRows])).toEqual(
      backup.tables.map((t) => [t.name, t.rows, t.rows]),
    );
    const switched = await run(activities().switchRestoredTenant, input);
    expect(switched).toMatchObject({ erasuresChecked: 0, erasuresReapplied: 0, rowsErased: 0 });
    expect(switched.tables).toEqual(
      backup.tables.map((t) => ({ name: t.name, rows: t.rows, expectedRows: t.rows })),
    );
    expect(await rowsOf(tenant)).toEqual(original);
    expect(await rowsOf(neighbour)).toEqual(neighbourBefore);

    // The tenant's sequence moved past the restored rows: new rows get new ids.
    await withClient(poolUrl(), (c) =>
      c.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'after')`, [tenant.id]),
    );
  });

  it('brings a silo tenant back from its staging database, which takes the live one’s place', async () => {
    const tenant = await siloTenant();
    await seed(tenant, people(3));
    const original = await rowsOf(tenant);
    const backup = await backUp(tenant);
    await scribble(tenant);
    const input = restoreInput(tenant, backup);
    const names = siloRestoreNames(tenant.id, input.operationId, 1);

    const staged = await run(activities().stageTenantRestore, input);
    expect(staged).toMatchObject({ stagedDatabase: names.staged, erasuresReapplied: 0, rowsErased: 0 });
    expect(await siloDatabasesOf(tenant.id)).toEqual([names.live, names.staged].sort());
    // Staged, not live: the tenant's rows are still as they were changed.
    expect(await rowsOf(tenant)).not.toEqual(original);
    // No tenant may connect to the staging database.
    const closed = await withClient(withDatabase(serverUrl(), 'postgres'), (c) =>
      c.query<{ role: boolean; pub: boolean }>(
        `SELECT has_database_privilege($1, oid, 'CONNECT') AS role,
                has_database_privilege('public', oid, 'CONNECT') AS pub
           FROM pg_database WHERE datname = $2`,
        [siloNames(tenant.id).role, names.staged],
      ),
    );
    expect(closed.rows[0]).toEqual({ role: false, pub: false });
    // Staged again (a retried attempt): the complete staging database is found, not made again.
    expect(await run(activities().stageTenantRestore, input)).toEqual(staged);

    const switched = await run(activities().switchRestoredTenant, { ...input, stagedDatabase: names.staged });
    expect(switched.tables).toEqual(staged.tables);
    expect(await rowsOf(tenant)).toEqual(original);
    // No staging or pre-restore database left: only the live one.
    expect(await siloDatabasesOf(tenant.id)).toEqual([names.live]);

    // The tenant's role logs in and reads its restored rows, and still cannot reach Landlord's schema.
    const { role } = siloNames(tenant.id);
    await withClient(withDatabase(serverUrl(), 'postgres'), (c) =>
      c.query(`ALTER ROLE ${q(role)} LOGIN PASSWORD 'restored-tenant'`),
    );
    const asTenant = new URL(withDatabase(serverUrl(), names.live));
    asTenant.username = role;
    asTenant.password = 'restored-tenant';
    await withClient(asTenant.toString(), async (c) => {
      const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM documents');
      expect(rows[0]!.n).toBe(original.documents!.length);
      await c.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'back')`, [tenant.id]);
      await expect(c.query('SELECT * FROM landlord.restores')).rejects.toMatchObject({ code: '42501' });
      await expect(c.query('SELECT * FROM landlord.deletion_outbox')).rejects.toMatchObject({
        code: '42501',
      });
    });
  });

  it.each(['pool', 'silo'] as const)(
    'erases again in a %s restore what was erased after the backup, with evidence under the restore',
    async (model) => {
      const tenant = model === 'pool' ? poolTenant() : await siloTenant();
      const [subject, someone] = [randomUUID(), randomUUID()];
      await seed(tenant, [
        { id: subject, documents: 6, activity: 30 },
        { id: someone, documents: 3, activity: 4 },
      ]);
      const backup = await backUp(tenant);
      const sized = Object.fromEntries(backup.tables.map((t) => [t.name, t.rows]));

      // The subject's erasure, as the erase-subject operation makes it.
      const now = new Date();
      const erasure = await registry.erasures.create({
        tenantId: tenant.id,
        subject,
        reason: 'Art. 17 request',
        receivedAt: now.toISOString(),
        dueBy: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
        requestedBy: 'key_privacy',
      });
      const subjectHmac = await keyring.subjectHmac(tenant.id, subject);
      const acts = activities();
      const erased = await run(acts.eraseSubjectData, {
        operationId: `op-${erasure.id}`,
        erasureId: erasure.id,
        tenant,
        store: 'primary',
        subjectHmac,
        requestedBy: 'key_privacy',
      });
      // Its evidence is still in the tenant's outbox when the restore begins: a silo's switch
      // forwards the outbox of the database it replaces, so none of it is lost with that database.
      await registry.erasures.complete(tenant.id, erasure.id, { subjectHmac, counts: erased.counts });
      // Someone else erased too, with nothing in the backup: looked for, and found nowhere.
      const absent = randomUUID();
      const nobody = await registry.erasures.create({
        tenantId: tenant.id,
        subject: absent,
        reason: 'Art. 17 request',
        receivedAt: now.toISOString(),
        dueBy: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
        requestedBy: 'key_privacy',
      });
      await registry.erasures.complete(tenant.id, nobody.id, {
        subjectHmac: await keyring.subjectHmac(tenant.id, absent),
        counts: [],
      });

      const input = restoreInput(tenant, backup);
      const switched = await restore(input);
      expect(switched).toMatchObject({ erasuresChecked: 2, erasuresReapplied: 1, rowsErased: 30 + 6 + 1 });
      expect(switched.tables).toEqual([
        { name: 'app_users', rows: sized.app_users! - 1, expectedRows: sized.app_users! - 1 },
        { name: 'projects', rows: sized.projects!, expectedRows: sized.projects! },
        { name: 'documents', rows: sized.documents!, expectedRows: sized.documents! },
        { name: 'activity_log', rows: sized.activity_log! - 30, expectedRows: sized.activity_log! - 30 },
      ]);
      await withClient(urlOf(tenant), async (c) => {
        const n = async (sql: string) =>
          ((await c.query(sql, [tenant.id, subject])).rows[0] as { n: number }).n;
        expect(await n('SELECT count(*)::int AS n FROM app_users WHERE tenant_id = $1 AND id = $2')).toBe(0);
        expect(
          await n('SELECT count(*)::int AS n FROM activity_log WHERE tenant_id = $1 AND actor_id = $2'),
        ).toBe(0);
        expect(
          await n('SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1 AND author_id = $2'),
        ).toBe(0);
        // Anonymized, not gone: the subject's documents stay without their author.
        expect(
          await n(
            'SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1 AND author_id IS NULL AND $2::text IS NOT NULL',
          ),
        ).toBe(6);
        expect(
          await n('SELECT count(*)::int AS n FROM activity_log WHERE tenant_id = $1 AND actor_id <> $2'),
        ).toBe(4);
      });

      // The evidence goes to the ledger under the restore's operation, naming the subject by HMAC only.
      expect(await acts.forwardDeletionEvidence({ tenant })).toBeGreaterThanOrEqual(6);
      const records = await registry.ledger.list({ tenantId: tenant.id, limit: 1000 });
      const original = records.filter((r) => r.operationId === `op-${erasure.id}`);
      expect(original.reduce((n, r) => n + r.count, 0)).toBe(37);
      const ledger = records.filter(
        (r) => r.operationId === input.operationId && r.kind !== 'restore.replace',
      );
      expect(ledger.every((r) => r.recordKey.startsWith(`restore:${input.operationId}:1:`))).toBe(true);
      const ofSubject = ledger.filter((r) => r.subjectHmac === subjectHmac);
      expect(ofSubject.reduce((n, r) => n + r.count, 0)).toBe(37);
      expect(new Set(ofSubject.map((r) => `${r.kind} ${r.target}`))).toEqual(
        new Set(['erasure.delete activity_log', 'erasure.anonymize documents', 'erasure.delete app_users']),
      );
      expect(ledger.filter((r) => r.subjectHmac !== subjectHmac).map((r) => r.count)).toEqual([0, 0, 0]);
      expect(
        ledger.every(
          (r) =>
            r.requestedBy === 'key_operator' &&
            r.database === (model === 'pool' ? POOL_DATABASE : siloNames(tenant.id).database),
        ),
      ).toBe(true);
      expect(JSON.stringify(ledger).toLowerCase()).not.toContain(subject.toLowerCase());
      expect(await registry.ledger.verify()).toMatchObject({ ok: true });
    },
  );

  it.each(['pool', 'silo'] as const)(
    'records in the ledger, once, the rows of each table a %s restore replaced',
    async (model) => {
      const tenant = model === 'pool' ? poolTenant() : await siloTenant();
      await seed(tenant, people(3));
      const backup = await backUp(tenant);
      await scribble(tenant);
      const replaced = Object.entries(await rowsOf(tenant)).map(([table, rows]) => [table, rows.length]);
      const input = restoreInput(tenant, backup);
      await restore(input);
      const acts = activities();
      // A retried switch (and, for a silo, a finish whose pre-restore database is gone) adds nothing.
      await run(acts.switchRestoredTenant, input);
      expect(await acts.forwardDeletionEvidence({ tenant })).toBe(replaced.length);
      await run(acts.switchRestoredTenant, input);
      expect(await acts.forwardDeletionEvidence({ tenant })).toBe(0);

      const records = await registry.ledger.list({
        tenantId: tenant.id,
        kind: 'restore.replace',
        limit: 100,
      });
      const database = model === 'pool' ? POOL_DATABASE : siloNames(tenant.id).database;
      expect(records.map((r) => [r.target, r.count]).sort()).toEqual(replaced.sort());
      for (const r of records)
        expect(r).toMatchObject({
          region,
          database,
          unit: 'rows',
          dataClass: config.manifest.tables.find((t) => t.name === r.target)!.dataClass,
          operationId: input.operationId,
          requestedBy: 'key_operator',
          policy: { backupId: backup.id, takenAt: backup.takenAt },
          recordKey: `restore.replace:${input.operationId}:1:${r.target}`,
        });
      expect(await registry.ledger.verify()).toMatchObject({ ok: true });
    },
  );

  it('refuses under a legal hold, naming it, and changes nothing', async () => {
    for (const tenant of [poolTenant(), await siloTenant()]) {
      await seed(tenant, people(2));
      const backup = await backUp(tenant);
      await scribble(tenant);
      const before = await rowsOf(tenant);
      const hold = await registry.legalHolds.place({
        tenantId: tenant.id,
        reason: 'litigation',
        dataClasses: ['telemetry'],
        createdBy: 'key_legal',
      });
      const input = restoreInput(tenant, backup);
      const acts = activities();
      for (const attempt of [
        () => run(acts.stageTenantRestore, input),
        () => run(acts.switchRestoredTenant, input),
      ]) {
        const refused = await failure(attempt());
        expect(refused.kind).toBe('PolicyViolation');
        expect(refused.message).toContain(`restore would overwrite rows under legal hold(s) ${hold.id}`);
      }
      expect(await rowsOf(tenant)).toEqual(before);
      if (tenant.deploymentModel === 'silo') expect(await siloDatabasesOf(tenant.id)).toHaveLength(1);

      // A backup of the tenant as a pool tenant is no backup of it as a silo tenant.
      await registry.legalHolds.release(tenant.id, hold.id, { releasedBy: 'key_legal', reason: 'settled' });
      const moved: Tenant = {
        ...tenant,
        tier: tenant.deploymentModel === 'pool' ? 'premium' : 'basic',
        deploymentModel: tenant.deploymentModel === 'pool' ? 'silo' : 'pool',
      };
      const refused = await failure(run(activities().stageTenantRestore, { ...input, tenant: moved }));
      expect(refused.kind).toBe('PolicyViolation');
      expect(refused.message).toContain(`as a ${tenant.deploymentModel} tenant`);
      expect(
        (
          await failure(
            run(activities().stageTenantRestore, { ...input, backupId: 'backup_0000000000000000' }),
          )
        ).kind,
      ).toBe('NotFound');
    }
  });

  it('leaves the tenant as it was when the backup is damaged, and the compensation drops the staging database', async () => {
    for (const tenant of [poolTenant(), await siloTenant()]) {
      await seed(tenant, people(2));
      const backup = await backUp(tenant);
      await scribble(tenant);
      const before = await rowsOf(tenant);
      const file = join(backupsRoot, backup.objectKey);
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      writeFileSync(file, bytes);

      const input = restoreInput(tenant, backup);
      expect((await failure(run(activities().stageTenantRestore, input))).kind).toBe(
        'DataVerificationFailed',
      );
      if (tenant.deploymentModel === 'pool') {
        // The switch's one transaction deleted the tenant's rows before the damage showed: undone.
        expect((await failure(run(activities().switchRestoredTenant, input))).kind).toBe(
          'DataVerificationFailed',
        );
      } else {
        const { staged } = siloRestoreNames(tenant.id, input.operationId, 1);
        expect(await siloDatabasesOf(tenant.id)).toContain(staged);
        expect((await failure(run(activities().switchRestoredTenant, input))).kind).toBe('NotFound');
      }
      expect(await rowsOf(tenant)).toEqual(before);
      await run(activities().discardStagedRestore, {
        tenant,
        operationId: input.operationId,
        run: 1,
      });
      await run(activities().discardStagedRestore, { tenant, operationId: input.operationId, run: 1 });
      if (tenant.deploymentModel === 'silo')
        expect(await siloDatabasesOf(tenant.id)).toEqual([siloNames(tenant.id).database]);
      expect(await rowsOf(tenant)).toEqual(before);
    }
  });

  it('answers a retried switch as the first, restoring nothing over newer writes', async () => {
    for (const tenant of [poolTenant(), await siloTenant()]) {
      await seed(tenant, people(2));
      const original = await rowsOf(tenant);
      const backup = await backUp(tenant);
      await scribble(tenant);
      const input = restoreInput(tenant, backup);
      const first = await restore(input);
      expect(await rowsOf(tenant)).toEqual(original);
      await withClient(urlOf(tenant), (c) =>
        c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'written after the restore')`, [
          tenant.id,
        ]),
      );
      const after = await rowsOf(tenant);
      const again = await run(activities().switchRestoredTenant, input);
      expect(again).toEqual(first);
      expect(await rowsOf(tenant)).toEqual(after);
      // And staging it again after the switch stages nothing over the live rows either.
      await run(activities().stageTenantRestore, input);
      expect(await rowsOf(tenant)).toEqual(after);
      if (tenant.deploymentModel === 'silo')
        expect(await siloDatabasesOf(tenant.id)).toEqual([siloNames(tenant.id).database]);
    }
  });
  it('finishes a silo switch cut short before its renames or after them, or undoes it', async () => {
    const tenant = await siloTenant();
    await seed(tenant, people(2));
    const original = await rowsOf(tenant);
    const backup = await backUp(tenant);
    await scribble(tenant);
    const scribbled = await rowsOf(tenant);
    const asSuperuser = (sql: string) =>
      withClient(withDatabase(serverUrl(), 'postgres'), (c) => c.query(sql));

    // Cut short after closing the live database: the compensation opens it again, as it was.
    const undone = restoreInput(tenant, backup);
    const first = siloRestoreNames(tenant.id, undone.operationId, 1);
    await run(activities().stageTenantRestore, undone);
    await asSuperuser(`ALTER DATABASE ${q(first.live)} ALLOW_CONNECTIONS false`);
    await run(activities().discardStagedRestore, { tenant, stagedDatabase: first.staged });
    expect(await siloDatabasesOf(tenant.id)).toEqual([first.live]);
    expect(await rowsOf(tenant)).toEqual(scribbled);

    // The same, retried: the switch goes on from there.
    const retried = restoreInput(tenant, backup);
    const second = siloRestoreNames(tenant.id, retried.operationId, 1);
    await run(activities().stageTenantRestore, retried);
    await asSuperuser(`ALTER DATABASE ${q(second.live)} ALLOW_CONNECTIONS false`);
    const switched = await run(activities().switchRestoredTenant, retried);
    expect(await rowsOf(tenant)).toEqual(original);
    expect(await siloDatabasesOf(tenant.id)).toEqual([second.live]);

    // Cut short right after the renames: a retry knows the restored database by its mark and only
    // finishes (secures it, drops the pre-restore database) with the result recorded.
    await scribble(tenant);
    const renamed = restoreInput(tenant, backup);
    const third = siloRestoreNames(tenant.id, renamed.operationId, 1);
    await run(activities().stageTenantRestore, renamed);
    await withClient(
      withDatabase(siloOwnerUrl(serverUrl(), region, tenant.id, secret()), third.staged),
      (c) => c.query('UPDATE landlord.restores SET switched_at = now()'),
    );
    await asSuperuser(
      `BEGIN; ALTER DATABASE ${q(third.live)} RENAME TO ${q(third.preRestore)};
       ALTER DATABASE ${q(third.staged)} RENAME TO ${q(third.live)}; COMMIT`,
    );
    expect(await siloDatabasesOf(tenant.id)).toEqual([third.live, third.preRestore].sort());
    const finished = await run(activities().switchRestoredTenant, renamed);
    expect(finished.tables).toEqual(switched.tables);
    expect(await siloDatabasesOf(tenant.id)).toEqual([third.live]);
    expect(await rowsOf(tenant)).toEqual(original);
  });
});
