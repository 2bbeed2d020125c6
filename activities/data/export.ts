/**
 * A tenant's export, on the `landlord-data` queue (docs/erasure-and-offboarding.md): every
 * manifest table of the tenant read in one snapshot, written as JSON Lines into a tar with a
 * manifest of counts and checksums, sealed with the tenant's data key into its exports folder,
 * and recorded in the registry; then checked again from the file. The export's id comes from its
 * operation, so a retried or re-run step finds the export it made instead of making another, and
 * a killed attempt leaves only a `.part` file, which the next attempt removes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledFailure, Context } from '@temporalio/activity';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import tar from 'tar-stream';
import { EXPORT_FORMAT, LandlordError } from '../../domain/index.js';
import type { DataPlaneManifest, ExportedTable, TenantExport, TenantRecord } from '../../domain/index.js';
import { sealStream } from '../keys/index.js';
import type { TenantKeyring } from '../keys/index.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import {
  exportFilePath,
  fileDigest,
  isMissingExportFile,
  MANIFEST_ENTRY,
  readExportArchive,
  tableEntryName,
  tenantExportsFolder,
} from './export-archive.js';
import type { ArchiveContents, ExportManifest } from './export-archive.js';
import type { RetentionDeps } from './retention.js';
import { withTenantDatabase } from './tenant-database.js';
import { primaryKeyOf, schemaVersionOf } from '../../dataplane/table-catalog.js';

export { openExportArchive } from './export-archive.js';

const q = pg.escapeIdentifier;
/** Rows fetched per round trip while a table streams. */
const ROWS_PER_FETCH = 500;
/** Bytes of JSON Lines gathered before they go into the archive. */
const WRITE_BYTES = 64 * 1024;
/** How often a long table's stream heartbeats, so a live export is not taken for a dead one. */
const BEAT_MS = 10_000;

/** The tenant as an export needs it: where its rows are. */
type ExportedTenant = Pick<TenantRecord, 'id' | 'tier' | 'region' | 'deploymentModel'>;

/** What exporting a tenant takes: the operation the export belongs to, and where the tenant's rows are. */
export interface ExportTenantInput {
  stepRef?: StepRef;
  /** The operation the export belongs to: its id is derived from this one. */
  operationId: string;
  /** The operation's run: a retried run (months after a cancel, say) makes an export of its own. */
  run?: number;
  tenant: ExportedTenant;
}

/** What checking an export again takes: the tenant, and which of its exports. */
export interface VerifyExportInput {
  stepRef?: StepRef;
  tenant: ExportedTenant;
  exportId: string;
}

/** What the export activities are made over: the data deps, the keyring, and where exports go. */
export type ExportDeps = RetentionDeps & {
  keyring?: TenantKeyring;
  /** `<data dir>/exports` (localExportsRoot): one folder per tenant. */
  exportsRoot?: string;
};

/** The id of the export an operation makes of a tenant: the same for every attempt and run. */
export function exportIdFor(tenantId: string, operationId: string, run = 1): string {
  // Run 1 keeps the derivation exports were first made with.
  const of = run > 1 ? `${operationId}\u0000${run}` : operationId;
  const digest = createHash('sha256').update(`landlord export\u0000${tenantId}\u0000${of}`);
  return `export_${digest.digest('hex').slice(0, 16)}`;
}

/** One manifest table as this export reads it: its order, and what the snapshot holds of it. */
interface TablePlan {
  name: string;
  select: string;
  params: unknown[];
  rows: number;
  /** Bytes of its JSON Lines file: a tar entry states its size before its content. */
  bytes: number;
}

/**
 * What the export reads of each table, counted in the transaction's snapshot: a pool tenant's
 * rows (its tenant key), or a silo's whole table. Rows go in primary key order, so that the same
 * data makes the same file and checksum; each as Postgres writes it in JSON (UTC times).
 */
async function planTables(
  c: pg.ClientBase,
  manifest: DataPlaneManifest,
  tenant: ExportedTenant,
): Promise<TablePlan[]> {
  const plans: TablePlan[] = [];
  for (const table of manifest.tables) {
    const from = `public.${q(table.name)} t`;
    const [where, params] =
      tenant.deploymentModel === 'pool' ? [`WHERE t.${q(table.tenantKey)} = $1`, [tenant.id]] : ['', []];
    const key = await primaryKeyOf(c, table.name);
    // Without a primary key, the row's text is the only order the same rows always have.
    const order = key.length > 0 ? key.map((k) => `t.${q(k)}`).join(', ') : '(t.*)::text';
    // `t.*`: the whole row, even where the table has a column named t.
    const line = 'row_to_json(t.*)::text';
    const { rows } = await c.query<{ rows: string; bytes: string }>(
      `SELECT count(*) AS rows, coalesce(sum(octet_length(convert_to(${line}, 'UTF8')) + 1), 0) AS bytes
         FROM ${from} ${where}`,
      params,
    );
    plans.push({
      name: table.name,
      select: `SELECT ${line} AS line FROM ${from} ${where} ORDER BY ${order}`,
      params,
      rows: Number(rows[0]!.rows),
      bytes: Number(rows[0]!.bytes),
    });
  }
  return plans;
}

/** A file being written into a tar. */
type TarEntry = ReturnType<tar.Pack['entry']>;

/** Writes into a tar entry, waiting while it is full; fails as soon as the archive does. */
async function writeInto(entry: TarEntry, data: Buffer, archive: Promise<unknown>): Promise<void> {
  if (entry.write(data)) return;
  await Promise.race([
    new Promise<void>((resolve) => entry.once('drain', () => resolve())),
    archive.then(() => {
      throw new Error('the archive ended while a table was still being written');
    }),
  ]);
}

/** A tar entry of known size, and the promise of its end. */
function entryOf(
  pack: tar.Pack,
  header: Parameters<tar.Pack['entry']>[0],
): { entry: TarEntry; written: Promise<void> } {
  let entry!: TarEntry;
  const written = new Promise<void>((resolve, reject) => {
    entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  return { entry, written };
}

/** Removes what killed attempts left: only this tenant's operations write here, one at a time. */
async function removeLeftovers(folder: string): Promise<void> {
  for (const name of await readdir(folder))
    if (name.endsWith('.part')) await rm(join(folder, name), { force: true });
}

/** Makes a rename in `folder` durable. */
async function syncFolder(folder: string): Promise<void> {
  const dir = await open(folder, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Each difference between what the archive holds and what its manifest and the registry say. */
function differences(exported: TenantExport, found: ArchiveContents): string[] {
  const out: string[] = [];
  if (found.file.sha256 !== exported.sha256) out.push("the file's SHA-256 differs from the recorded one");
  if (found.file.bytes !== exported.bytes)
    out.push(`the file holds ${found.file.bytes} bytes, not the ${exported.bytes} recorded`);
  if (found.unexpected.length > 0) out.push(`unexpected entries: ${found.unexpected.join(', ')}`);
  const m = found.manifest;
  if (!m) out.push(`no ${MANIFEST_ENTRY}`);
  else {
    if (m.tenantId !== exported.tenantId) out.push(`its manifest names tenant ${String(m.tenantId)}`);
    if (m.exportId !== exported.id) out.push(`its manifest names export ${String(m.exportId)}`);
    if (m.schemaVersion !== exported.schemaVersion)
      out.push(`its manifest says schema ${String(m.schemaVersion)}, the registry ${exported.schemaVersion}`);
  }
  const byName = (tables: ExportedTable[] | undefined) =>
    new Map((Array.isArray(tables) ? tables : []).map((t) => [t.name, t]));
  const [inFile, inManifest, inRegistry] = [byName(found.tables), byName(m?.tables), byName(exported.tables)];
  const names = new Set([...inRegistry.keys(), ...inManifest.keys(), ...inFile.keys()]);
  for (const name of names) {
    const [file, manifest, registry] = [inFile.get(name), inManifest.get(name), inRegistry.get(name)];
    if (!file) out.push(`${name}: no ${tableEntryName(name)} in the archive`);
    else
      for (const [what, said] of [
        ['manifest', manifest],
        ['registry', registry],
      ] as const) {
        if (!said) out.push(`${name}: not in the ${what}`);
        else if (said.rows !== file.rows || said.sha256 !== file.sha256)
          out.push(
            `${name}: ${file.rows} rows in the archive, ${said.rows} in the ${what}` +
              (said.sha256 !== file.sha256 ? `, and its checksum differs from the ${what}'s` : ''),
          );
      }
  }
  return out;
}

/** The export activities: making a tenant's export, and checking it again from its file. */
export function createExportActivities(deps: ExportDeps) {
  const { directory, manifest, store, secret } = deps;
  const access = { directory, secret };

  const configured = () => {
    if (!deps.keyring || !deps.exportsRoot)
      throw new LandlordError(
        'Misconfigured',
        'this data worker makes no exports: it was started without a keyring or an exports folder',
      );
    return { keyring: deps.keyring, exportsRoot: deps.exportsRoot };
  };

  /** Whether the export's file is there with the size and checksum recorded. */
  const fileMatches = async (exportsRoot: string, exported: TenantExport) => {
    try {
      const found = await fileDigest(exportFilePath(exportsRoot, exported.tenantId, exported.id));
      return found.sha256 === exported.sha256 && found.bytes === exported.bytes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  };

  /** The recorded export as found again: its file intact, else a failure no retry mends. */
  const recordedIntact = async (exportsRoot: string, exported: TenantExport) => {
    if (await fileMatches(exportsRoot, exported)) return exported;
    throw new LandlordError(
      'DataVerificationFailed',
      `export ${exported.id} of tenant ${exported.tenantId} is recorded, but its file is missing or changed; ` +
        'run the export again under a new operation',
    );
  };

  return {
    /**
     * Exports the tenant's rows of every manifest table into one sealed archive and records it;
     * called again for the same operation, returns the export made the first time.
     */
    async exportTenantData(input: ExportTenantInput): Promise<TenantExport> {
      const { keyring, exportsRoot } = configured();
      const { tenant, operationId } = input;
      const context = Context.current();
      const exportId = exportIdFor(tenant.id, operationId, input.run);
      const folder = tenantExportsFolder(exportsRoot, tenant.id);
      const final = exportFilePath(exportsRoot, tenant.id, exportId);
      await mkdir(folder, { recursive: true, mode: 0o700 });
      await removeLeftovers(folder);
      const recorded = await store.exports.get(tenant.id, exportId);
      if (recorded) return recordedIntact(exportsRoot, recorded);

      await keyring.ensure(tenant.id);
      const { keyId, key } = await keyring.open(tenant.id);
      // Named per attempt: an attempt taken for dead that still runs cannot write into this one's file.
      const part = `${final}.${randomBytes(4).toString('hex')}.part`;
      const progress = stepProgressWriter(store, input.stepRef);
      let latest: Record<string, unknown> = { exportId };
      const beat = (details: Record<string, unknown>) => {
        latest = { exportId, ...details };
        context.heartbeat(latest);
        if (context.cancellationSignal.aborted) throw new CancelledFailure('the export was cancelled');
      };
      const beating = setInterval(() => context.heartbeat(latest), BEAT_MS);
      try {
        const written = await withTenantDatabase(access, tenant, 'export', async (c) => {
          await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          // Times in the JSON come out in UTC whatever the server's zone: the same rows, the same file.
          await c.query(`SET LOCAL TimeZone = 'UTC'`);
          const exportedAt = new Date().toISOString();
          const schemaVersion = await schemaVersionOf(c, tenant.id);
          const plans = await planTables(c, manifest, tenant);
          const mtime = new Date(exportedAt);

          const sealedHash = createHash('sha256');
          let sealedBytes = 0;
          const tap = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              sealedHash.update(chunk);
              sealedBytes += chunk.length;
              done(null, chunk);
            },
          });
          const pack = tar.pack();
          const archive = pipeline(
            pack,
            sealStream({ tenantId: tenant.id, keyId, key }),
            tap,
            // flush: the data is on disk (fsync) before the file closes and the archive counts as written.
            createWriteStream(part, { flags: 'wx', mode: 0o600, flush: true }),
            { signal: context.cancellationSignal },
          );
          const tables: ExportedTable[] = [];
          const produce = async () => {
            for (const [i, plan] of plans.entries()) {
              progress.report({ done: i, total: plans.length, current: plan.name });
              beat({ table: plan.name, rows: 0 });
              const hash = createHash('sha256');
              let rows = 0;
              const { entry, written } = entryOf(pack, {
                name: tableEntryName(plan.name),
                size: plan.bytes,
                mtime,
                mode: 0o600,
              });
              let batch: Buffer[] = [];
              let batchBytes = 0;
              const flush = async () => {
                if (batch.length === 0) return;
                await writeInto(entry, Buffer.concat(batch, batchBytes), archive);
                batch = [];
                batchBytes = 0;
                beat({ table: plan.name, rows });
              };
              const stream = c.query(
                new QueryStream(plan.select, plan.params, { batchSize: ROWS_PER_FETCH }),
              );
              for await (const row of stream as AsyncIterable<{ line: string }>) {
                const line = Buffer.from(`${row.line}\n`, 'utf8');
                hash.update(line);
                rows++;
                batch.push(line);
                batchBytes += line.length;
                if (batchBytes >= WRITE_BYTES) await flush();
              }
              await flush();
              entry.end(undefined);
              await written;
              if (rows !== plan.rows)
                throw new Error(
                  `table ${plan.name} gave ${rows} rows, not the ${plan.rows} its snapshot counted`,
                );
              tables.push({ name: plan.name, rows, sha256: hash.digest('hex') });
            }
            const contents: ExportManifest = {
              format: EXPORT_FORMAT,
              application: manifest.application,
              schemaVersion,
              tenantId: tenant.id,
              exportId,
              exportedAt,
              tables,
            };
            pack.entry(
              { name: MANIFEST_ENTRY, mtime, mode: 0o600 },
              `${JSON.stringify(contents, null, 2)}\n`,
            );
            pack.finalize();
          };
          // Both settled before anything is thrown: a file stream still opening when the other
          // side failed would create the part file after the clean-up below removed it.
          const settled = await Promise.allSettled([
            archive,
            produce().catch((err: unknown) => {
              pack.destroy(err as Error);
              throw err;
            }),
          ]);
          if (context.cancellationSignal.aborted) throw new CancelledFailure('the export was cancelled');
          // The producer's failure says why; the pipeline's is only that it was torn down.
          const failed = [settled[1], settled[0]].find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
          await c.query('COMMIT');
          return { exportedAt, schemaVersion, tables, bytes: sealedBytes, sha256: sealedHash.digest('hex') };
        });

        // An attempt taken for dead may have finished meanwhile: its export stands, this file goes.
        const raced = await store.exports.get(tenant.id, exportId);
        if (raced) return await recordedIntact(exportsRoot, raced);
        await rename(part, final);
        await syncFolder(folder);
        const exported = await store.exports.record({
          id: exportId,
          tenantId: tenant.id,
          operationId,
          createdAt: written.exportedAt,
          keyId,
          format: EXPORT_FORMAT,
          bytes: written.bytes,
          sha256: written.sha256,
          schemaVersion: written.schemaVersion,
          tables: written.tables,
        });
        await progress.finish({ done: manifest.tables.length, total: manifest.tables.length });
        return exported;
      } finally {
        clearInterval(beating);
        key.fill(0);
        await rm(part, { force: true });
        await progress.settle();
      }
    },

    /**
     * Reads the export's archive back with the tenant's key and checks it: each table file's rows
     * and SHA-256 against the archive's manifest and the registry's record, and the file's
     * SHA-256; notes it verified. A difference fails for good (DataVerificationFailed); a
     * destroyed key is TenantKeyDestroyed.
     */
    async verifyTenantExport(input: VerifyExportInput): Promise<TenantExport> {
      const { keyring, exportsRoot } = configured();
      const { tenant, exportId } = input;
      const context = Context.current();
      const exported = await store.exports.get(tenant.id, exportId);
      if (!exported)
        throw new LandlordError('NotFound', `tenant ${tenant.id} has no export ${exportId} to verify`);
      const progress = stepProgressWriter(store, input.stepRef);
      const total = manifest.tables.length + 1;
      let done = 0;
      let latest: Record<string, unknown> = { exportId };
      const beating = setInterval(() => context.heartbeat(latest), BEAT_MS);
      let found: ArchiveContents;
      try {
        found = await readExportArchive({
          keyring,
          exportsRoot,
          export: exported,
          signal: context.cancellationSignal,
          onEntry: (name) => {
            latest = { exportId, entry: name };
            context.heartbeat(latest);
            progress.report({ done: done++, total, current: name });
          },
        });
      } catch (err) {
        if (isMissingExportFile(err))
          throw new LandlordError(
            'DataVerificationFailed',
            `export ${exportId} of tenant ${tenant.id} is recorded, but its file is missing`,
          );
        if (err instanceof LandlordError && err.kind === 'SealedFileInvalid')
          throw new LandlordError(
            'DataVerificationFailed',
            `export ${exportId} of tenant ${tenant.id} failed its check: ${err.message}`,
          );
        // A tar that does not parse is a changed file too; an I/O error may pass, and is retried.
        if (
          err instanceof Error &&
          !(err instanceof LandlordError) &&
          !('code' in err) &&
          err.name !== 'AbortError'
        )
          throw new LandlordError(
            'DataVerificationFailed',
            `export ${exportId} of tenant ${tenant.id} does not read as an archive: ${err.message}`,
          );
        throw err;
      } finally {
        clearInterval(beating);
        await progress.settle();
      }
      const wrong = differences(exported, found);
      if (wrong.length > 0)
        throw new LandlordError(
          'DataVerificationFailed',
          `export ${exportId} of tenant ${tenant.id} does not match its record: ${wrong.join('; ')}`,
        );
      const verified = await store.exports.markVerified(tenant.id, exportId, new Date().toISOString());
      if (!verified) throw new LandlordError('NotFound', `tenant ${tenant.id} has no export ${exportId}`);
      return verified;
    },
  };
}

/** The export activities, as workflows proxy them. */
export type ExportActivities = ReturnType<typeof createExportActivities>;
