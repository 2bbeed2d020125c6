/**
 * A tenant's export (activities/data/export.ts) on real pool and silo databases and a Postgres
 * registry: the archive decrypts to exactly the tenant's rows with the right counts and checksums,
 * verifies, and fails verification once a byte changes; the same operation makes one export
 * however often it runs; a killed attempt's leftovers go; and once the tenant's key is destroyed
 * the export no longer decrypts.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExportArchive } from '../../activities/data/export.js';
import type { ExportTenantInput } from '../../activities/data/export.js';
import { exportFilePath, tenantExportsFolder } from '../../activities/data/export-archive.js';
import { createDataActivities } from '../../activities/data/index.js';
import { localKek, TenantKeyring } from '../../activities/keys/index.js';
import { PoolDirectory } from '../../activities/pool/directory.js';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import { secureSiloDatabase, siloOwnerPassword, siloOwnerUrl } from '../../dataplane/silo.js';
import { LandlordError, siloNames } from '../../domain/index.js';
import type { TenantExport } from '../../domain/index.js';
import { connectRegistry } from '../../registry/index.js';
import type { PostgresRegistry } from '../../registry/index.js';
import { testStack } from '../support/stack.js';

const q = pg.escapeIdentifier;
const config = loadConfig({});
const region = 'local-a';
const TABLES = config.manifest.tables.map((t) => t.name);
/** The example application's latest migration (config/application/migrations/). */
const LATEST_MIGRATION = '002_subject_indexes';

type Tenant = ExportTenantInput['tenant'];

/** What an archive holds: each entry's bytes, by name, in the order written. */
async function entriesOf(archive: Readable): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const extract = tar.extract();
  const reading = (async () => {
    for await (const entry of extract) {
      const parts: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) parts.push(chunk);
      entries.set(entry.header.name, Buffer.concat(parts));
    }
  })();
  await Promise.all([pipeline(archive, extract), reading]);
  return entries;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const linesOf = (data: Buffer) =>
  data.length === 0
    ? []
    : data
        .toString('utf8')
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);

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

describe('exporting a tenant', () => {
  const secret = () => testStack().secret;
  const serverUrl = () => testStack().regionUrls[region]!;
  const poolUrl = () => withDatabase(serverUrl(), POOL_DATABASE);
  let directory: PoolDirectory;
  let registry: PostgresRegistry;
  let registryDatabase: string;
  let keyring: TenantKeyring;
  let exportsRoot: string;
  const pool: string[] = [];
  const silos: string[] = [];

  /** The data activities over this test's registry and keyring, exporting into `root`. */
  const activities = (root = exportsRoot) =>
    createDataActivities({
      directory,
      manifest: config.manifest,
      store: registry,
      secret: secret(),
      retention: config.retention,
      keyring,
      exportsRoot: root,
    });
  const exportOf = (
    tenant: Tenant,
    operationId: string,
    acts = activities(),
    env = new MockActivityEnvironment(),
  ): Promise<TenantExport> => env.run(acts.exportTenantData, { operationId, tenant });
  const verify = (tenant: Tenant, exportId: string, acts = activities()): Promise<TenantExport> =>
    new MockActivityEnvironment().run(acts.verifyTenantExport, { tenant, exportId });

  beforeAll(async () => {
    directory = new PoolDirectory(testStack().regionUrls);
    exportsRoot = mkdtempSync(join(tmpdir(), 'landlord-exports-'));
    registryDatabase = `export_registry_${randomBytes(4).toString('hex')}`;
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
    for (const id of silos) {
      const names = siloNames(id);
      await withClient(withDatabase(serverUrl(), 'postgres'), async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${q(names.database)} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.owner)}`);
        await c.query(`DROP ROLE IF EXISTS ${q(names.role)}`);
      });
    }
    await registry?.close();
    await withClient(testStack().registryServerUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${q(registryDatabase)} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${q(`${registryDatabase}_app`)}`);
    });
    await directory?.close();
    rmSync(exportsRoot, { recursive: true, force: true });
  });

  const poolTenant = (): Tenant => {
    const id = `export-${randomBytes(4).toString('hex')}`;
    pool.push(id);
    return { id, tier: 'basic', region, deploymentModel: 'pool' };
  };

  /** A silo tenant whose database exists as onboarding makes it. */
  async function siloTenant(): Promise<Tenant> {
    const id = `export-${randomBytes(4).toString('hex')}`;
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

  /** Rows in every table of the tenant, with text that JSON and tar must carry as it is. */
  async function seed(tenant: Tenant, people = 3) {
    await withClient(urlOf(tenant), async (c) => {
      const project = (
        await c.query(
          `INSERT INTO projects (tenant_id, name) VALUES ($1, 'Ünïcödé "quoted" \\ project') RETURNING id`,
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
           SELECT $1, $2, $3, 'title ' || g, E'line one\\nline two\\ttab' FROM generate_series(1, 40) g`,
          [tenant.id, project, person],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action) SELECT $1, $2, 'edit' FROM generate_series(1, 300)`,
          [tenant.id, person],
        );
      }
    });
  }

  /** The tenant's rows of a table as Postgres writes them in JSON, in primary key order. */
  const rowsOf = (tenant: Tenant, table: string) =>
    withClient(urlOf(tenant), async (c) => {
      await c.query(`SET TimeZone = 'UTC'`);
      const { rows } = await c.query<{ row: Record<string, unknown> }>(
        `SELECT row_to_json(t) AS row FROM ${q(table)} t WHERE tenant_id = $1 ORDER BY tenant_id, id`,
        [tenant.id],
      );
      return rows.map((r) => r.row);
    });

  /** Checks an archive against the database and the record: every row of the tenant, nobody else's. */
  async function expectArchiveOf(tenant: Tenant, exported: TenantExport, others: string[] = []) {
    const entries = await entriesOf(await openExportArchive({ keyring, exportsRoot, export: exported }));
    expect([...entries.keys()]).toEqual([...TABLES.map((t) => `${t}.jsonl`), 'manifest.json']);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8'));
    expect(manifest).toEqual({
      format: 'tar+jsonl',
      application: config.manifest.application,
      schemaVersion: LATEST_MIGRATION,
      tenantId: tenant.id,
      exportId: exported.id,
      exportedAt: exported.createdAt,
      tables: exported.tables,
    });
    for (const table of TABLES) {
      const file = entries.get(`${table}.jsonl`)!;
      const lines = linesOf(file);
      expect(lines, table).toEqual(await rowsOf(tenant, table));
      expect(lines.length, table).toBeGreaterThan(0);
      expect(exported.tables.find((t) => t.name === table)).toEqual({
        name: table,
        rows: lines.length,
        sha256: sha256(file),
      });
      for (const other of others) expect(file.toString('utf8')).not.toContain(other);
    }
  }

  it('writes a pool tenant’s rows, and only its rows, into an archive that decrypts, verifies, and fails once a byte changes', async () => {
    const [tenant, other] = [poolTenant(), poolTenant()];
    await seed(tenant);
    await seed(other, 2);
    const operationId = `offboard-${tenant.id}-1`;
    const exported = await exportOf(tenant, operationId);
    expect(exported).toMatchObject({
      id: expect.stringMatching(/^export_[0-9a-f]{16}$/),
      tenantId: tenant.id,
      operationId,
      format: 'tar+jsonl',
      schemaVersion: LATEST_MIGRATION,
      keyId: (await keyring.info(tenant.id))!.keyId,
    });
    expect(exported).not.toHaveProperty('verifiedAt');
    expect(exported.tables.map((t) => [t.name, t.rows])).toEqual([
      ['app_users', 3],
      ['projects', 1],
      ['documents', 120],
      ['activity_log', 900],
    ]);
    const path = exportFilePath(exportsRoot, tenant.id, exported.id);
    const sealed = readFileSync(path);
    expect({ bytes: sealed.length, sha256: sha256(sealed) }).toEqual({
      bytes: exported.bytes,
      sha256: exported.sha256,
    });
    // Sealed: none of the tenant's text is in the file as it is.
    expect(sealed.includes(Buffer.from(`p1@${tenant.id}.example`))).toBe(false);
    expect(sealed.includes(Buffer.from('manifest.json'))).toBe(false);
    expect(await registry.exports.get(tenant.id, exported.id)).toEqual(exported);
    await expectArchiveOf(tenant, exported, [other.id]);

    const verified = await verify(tenant, exported.id);
    expect(verified).toEqual({ ...exported, verifiedAt: expect.any(String) });
    expect((await registry.exports.get(tenant.id, exported.id))!.verifiedAt).toBe(verified.verifiedAt);

    // A copy with one byte flipped (anywhere past the header) fails, and the original still passes.
    const tampered = mkdtempSync(join(tmpdir(), 'landlord-exports-tampered-'));
    try {
      cpSync(tenantExportsFolder(exportsRoot, tenant.id), tenantExportsFolder(tampered, tenant.id), {
        recursive: true,
      });
      const copy = exportFilePath(tampered, tenant.id, exported.id);
      const bytes = readFileSync(copy);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      writeFileSync(copy, bytes);
      expect(await failureKind(verify(tenant, exported.id, activities(tampered)))).toBe(
        'DataVerificationFailed',
      );
    } finally {
      rmSync(tampered, { recursive: true, force: true });
    }
    expect((await verify(tenant, exported.id)).verifiedAt).toBe(verified.verifiedAt);
  });

  it('writes a silo tenant’s whole database into its archive', async () => {
    const tenant = await siloTenant();
    await seed(tenant, 2);
    const exported = await exportOf(tenant, `offboard-${tenant.id}-1`);
    expect(exported.tables.map((t) => [t.name, t.rows])).toEqual([
      ['app_users', 2],
      ['projects', 1],
      ['documents', 80],
      ['activity_log', 600],
    ]);
    await expectArchiveOf(tenant, exported);
    expect((await verify(tenant, exported.id)).verifiedAt).toEqual(expect.any(String));
  });

  it('makes one export per operation however often it runs, and removes what a killed attempt left', async () => {
    const tenant = poolTenant();
    await seed(tenant, 1);
    const operationId = `offboard-${tenant.id}-1`;
    const first = await exportOf(tenant, operationId);
    const folder = tenantExportsFolder(exportsRoot, tenant.id);
    const path = exportFilePath(exportsRoot, tenant.id, first.id);
    const before = {
      files: readdirSync(folder),
      mtimeMs: statSync(path).mtimeMs,
      sha256: sha256(readFileSync(path)),
    };

    // A worker killed mid-write leaves its part file behind; the retry removes it and finds its export.
    const leftover = `${path}.0badf00d.part`;
    writeFileSync(leftover, 'half an archive');
    const again = await exportOf(tenant, operationId);
    expect(again).toEqual(first);
    expect(existsSync(leftover)).toBe(false);
    expect({
      files: readdirSync(folder),
      mtimeMs: statSync(path).mtimeMs,
      sha256: sha256(readFileSync(path)),
    }).toEqual(before);
    expect(await registry.exports.list(tenant.id)).toEqual([first]);

    // A cancelled attempt leaves nothing: no file, no part, no record.
    const env = new MockActivityEnvironment();
    const cancelled = exportOf(tenant, `offboard-${tenant.id}-2`, activities(), env);
    env.cancel('CANCELLED');
    await expect(cancelled).rejects.toThrow(/cancel/i);
    expect(readdirSync(folder)).toEqual(before.files);
    expect(await registry.exports.list(tenant.id)).toEqual([first]);

    // Another operation makes another export, listed first.
    const second = await exportOf(tenant, `offboard-${tenant.id}-3`);
    expect(second.id).not.toBe(first.id);
    expect((await registry.exports.list(tenant.id)).map((e) => e.id)).toEqual([second.id, first.id]);

    // Another export's file in this one's place decrypts, and still fails its check.
    const swapped = mkdtempSync(join(tmpdir(), 'landlord-exports-swapped-'));
    try {
      cpSync(folder, tenantExportsFolder(swapped, tenant.id), { recursive: true });
      cpSync(path, exportFilePath(swapped, tenant.id, second.id));
      expect(await failureKind(verify(tenant, second.id, activities(swapped)))).toBe(
        'DataVerificationFailed',
      );
    } finally {
      rmSync(swapped, { recursive: true, force: true });
    }
    expect((await verify(tenant, second.id)).verifiedAt).toEqual(expect.any(String));
  });

  it('no longer decrypts once the tenant’s key is destroyed', async () => {
    const tenant = poolTenant();
    await seed(tenant, 1);
    const exported = await exportOf(tenant, `offboard-${tenant.id}-1`);
    await expectArchiveOf(tenant, exported);
    expect(await keyring.destroy(tenant.id, 'key_admin')).toBe('destroyed');
    expect(await failureKind(openExportArchive({ keyring, exportsRoot, export: exported }))).toBe(
      'TenantKeyDestroyed',
    );
    expect(await failureKind(verify(tenant, exported.id))).toBe('TenantKeyDestroyed');
    // Nor does running the operation again make a new export under no key.
    expect(await exportOf(tenant, `offboard-${tenant.id}-1`)).toEqual(exported);
    expect(await failureKind(exportOf(tenant, `offboard-${tenant.id}-2`))).toBe('TenantKeyDestroyed');
  });
});
