/**
 * Tenant backups (activities/data/backup.ts) on real pool and silo databases, a Postgres registry
 * and a local backup store: an archive decrypts to exactly the tenant's rows of one snapshot, with
 * the counts and checksums the catalog records; the same operation makes one backup; a restore
 * verification restores it into a scratch database and reads it back equal, and reports a changed
 * or missing file as not ok; scratch databases are closed to tenants and never left behind.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupObjectStoreFrom } from '../../activities/backups/index.js';
import { LocalBackupObjectStore } from '../../activities/backups/local-object-store.js';
import type { BackupObjectStore } from '../../activities/backups/object-store.js';
import {
  createScratchDatabase,
  dropScratchDatabase,
  sweepScratchDatabases,
  withScratchDatabase,
} from '../../activities/backups/scratch-database.js';
import type { BackupVerificationResult, TakeBackupInput } from '../../activities/data/backup.js';
import { createDataActivities } from '../../activities/data/index.js';
import { localKek, openStream, TenantKeyring } from '../../activities/keys/index.js';
import { PoolDirectory } from '../../activities/pool/directory.js';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { secureSiloDatabase, siloOwnerPassword, siloOwnerUrl } from '../../dataplane/silo.js';
import { LandlordError, siloNames } from '../../domain/index.js';
import type { BackupManifest, TenantBackup } from '../../domain/index.js';
import { connectRegistry } from '../../registry/index.js';
import type { PostgresRegistry } from '../../registry/index.js';
import { MinioServer } from '../support/minio.js';
import { testStack } from '../support/stack.js';

const q = pg.escapeIdentifier;
const config = loadConfig({});
const region = 'local-a';
const TABLES = config.manifest.tables.map((t) => t.name);
/** The example application's latest migration (config/application/migrations/). */
const LATEST_MIGRATION = '002_subject_indexes';
const DAY_MS = 86_400_000;

type Tenant = TakeBackupInput['tenant'];

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The kind of the LandlordError `promise` rejects with. */
async function failureKind(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LandlordError) return err.kind;
    throw err;
  }
  throw new Error('it did not fail');
}

/** A promise and what settles it. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('backing a tenant up', () => {
  const secret = () => testStack().secret;
  const serverUrl = () => testStack().regionUrls[region]!;
  const poolUrl = () => withDatabase(serverUrl(), POOL_DATABASE);
  let directory: PoolDirectory;
  let registry: PostgresRegistry;
  let registryDatabase: string;
  let keyring: TenantKeyring;
  let backupsRoot: string;
  let objects: LocalBackupObjectStore;
  const pool: string[] = [];
  const silos: string[] = [];
  const roles: string[] = [];

  /** The data activities over this test's registry and keyring, keeping backups in `store`. */
  const activities = (store: BackupObjectStore = objects) =>
    createDataActivities({
      directory,
      manifest: config.manifest,
      store: registry,
      secret: secret(),
      retention: config.retention,
      keyring,
      backups: store,
      migrationsDir: config.migrationsDir,
    });
  const backUp = (
    tenant: Tenant,
    operationId: string,
    acts = activities(),
    env = new MockActivityEnvironment(),
  ): Promise<TenantBackup> => env.run(acts.takeTenantBackup, { operationId, tenant, retentionDays: 30 });
  const verify = (backup: TenantBackup, acts = activities()): Promise<BackupVerificationResult> =>
    new MockActivityEnvironment().run(acts.verifyBackupRestore, {
      tenantId: backup.tenantId,
      backupId: backup.id,
    });
  const scratchDatabases = () =>
    withClient(withDatabase(serverUrl(), 'postgres'), async (c) =>
      (
        await c.query<{ datname: string }>(
          `SELECT datname FROM pg_database WHERE datname LIKE 'landlord\\_scratch\\_%'`,
        )
      ).rows.map((r) => r.datname),
    );

  beforeAll(async () => {
    directory = new PoolDirectory(testStack().regionUrls);
    backupsRoot = mkdtempSync(join(tmpdir(), 'landlord-backups-'));
    objects = new LocalBackupObjectStore(backupsRoot);
    registryDatabase = `backup_registry_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(testStack().registryServerUrl, registryDatabase);
    registry = connectRegistry(withDatabase(testStack().registryServerUrl, registryDatabase), 4);
    await registry.migrate();
    keyring = new TenantKeyring({ store: registry.tenantKeys, kek: localKek(secret()) });
  });
  afterAll(async () => {
    await withClient(poolUrl(), async (c) => {
      for (const table of [...TABLES].reverse())
        await c.query(`DELETE FROM ${q(table)} WHERE tenant_id = ANY($1)`, [pool]);
    });
    await withClient(withDatabase(serverUrl(), 'postgres'), async (c) => {
      for (const id of silos) {
        const names = siloNames(id);
        await c.query(`DROP DATABASE IF EXISTS ${q(names.database)} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.owner)}`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.role)}`);
      }
      for (const role of roles) await c.query(`DROP ROLE IF EXISTS ${q(role)}`);
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
    const id = `backup-${randomBytes(4).toString('hex')}`;
    pool.push(id);
    return { id, tier: 'basic', region, deploymentModel: 'pool' };
  };

  /** A silo tenant whose database exists as onboarding makes it. */
  async function siloTenant(): Promise<Tenant> {
    const id = `backup-${randomBytes(4).toString('hex')}`;
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

  const urlOf = (tenant: Tenant) =>
    tenant.deploymentModel === 'pool' ? poolUrl() : siloOwnerUrl(serverUrl(), region, tenant.id, secret());

  /** Rows in every table of the tenant, with text COPY must escape and carry as it is. */
  async function seed(tenant: Tenant, { people = 3, bodyBytes = 0, documents = 40, actions = 300 } = {}) {
    await withClient(urlOf(tenant), async (c) => {
      const project = (
        await c.query(
          `INSERT INTO projects (tenant_id, name) VALUES ($1, E'Ünïcödé "quoted" \\\\ back\\\\slash\\ttab') RETURNING id`,
          [tenant.id],
        )
      ).rows[0].id as string;
      for (let i = 0; i < people; i++) {
        const person = randomUUID();
        await c.query(`INSERT INTO app_users (tenant_id, id, email, display_name) VALUES ($1, $2, $3, $4)`, [
          tenant.id,
          person,
          `p${i}@${tenant.id}.example`,
          i === 0 ? null : `Person ${i} 👩‍💻`,
        ]);
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
           SELECT $1, $2, $3, 'title ' || g, E'line one\\nline two\\ttab\\r' || repeat(md5(g::text), $5)
             FROM generate_series(1, $4) g`,
          [tenant.id, project, person, documents, Math.ceil(bodyBytes / 32)],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action) SELECT $1, $2, 'edit' FROM generate_series(1, $3)`,
          [tenant.id, person, actions],
        );
      }
    });
  }

  /** The ids of the tenant's rows of a table, as text, in the database now. */
  const idsOf = (tenant: Tenant, table: string) =>
    withClient(urlOf(tenant), async (c) =>
      (
        await c.query<{ id: string }>(
          `SELECT id::text AS id FROM ${q(table)} WHERE tenant_id = $1 ORDER BY id`,
          [tenant.id],
        )
      ).rows.map((r) => r.id),
    );

  /** The backup's archive, decrypted with the tenant's key: each entry's bytes by name, in order. */
  async function entriesOf(backup: TenantBackup, store: BackupObjectStore = objects) {
    const entries = new Map<string, Buffer>();
    const extract = tar.extract();
    const reading = (async () => {
      for await (const entry of extract) {
        const parts: Buffer[] = [];
        for await (const chunk of entry as AsyncIterable<Buffer>) parts.push(chunk);
        entries.set(entry.header.name, Buffer.concat(parts));
      }
    })();
    const sealed: Readable = await store.get(backup.objectKey);
    await Promise.all([
      pipeline(
        sealed,
        openStream((h) => keyring.keyFor(h)),
        extract,
      ),
      reading,
    ]);
    return entries;
  }

  /** A table's COPY text in the archive: its chunks, in order. */
  const copyTextOf = (entries: Map<string, Buffer>, table: string) =>
    Buffer.concat(
      [...entries.entries()].filter(([name]) => name.startsWith(`tables/${table}/`)).map(([, data]) => data),
    );

  /** The COPY text's rows, each a list of its (escaped) fields. */
  const rowsOf = (text: Buffer) =>
    text.length === 0
      ? []
      : text
          .toString('utf8')
          .replace(/\n$/, '')
          .split('\n')
          .map((line) => line.split('\t'));

  /**
   * Checks an archive against the catalog and the database: every table in order and then the
   * manifest; each table exactly the tenant's rows (by id), counted and hashed as recorded.
   */
  async function expectArchiveOf(
    tenant: Tenant,
    backup: TenantBackup,
    others: string[] = [],
    store: BackupObjectStore = objects,
  ) {
    const entries = await entriesOf(backup, store);
    const names = [...entries.keys()];
    expect(names.at(-1)).toBe('backup.json');
    expect([...new Set(names.slice(0, -1).map((n) => n.split('/')[1]))]).toEqual(TABLES);
    for (const name of names.slice(0, -1)) expect(name).toMatch(/^tables\/[a-z_]+\/\d{6}\.copy$/);
    const manifest = JSON.parse(entries.get('backup.json')!.toString('utf8')) as BackupManifest;
    expect(manifest).toEqual({
      format: 'tar+pgcopy',
      application: config.manifest.application,
      schemaVersion: LATEST_MIGRATION,
      tenantId: tenant.id,
      backupId: backup.id,
      takenAt: backup.takenAt,
      region: tenant.region,
      deploymentModel: tenant.deploymentModel,
      tables: backup.tables,
    });
    for (const table of backup.tables) {
      const text = copyTextOf(entries, table.name);
      const rows = rowsOf(text);
      const idAt = table.columns.indexOf('id');
      expect(table.columns[0], table.name).toBe('tenant_id');
      expect(
        rows.every((r) => r[0] === tenant.id),
        table.name,
      ).toBe(true);
      expect(rows.map((r) => r[idAt]!).sort(), table.name).toEqual((await idsOf(tenant, table.name)).sort());
      expect(rows.every((r) => r.length === table.columns.length)).toBe(true);
      expect({ rows: rows.length, sha256: sha256(text) }, table.name).toEqual({
        rows: table.rows,
        sha256: table.sha256,
      });
      for (const other of others) expect(text.toString('utf8')).not.toContain(other);
    }
    return entries;
  }

  it('backs up a pool tenant’s rows, and only its rows, with the counts and checksums the catalog records', async () => {
    const [tenant, other] = [poolTenant(), poolTenant()];
    await seed(tenant);
    await seed(other, { people: 2 });
    const operationId = `backup-${tenant.id}-1`;
    const backup = await backUp(tenant, operationId);
    expect(backup).toMatchObject({
      id: expect.stringMatching(/^backup_[0-9a-f]{16}$/),
      tenantId: tenant.id,
      operationId,
      region,
      deploymentModel: 'pool',
      keyId: (await keyring.info(tenant.id))!.keyId,
      format: 'tar+pgcopy',
      location: 'local',
      objectKey: `${tenant.id}/${backup.id}.backup`,
      schemaVersion: LATEST_MIGRATION,
      status: 'available',
    });
    expect(Date.parse(backup.expiresAt) - Date.parse(backup.takenAt)).toBe(30 * DAY_MS);
    expect(backup.tables.map((t) => [t.name, t.rows])).toEqual([
      ['app_users', 3],
      ['projects', 1],
      ['documents', 120],
      ['activity_log', 900],
    ]);
    expect(backup.tables.find((t) => t.name === 'documents')!.columns).toEqual([
      'tenant_id',
      'id',
      'project_id',
      'author_id',
      'title',
      'body',
      'created_at',
      'updated_at',
    ]);
    expect(await registry.backups.get(tenant.id, backup.id)).toEqual(backup);
    const sealed = readFileSync(join(backupsRoot, backup.objectKey));
    expect({ bytes: sealed.length, sha256: sha256(sealed) }).toEqual({
      bytes: backup.bytes,
      sha256: backup.sha256,
    });
    // Sealed: none of the tenant's text is in the file as it is.
    expect(sealed.includes(Buffer.from(`p1@${tenant.id}.example`))).toBe(false);
    expect(sealed.includes(Buffer.from('backup.json'))).toBe(false);
    const entries = await expectArchiveOf(tenant, backup, [other.id]);
    // Values as COPY text writes them: escapes for tabs, newlines and backslashes, UTC times.
    const projects = copyTextOf(entries, 'projects').toString('utf8');
    expect(projects).toContain('Ünïcödé "quoted" \\\\ back\\\\slash\\ttab');
    expect(copyTextOf(entries, 'documents').toString('utf8')).toContain('line one\\nline two\\ttab\\r');
    expect(projects).toMatch(/\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00\n$/);
  });

  it('holds the rows of its snapshot: none committed after it began, and those deleted after it', async () => {
    const tenant = poolTenant();
    // Documents beyond a chunk and the streams' buffers: the backup waits inside them for its store.
    await seed(tenant, { people: 1, documents: 5000, bodyBytes: 2500 });
    const before = {
      activity: await idsOf(tenant, 'activity_log'),
      projects: await idsOf(tenant, 'projects'),
    };

    // A store that does not read the archive until let go: the snapshot is taken by then.
    const putStarted = deferred();
    const letGo = deferred();
    const gated: BackupObjectStore = {
      location: objects.location,
      head: (key) => objects.head(key),
      get: (key, signal) => objects.get(key, signal),
      delete: (key) => objects.delete(key),
      put: async (key, body, signal) => {
        putStarted.resolve();
        await letGo.promise;
        return objects.put(key, body, signal);
      },
    };
    const writer = new pg.Client({ connectionString: poolUrl() });
    await writer.connect();
    try {
      // Uncommitted when the backup begins, committed while it runs.
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'in flight')`, [
        tenant.id,
      ]);
      const taking = backUp(tenant, `backup-${tenant.id}-1`, activities(gated));
      await putStarted.promise;
      await writer.query('COMMIT');
      const { rows } = await writer.query<{ at: Date }>(`SELECT clock_timestamp() AS at`);
      await writer.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'after')`, [tenant.id]);
      await writer.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'after')`, [tenant.id]);
      await writer.query(`DELETE FROM activity_log WHERE tenant_id = $1 AND id = $2`, [
        tenant.id,
        before.activity[0],
      ]);
      letGo.resolve();
      const backup = await taking;

      expect(Date.parse(backup.takenAt)).toBeLessThan(rows[0]!.at.getTime());
      // The database changed meanwhile, so that a backup read outside one snapshot would differ.
      expect((await idsOf(tenant, 'activity_log')).length).toBe(before.activity.length + 1);
      expect(await idsOf(tenant, 'activity_log')).not.toContain(before.activity[0]);
      const entries = await entriesOf(backup);
      const ids = (table: string, idAt: number) =>
        rowsOf(copyTextOf(entries, table))
          .map((r) => r[idAt]!)
          .sort();
      expect(ids('activity_log', 1)).toEqual([...before.activity].sort());
      expect(ids('projects', 1)).toEqual([...before.projects].sort());
      expect(backup.tables.find((t) => t.name === 'documents')!.rows).toBe(5000);
      expect([...entries.keys()].filter((n) => n.startsWith('tables/documents/')).length).toBeGreaterThan(1);
    } finally {
      letGo.resolve();
      await writer.end();
    }
  });

  it('backs up a silo tenant’s whole database', async () => {
    const tenant = await siloTenant();
    await seed(tenant, { people: 2 });
    const backup = await backUp(tenant, `backup-${tenant.id}-1`);
    expect(backup.deploymentModel).toBe('silo');
    expect(backup.tables.map((t) => [t.name, t.rows])).toEqual([
      ['app_users', 2],
      ['projects', 1],
      ['documents', 80],
      ['activity_log', 600],
    ]);
    await expectArchiveOf(tenant, backup);
  });

  it('makes one backup per operation however often it runs, and none when cancelled', async () => {
    const tenant = poolTenant();
    await seed(tenant, { people: 1 });
    const operationId = `backup-${tenant.id}-1`;
    const first = await backUp(tenant, operationId);
    const folder = join(backupsRoot, tenant.id);
    const path = join(backupsRoot, first.objectKey);
    const before = {
      files: readdirSync(folder),
      mtimeMs: statSync(path).mtimeMs,
      sha256: sha256(readFileSync(path)),
    };

    expect(await backUp(tenant, operationId)).toEqual(first);
    expect({
      files: readdirSync(folder),
      mtimeMs: statSync(path).mtimeMs,
      sha256: sha256(readFileSync(path)),
    }).toEqual(before);
    expect(await registry.backups.list(tenant.id)).toEqual([first]);

    // A cancelled attempt leaves no file and no record.
    const env = new MockActivityEnvironment();
    const cancelled = backUp(tenant, `backup-${tenant.id}-2`, activities(), env);
    env.cancel('CANCELLED');
    await expect(cancelled).rejects.toThrow(/cancel/i);
    expect(readdirSync(folder)).toEqual(before.files);
    expect(await registry.backups.list(tenant.id)).toEqual([first]);

    // Another run of the operation makes another backup.
    const second: TenantBackup = await new MockActivityEnvironment().run(activities().takeTenantBackup, {
      operationId,
      run: 2,
      tenant,
      retentionDays: 30,
    });
    expect(second.id).not.toBe(first.id);
    expect(readdirSync(folder).sort()).toEqual([`${first.id}.backup`, `${second.id}.backup`].sort());

    // Recorded, but its file overwritten with one of the same size (a zombie attempt's, say): the
    // retry finds it by its SHA-256, not taken for the backup recorded.
    const overwritten = readFileSync(path);
    overwritten[overwritten.length - 1]! ^= 0x01;
    writeFileSync(path, overwritten);
    await expect(backUp(tenant, operationId)).rejects.toMatchObject({
      kind: 'DataVerificationFailed',
      message: expect.stringContaining(`its SHA-256 is ${sha256(overwritten)}, not ${first.sha256}`),
    });

    // Recorded, but its file gone: the operation cannot make it again.
    rmSync(path);
    expect(await failureKind(backUp(tenant, operationId))).toBe('DataVerificationFailed');
  });

  it('verifies pool and silo backups by restoring them into a scratch database, which it drops', async () => {
    const [tenant, other] = [poolTenant(), poolTenant()];
    await seed(tenant);
    await seed(other, { people: 1 });
    const silo = await siloTenant();
    await seed(silo, { people: 2 });
    for (const t of [tenant, silo]) {
      const backup = await backUp(t, `backup-${t.id}-1`);
      const result = await verify(backup);
      expect(result).toMatchObject({ backupId: backup.id, tenantId: t.id, ok: true, problems: [] });
      expect(result.restoreMs).toBeGreaterThan(0);
      expect(result.tables).toEqual(
        backup.tables.map((table) => ({
          name: table.name,
          rows: table.rows,
          expectedRows: table.rows,
          sha256: table.sha256,
          expectedSha256: table.sha256,
        })),
      );
      expect((await registry.backups.get(t.id, backup.id))!.verifiedAt).toBe(result.finishedAt);
    }
    expect(await scratchDatabases()).toEqual([]);
  });

  it('reports a backup whose file changed or is missing as not ok, and drops its scratch database', async () => {
    const tenant = poolTenant();
    await seed(tenant, { people: 1 });
    const backup = await backUp(tenant, `backup-${tenant.id}-1`);
    const tampered = mkdtempSync(join(tmpdir(), 'landlord-backups-tampered-'));
    try {
      cpSync(join(backupsRoot, tenant.id), join(tampered, tenant.id), { recursive: true });
      const copy = join(tampered, backup.objectKey);
      const bytes = readFileSync(copy);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      writeFileSync(copy, bytes);
      const changed = await verify(backup, activities(new LocalBackupObjectStore(tampered)));
      expect(changed.ok).toBe(false);
      expect(changed.problems).toEqual([
        expect.stringMatching(/does not read back: sealed file: chunk \d+ failed/),
      ]);
      expect(changed.problems[0]).toContain(backup.objectKey);
      expect(await scratchDatabases()).toEqual([]);

      rmSync(copy);
      const missing = await verify(backup, activities(new LocalBackupObjectStore(tampered)));
      expect(missing.ok).toBe(false);
      expect(missing.problems).toEqual([`its file local/${backup.objectKey} is missing`]);
      expect(await scratchDatabases()).toEqual([]);
    } finally {
      rmSync(tampered, { recursive: true, force: true });
    }
    expect((await registry.backups.get(tenant.id, backup.id))!.verifiedAt).toBeUndefined();
    expect((await verify(backup)).ok).toBe(true);
  });

  it('keeps tenants out of scratch databases, drops them whatever the work did, and sweeps old ones', async () => {
    const probe = `scratch_probe_${randomBytes(4).toString('hex')}`;
    roles.push(probe);
    await withClient(withDatabase(serverUrl(), 'postgres'), (c) =>
      c.query(`CREATE ROLE ${q(probe)} LOGIN PASSWORD 'probe-password'`),
    );
    const asProbe = (database: string) => {
      const u = new URL(withDatabase(serverUrl(), database));
      u.username = probe;
      u.password = 'probe-password';
      return u.toString();
    };
    let made = '';
    await expect(
      withScratchDatabase(serverUrl(), async (url, database) => {
        made = database;
        expect(await scratchDatabases()).toContain(database);
        expect(await withClient(url, async (c) => (await c.query('SELECT 1 AS one')).rows[0].one)).toBe(1);
        const refused = await withClient(asProbe(database), () => Promise.resolve('connected')).catch(
          (err: { code?: string; message: string }) => err,
        );
        expect(refused).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    expect(made).toMatch(/^landlord_scratch_\d+_[0-9a-f]{8}$/);
    expect(await scratchDatabases()).not.toContain(made);

    const old = `landlord_scratch_${Math.floor(Date.now() / 1000) - 7200}_${randomBytes(4).toString('hex')}`;
    await withClient(withDatabase(serverUrl(), 'postgres'), (c) => c.query(`CREATE DATABASE ${q(old)}`));
    const fresh = await createScratchDatabase(serverUrl());
    try {
      expect(await sweepScratchDatabases(serverUrl(), 3_600_000)).toEqual([old]);
      expect(await scratchDatabases()).toEqual([fresh]);
    } finally {
      await dropScratchDatabase(serverUrl(), fresh);
    }
    expect(await scratchDatabases()).toEqual([]);
  });

  // The S3 path on a real S3-compatible server, configured as an operator would: the URL, and the
  // AWS SDK's own environment for the endpoint and credentials.
  it('keeps a backup in an S3 bucket (MinIO): taken, read back, verified, multipart', async () => {
    const minio = await MinioServer.start(['landlord-backups']);
    const saved = { ...process.env };
    Object.assign(process.env, minio.env());
    try {
      const store = backupObjectStoreFrom({ url: 's3://landlord-backups/dr/backups', dataDir: backupsRoot });
      expect(store.location).toBe('s3://landlord-backups/dr/backups');
      const tenant = poolTenant();
      // Over 8 MiB sealed: the upload goes in parts.
      await seed(tenant, { people: 2, documents: 300, bodyBytes: 16_384 });
      const backup = await backUp(tenant, `backup-${tenant.id}-s3`, activities(store));
      expect(backup).toMatchObject({ location: 's3://landlord-backups/dr/backups' });
      expect(backup.bytes).toBeGreaterThan(8 * 1024 * 1024);
      // The object is where the catalog says, in the bucket, and not in the local folder.
      const client = minio.client();
      const head = await client.send(
        new HeadObjectCommand({ Bucket: 'landlord-backups', Key: `dr/backups/${backup.objectKey}` }),
      );
      client.destroy();
      expect(head.ContentLength).toBe(backup.bytes);
      expect(head.ETag).toMatch(/-\d+"?$/);
      expect(await objects.head(backup.objectKey)).toBeUndefined();
      await expectArchiveOf(tenant, backup, [], store);
      const verified = await verify(backup, activities(store));
      expect(verified).toMatchObject({ ok: true, problems: [] });
      // Taken again by the same operation: the same backup, not a second object.
      expect(await backUp(tenant, `backup-${tenant.id}-s3`, activities(store))).toEqual(
        expect.objectContaining({ id: backup.id, sha256: backup.sha256 }),
      );
      await store.delete(backup.objectKey);
      expect(await store.head(backup.objectKey)).toBeUndefined();
      expect((await verify(backup, activities(store))).ok).toBe(false);
    } finally {
      process.env = saved;
      await minio.stop();
    }
  });

  // Its activity_log's COPY text is over 8 MiB: several chunks, read back in order. (Throughput is
  // measured by `npm run bench -- dr`, not here.)
  it('backs up and verifies a tenant of 200,000 rows, a table in several chunks', async () => {
    const tenant = poolTenant();
    await seed(tenant, { people: 1, documents: 1, actions: 200_000 });
    const backup = await backUp(tenant, `backup-${tenant.id}-1`);
    const rows = backup.tables.reduce((n, t) => n + t.rows, 0);
    expect(rows).toBe(200_003);
    const chunks = [...(await entriesOf(backup)).keys()].filter((n) => n.startsWith('tables/activity_log/'));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks).toEqual([...chunks].sort());
    const result = await verify(backup);
    expect(result.ok).toBe(true);
  });
});
