/**
 * A backup's archive (domain/backup.ts, format `tar+pgcopy`): a tar of each manifest table's COPY
 * text (text format, one row a line) cut into `tables/<table>/<000001>.copy` chunks of at most
 * 8 MiB, tables in manifest order, then `backup.json` (its manifest: checksums are known only once
 * the tables are written), the whole sealed with the tenant's data key (../keys/sealed-file.ts).
 * Here: writing one as it streams to its object store, and reading one back table by table.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BACKUP_FORMAT, LandlordError } from '../../domain/index.js';
import type { BackedUpTable, BackupManifest, TenantBackup } from '../../domain/index.js';
import { openStream, sealStream } from '../keys/index.js';
import type { TenantKeyring } from '../keys/index.js';
import type { BackupObjectStore } from './object-store.js';

/** The archive's last entry: what it says of itself. */
export const BACKUP_MANIFEST_ENTRY = 'backup.json';
/** The most COPY text one chunk entry holds: each is buffered whole, since a tar entry states its size first. */
export const BACKUP_CHUNK_BYTES = 8 * 1024 * 1024;
/** A manifest longer than this is no manifest of ours (and is not buffered further). */
const MAX_MANIFEST_BYTES = 4 << 20;
const CHUNK_ENTRY = /^tables\/([^/]+)\/(\d{6,})\.copy$/;

/** The archive entry of a table's `index`th chunk (from 1). */
export const chunkEntryName = (table: string, index: number): string =>
  `tables/${table}/${String(index).padStart(6, '0')}.copy`;

/** Rows in text-format COPY output: every row is one line, newlines in values being escaped. */
function linesIn(data: Buffer): number {
  let lines = 0;
  for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) lines++;
  return lines;
}

/** Reads `chunks` to their end, keeping nothing. */
async function drain(chunks: AsyncIterable<unknown>): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  for (;;) if ((await iterator.next()).done) return;
}

/** What writing one table into the archive found: its rows, bytes and SHA-256 of its COPY text. */
export interface WrittenTable {
  rows: number;
  bytes: number;
  sha256: string;
  chunks: number;
}

/**
 * Writes one table's COPY text into the archive; `onChunk` is told after each chunk entry (for
 * heartbeats and cancellation: it may throw).
 */
export type TableWriter = (
  table: string,
  copyText: AsyncIterable<Buffer>,
  onChunk?: (progress: { chunks: number; rows: number; bytes: number }) => void,
) => Promise<WrittenTable>;

/**
 * Makes a sealed backup archive and hands it, as it is made, to `store` (e.g. an object store's
 * put): `produce` writes the tables through the writer it is given, in manifest order, and returns
 * the manifest that closes the archive. Resolves with the sealed file's size and SHA-256 once
 * `store` has it whole; if either side fails, the other is stopped and the first error thrown.
 */
export async function writeBackupArchive({
  seal,
  mtime,
  produce,
  store,
  chunkBytes = BACKUP_CHUNK_BYTES,
}: {
  seal: { tenantId: string; keyId: string; key: Buffer };
  mtime: Date;
  produce: (table: TableWriter) => Promise<BackupManifest>;
  store: (sealed: Readable) => Promise<unknown>;
  /** Only for tests of the format. */
  chunkBytes?: number;
}): Promise<{ bytes: number; sha256: string }> {
  const pack = tar.pack();
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  let firstError: unknown;
  const fail = (err: unknown) => {
    firstError ??= err;
    pack.destroy(err as Error);
    tap.destroy(err as Error);
    throw err;
  };

  // Resolves once the pack took the entry in: the pack waits for its reader, so this is the backpressure.
  const addEntry = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      const header = { name, size: data.length, mtime, mode: 0o600 };
      if (data.length > 0) pack.entry(header, data, done);
      else pack.entry(header, done).end(undefined);
    });

  const writeTable: TableWriter = async (table, copyText, onChunk) => {
    const tableHash = createHash('sha256');
    let [rows, tableBytes, chunks, pending] = [0, 0, 0, 0];
    let parts: Buffer[] = [];
    const flush = async () => {
      const data = Buffer.concat(parts, pending);
      parts = [];
      pending = 0;
      await addEntry(chunkEntryName(table, ++chunks), data);
      onChunk?.({ chunks, rows, bytes: tableBytes });
    };
    for await (const received of copyText) {
      let data = received;
      tableHash.update(data);
      tableBytes += data.length;
      rows += linesIn(data);
      while (data.length > 0) {
        const take = Math.min(data.length, chunkBytes - pending);
        parts.push(data.subarray(0, take));
        pending += take;
        data = data.subarray(take);
        if (pending === chunkBytes) await flush();
      }
    }
    // An empty table still has its (empty) first chunk: every table is in the archive by name.
    if (pending > 0 || chunks === 0) await flush();
    return { rows, bytes: tableBytes, sha256: tableHash.digest('hex'), chunks };
  };

  const sealing = pipeline(pack, sealStream(seal), tap).catch(fail);
  const stored = store(tap).catch(fail);
  const produced = (async () => {
    const manifest = await produce(writeTable);
    await addEntry(BACKUP_MANIFEST_ENTRY, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
    pack.finalize();
  })().catch(fail);
  // Every side settles before this returns: nothing reads the tenant's database or writes afterwards.
  const settled = await Promise.allSettled([produced, sealing, stored]);
  if (settled.some((s) => s.status === 'rejected')) throw firstError;
  return { bytes, sha256: hash.digest('hex') };
}

/** One table as read from an archive: its rows (lines), bytes and SHA-256 of its COPY text. */
export interface ReadTable {
  name: string;
  rows: number;
  bytes: number;
  sha256: string;
  chunks: number;
}

/** What reading a backup's archive through found. */
export interface BackupArchiveContents {
  tables: ReadTable[];
  manifest?: BackupManifest;
  /** The sealed file's size and SHA-256; absent when it could not be read to its end. */
  file?: { bytes: number; sha256: string };
  /**
   * Each way in which the file is not the backup the catalog records: missing, damaged, altered,
   * unexpected or missing entries, counts or checksums that differ. Empty: it is whole.
   */
  problems: string[];
}

/** Whether a failure while reading is the file's (damaged or altered), not the reader's or the network's. */
function isDamage(origin: 'source' | 'open' | 'extract', err: unknown): boolean {
  if (err instanceof LandlordError) return err.kind === 'SealedFileInvalid';
  // A tar that does not parse (its bytes authenticated, so written so): an error of tar-stream's own.
  return origin === 'extract' && err instanceof Error && !('code' in err) && err.name !== 'AbortError';
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Each difference between what was read, the archive's manifest and the catalog's record. */
function differences(
  backup: TenantBackup,
  found: { tables: ReadTable[]; file: { bytes: number; sha256: string }; manifest?: BackupManifest },
): string[] {
  const out: string[] = [];
  if (found.file.sha256 !== backup.sha256) out.push("the file's SHA-256 differs from the recorded one");
  if (found.file.bytes !== backup.bytes)
    out.push(`the file holds ${found.file.bytes} bytes, not the ${backup.bytes} recorded`);
  const m = found.manifest;
  if (!m) out.push(`the archive has no ${BACKUP_MANIFEST_ENTRY}`);
  else {
    const said: [string, unknown, unknown][] = [
      ['format', m.format, BACKUP_FORMAT],
      ['tenant', m.tenantId, backup.tenantId],
      ['backup', m.backupId, backup.id],
      ['schema version', m.schemaVersion, backup.schemaVersion],
      ['snapshot time', m.takenAt, backup.takenAt],
      ['region', m.region, backup.region],
      ['deployment model', m.deploymentModel, backup.deploymentModel],
    ];
    for (const [what, inManifest, recorded] of said)
      if (inManifest !== recorded)
        out.push(
          `its ${BACKUP_MANIFEST_ENTRY} says ${what} ${JSON.stringify(inManifest)}, the catalog ${JSON.stringify(recorded)}`,
        );
  }
  const byName = <T extends { name: string }>(tables: T[] | undefined) =>
    new Map((Array.isArray(tables) ? tables : []).map((t) => [t.name, t]));
  const [inFile, inManifest, inCatalog] = [byName(found.tables), byName(m?.tables), byName(backup.tables)];
  const order = (tables: { name: string }[]) => tables.map((t) => t.name).join(', ');
  const [fileOrder, catalogOrder] = [
    order(found.tables.filter((t) => inCatalog.has(t.name))),
    order(backup.tables.filter((t) => inFile.has(t.name))),
  ];
  if (fileOrder !== catalogOrder)
    out.push(`its tables come in the order ${fileOrder}, not the catalog's ${catalogOrder}`);
  for (const name of new Set([...inCatalog.keys(), ...inManifest.keys(), ...inFile.keys()])) {
    const file = inFile.get(name);
    if (!file) {
      out.push(`${name}: no ${chunkEntryName(name, 1)} in the archive`);
      continue;
    }
    for (const [what, described] of [
      [BACKUP_MANIFEST_ENTRY, inManifest.get(name)],
      ['catalog', inCatalog.get(name)],
    ] as const) {
      if (!described) out.push(`${name}: in the archive, not in the ${what}`);
      else if (described.rows !== file.rows || described.sha256 !== file.sha256)
        out.push(
          `${name}: ${file.rows} rows in the archive, ${described.rows} in the ${what}` +
            (described.sha256 !== file.sha256 ? `, and its SHA-256 differs from the ${what}'s` : ''),
        );
    }
    const [manifestColumns, catalogColumns] = [inManifest.get(name)?.columns, inCatalog.get(name)?.columns];
    if (manifestColumns && catalogColumns && manifestColumns.join(',') !== catalogColumns.join(','))
      out.push(`${name}: its columns in ${BACKUP_MANIFEST_ENTRY} differ from the catalog's`);
  }
  return out;
}

/** Whether an object store's error says there is no such object. */
const isMissing = (err: unknown) => err instanceof LandlordError && err.kind === 'NotFound';

/**
 * Reads a backup's archive from its object store through to the end, checking it as it goes: each
 * table's chunks are handed, in order, to `consume` (as one stream of COPY text per table: e.g. a
 * `COPY … FROM STDIN`), counted (a row a line) and hashed; at the end the file's size and SHA-256,
 * the archive's manifest and every table are checked against the catalog's record. What is wrong
 * with the file comes back in `problems`, never thrown: a missing file, a damaged or altered one
 * (SealedFileInvalid), missing, unexpected or out-of-order entries, counts or checksums that
 * differ. Thrown: a destroyed key (TenantKeyDestroyed), a store or network failure, cancellation,
 * and whatever `consume` throws of its own. Each chunk reaches `consume` once authenticated, but
 * the archive is whole only when `problems` is empty at the end: a restore commits only then.
 */
export async function readBackupArchive({
  keyring,
  objects,
  backup,
  consume,
  onEntry,
  signal,
}: {
  keyring: TenantKeyring;
  objects: BackupObjectStore;
  backup: TenantBackup;
  /** Takes one table's COPY text, and must read it to its end; absent: the text is only checked. */
  consume?: (table: BackedUpTable, copyText: AsyncIterable<Buffer>) => Promise<void>;
  /** Told of each entry as it begins (heartbeats). */
  onEntry?: (name: string) => void;
  signal?: AbortSignal;
}): Promise<BackupArchiveContents> {
  if (backup.location !== objects.location)
    throw new LandlordError(
      'Misconfigured',
      `backup ${backup.id} is kept in ${backup.location}, and this worker's backups are in ${objects.location}`,
    );
  const where = `${backup.location}/${backup.objectKey}`;
  let source: Readable;
  try {
    source = await objects.get(backup.objectKey, signal);
  } catch (err) {
    if (isMissing(err)) return { tables: [], problems: [`its file ${where} is missing`] };
    throw err;
  }

  const fileHash = createHash('sha256');
  let fileBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      fileHash.update(chunk);
      fileBytes += chunk.length;
      done(null, chunk);
    },
  });
  const keys: Buffer[] = [];
  const opened = openStream(async (header) => {
    if (header.tenantId !== backup.tenantId || header.keyId !== backup.keyId)
      throw new LandlordError(
        'SealedFileInvalid',
        `sealed file: it is sealed for tenant ${header.tenantId} with key ${header.keyId}, ` +
          `not as backup ${backup.id} records (${backup.tenantId}, ${backup.keyId})`,
      );
    const key = await keyring.keyFor(header);
    keys.push(key);
    return key;
  });
  const extract = tar.extract();
  // The stream a failure started in tells whose it is: the others are only torn down with it.
  let origin: { stage: 'source' | 'open' | 'extract'; err: unknown } | undefined;
  for (const [stage, stream] of [
    ['source', source],
    ['open', opened],
    ['extract', extract],
  ] as const)
    (stream as NodeJS.EventEmitter).on('error', (err: unknown) => void (origin ??= { stage, err }));
  // Failures of reading the archive, and of the consumer: only the archive's can be the file's fault.
  let archiveFailure: unknown;
  let consumerError: unknown;
  const fromArchive = <T>(read: Promise<T>): Promise<T> =>
    read.catch((err: unknown) => {
      archiveFailure ??= err;
      throw err;
    });

  const problems: string[] = [];
  const tables: ReadTable[] = [];
  const catalog = new Map(backup.tables.map((t) => [t.name, t]));
  const unexpected: string[] = [];
  let manifestText: string | undefined;

  type Entry = Readable & { header: tar.Header };
  const entries = extract[Symbol.asyncIterator]();
  const nextEntry = () => fromArchive(entries.next() as Promise<IteratorResult<Entry>>);
  const contentsOf = async function* (entry: Entry): AsyncGenerator<Buffer> {
    const chunks = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      const next = await fromArchive(chunks.next());
      if (next.done) return;
      yield next.value;
    }
  };

  const walk = async () => {
    let current = await nextEntry();
    while (!current.done) {
      const entry = current.value;
      const { name, type } = entry.header;
      onEntry?.(name);
      const table = CHUNK_ENTRY.exec(name)?.[1];
      if (name === BACKUP_MANIFEST_ENTRY && type === 'file' && manifestText === undefined) {
        const parts: Buffer[] = [];
        let size = 0;
        for await (const data of contentsOf(entry)) {
          size += data.length;
          if (size <= MAX_MANIFEST_BYTES) parts.push(data);
        }
        manifestText = size <= MAX_MANIFEST_BYTES ? Buffer.concat(parts).toString('utf8') : '';
        current = await nextEntry();
        continue;
      }
      if (
        table === undefined ||
        type !== 'file' ||
        manifestText !== undefined ||
        tables.some((t) => t.name === table)
      ) {
        unexpected.push(name);
        await drain(contentsOf(entry));
        current = await nextEntry();
        continue;
      }

      // A run of this table's chunk entries: one stream of COPY text for the consumer.
      const read: ReadTable = { name: table, rows: 0, bytes: 0, sha256: '', chunks: 0 };
      const hash = createHash('sha256');
      let ended = false;
      const copyText = async function* (): AsyncGenerator<Buffer> {
        while (!current.done) {
          const next = current.value;
          const match = CHUNK_ENTRY.exec(next.header.name);
          if (match?.[1] !== table || next.header.type !== 'file') break;
          if (Number(match[2]) !== read.chunks + 1)
            problems.push(`${next.header.name} comes where chunk ${read.chunks + 1} of ${table} should`);
          if (read.chunks > 0) onEntry?.(next.header.name);
          read.chunks++;
          for await (const data of contentsOf(next)) {
            hash.update(data);
            read.bytes += data.length;
            read.rows += linesIn(data);
            yield data;
          }
          current = await nextEntry();
        }
        ended = true;
      };
      const described = catalog.get(table);
      try {
        if (described && consume) await consume(described, copyText());
        else await drain(copyText());
      } catch (err) {
        // The archive's own failure reaches the consumer too: that one stays the archive's.
        if (archiveFailure === undefined) consumerError ??= err;
        throw err;
      }
      if (!ended) throw new Error(`the reader of ${table} stopped before the end of its COPY text`);
      read.sha256 = hash.digest('hex');
      tables.push(read);
    }
  };

  try {
    const reading = signal
      ? pipeline(source, tap, opened, extract, { signal })
      : pipeline(source, tap, opened, extract);
    const walking = walk().catch((err: unknown) => {
      if (archiveFailure === undefined) consumerError ??= err;
      // Stops the read: nothing is left waiting on a reader that is gone.
      extract.destroy(err as Error);
      throw err;
    });
    const settled = await Promise.allSettled([reading, walking]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      if (consumerError !== undefined) throw consumerError;
      if (origin && isDamage(origin.stage, origin.err))
        return { tables, problems: [`${where} does not read back: ${messageOf(origin.err)}`] };
      throw origin?.err ?? archiveFailure ?? failed.reason;
    }
  } finally {
    for (const key of keys) key.fill(0);
    source.destroy();
  }

  let manifest: BackupManifest | undefined;
  if (manifestText !== undefined) {
    try {
      manifest = JSON.parse(manifestText) as BackupManifest;
    } catch {
      problems.push(`its ${BACKUP_MANIFEST_ENTRY} is not JSON (or is over ${MAX_MANIFEST_BYTES >> 20} MiB)`);
    }
  }
  if (unexpected.length > 0) problems.push(`unexpected entries in the archive: ${unexpected.join(', ')}`);
  const file = { bytes: fileBytes, sha256: fileHash.digest('hex') };
  problems.push(...differences(backup, { tables, file, ...(manifest ? { manifest } : {}) }));
  return { tables, ...(manifest ? { manifest } : {}), file, problems };
}
