/**
 * A tenant export's archive on disk: `<exports root>/<tenant>/<export id>.tar.sealed`, a tar of one
 * `<table>.jsonl` per manifest table and `manifest.json` last (its checksums are known only once
 * the tables are written), sealed with the tenant's data key (../keys/sealed-file.ts). Here: where
 * an archive lives, what its manifest says, and how it is opened and checked again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { LandlordError } from '../../domain/index.js';
import type { EXPORT_FORMAT, ExportedTable, TenantExport } from '../../domain/index.js';
import { openStream, readSealedHeader } from '../keys/index.js';
import type { TenantKeyring } from '../keys/index.js';

/** The archive entry that describes the others. */
export const MANIFEST_ENTRY = 'manifest.json';
/** A manifest longer than this is no manifest of ours (and is not buffered further). */
const MAX_MANIFEST_BYTES = 1 << 20;
/** Enough of a sealed file's start to hold its whole header line. */
const HEADER_PROBE_BYTES = 8192;

/** What `manifest.json` in an archive says. */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  /** The application the manifest of tables belongs to (config/application/manifest.json). */
  application: string;
  schemaVersion: string;
  tenantId: string;
  exportId: string;
  exportedAt: string;
  tables: ExportedTable[];
}

/** The folder under which a data folder keeps its exports, one folder per tenant inside. */
export function localExportsRoot(dataDir: string): string {
  return join(dataDir, 'exports');
}

/** The folder of one tenant's exports. */
export function tenantExportsFolder(exportsRoot: string, tenantId: string): string {
  return join(exportsRoot, tenantId);
}

/** Where an export's sealed archive is. */
export function exportFilePath(exportsRoot: string, tenantId: string, exportId: string): string {
  return join(tenantExportsFolder(exportsRoot, tenantId), `${exportId}.tar.sealed`);
}

/** The archive entry of a table's rows. */
export const tableEntryName = (table: string) => `${table}.jsonl`;

/** SHA-256 (hex) and size of a file, read as a stream. */
export async function fileDigest(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

const missingFile = (exported: TenantExport) =>
  new LandlordError(
    'Misconfigured',
    `export ${exported.id} of tenant ${exported.tenantId} is recorded, but its file is not in the exports ` +
      'folder here: this process must see the data workers’ data folder (LANDLORD_DATA_DIR), or the file was removed',
    { exportId: exported.id, missingFile: true },
  );

/** Whether an error is openSealedArchive's for an export whose file is not there. */
export function isMissingExportFile(err: unknown): boolean {
  return err instanceof LandlordError && err.detail?.missingFile === true;
}

/**
 * The export's archive decrypted, as a tar stream that fails on anything altered. Resolves once
 * the tenant's key is found and the archive's first chunk has been authenticated, so that what
 * is wrong at the start (no key, another file, a changed one) is an error here, not a broken
 * stream: a destroyed key is TenantKeyDestroyed, a missing file Misconfigured (isMissingExportFile),
 * a file that is not the export's SealedFileInvalid. `onSealed` sees every byte of the file as read.
 */
async function openSealedArchive(
  keyring: TenantKeyring,
  exportsRoot: string,
  exported: TenantExport,
  onSealed?: (chunk: Buffer) => void,
): Promise<Readable> {
  // The key first: once it is destroyed the export is gone, whether its file is there or not.
  const { keyId, key } = await keyring.open(exported.tenantId);
  let file: FileHandle | undefined;
  let source: Readable | undefined;
  try {
    if (keyId !== exported.keyId)
      throw new LandlordError(
        'SealedFileInvalid',
        `export ${exported.id} was sealed with key ${exported.keyId}, not tenant ${exported.tenantId}'s key ${keyId}`,
      );
    try {
      file = await open(exportFilePath(exportsRoot, exported.tenantId, exported.id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missingFile(exported);
      throw err;
    }
    const { size } = await file.stat();
    if (size !== exported.bytes)
      throw new LandlordError(
        'SealedFileInvalid',
        `export ${exported.id}'s file holds ${size} bytes, not the ${exported.bytes} recorded: it was changed or cut short`,
      );
    const probe = Buffer.alloc(Math.min(size, HEADER_PROBE_BYTES));
    await file.read(probe, 0, probe.length, 0);
    const header = await readSealedHeader(probe);
    if (header.tenantId !== exported.tenantId || header.keyId !== exported.keyId)
      throw new LandlordError(
        'SealedFileInvalid',
        `export ${exported.id}'s file is sealed for tenant ${header.tenantId} with key ${header.keyId}, not as recorded`,
      );
    source = file.createReadStream({ start: 0 });
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        onSealed?.(chunk);
        done(null, chunk);
      },
    });
    const opened = openStream(async () => key);
    // The stream's end is where the caller learns whether the file held up: errors travel there.
    pipeline(source, tap, opened).catch(() => undefined);
    const chunks = opened[Symbol.asyncIterator]();
    const first = await chunks.next();
    // The file's own key is derived from the data key by now: the data key may go.
    key.fill(0);
    const decrypted = new Readable({
      read() {
        chunks.next().then(
          (next) => void this.push(next.done ? null : (next.value as Buffer)),
          (err: Error) => this.destroy(err),
        );
      },
      destroy(err, done) {
        // Ends the read of the file too (the pipeline above closes it).
        opened.destroy();
        done(err);
      },
    });
    decrypted.push(first.done ? null : (first.value as Buffer));
    return decrypted;
  } catch (err) {
    key.fill(0);
    source?.destroy();
    if (!source) await file?.close().catch(() => undefined);
    throw err;
  }
}

/** The export's archive decrypted: a tar stream (see openSealedArchive for what fails, and when). */
export async function openExportArchive({
  keyring,
  exportsRoot,
  export: exported,
}: {
  keyring: TenantKeyring;
  exportsRoot: string;
  export: TenantExport;
}): Promise<Readable> {
  return openSealedArchive(keyring, exportsRoot, exported);
}

/** What reading an archive through found: each table file's rows and checksum, its manifest, the file's. */
export interface ArchiveContents {
  tables: ExportedTable[];
  manifest?: ExportManifest;
  /** Entries that are neither a table file nor the manifest, or appear twice. */
  unexpected: string[];
  file: { sha256: string; bytes: number };
}

/**
 * Reads an export's archive through to its end: every table file counted (JSON Lines: a row per
 * line) and hashed, the manifest parsed, the sealed file hashed as it is read. `onEntry` is told of
 * each entry as it begins (heartbeats); `signal` stops the read.
 */
export async function readExportArchive({
  keyring,
  exportsRoot,
  export: exported,
  onEntry,
  signal,
}: {
  keyring: TenantKeyring;
  exportsRoot: string;
  export: TenantExport;
  onEntry?: (name: string) => void;
  signal?: AbortSignal;
}): Promise<ArchiveContents> {
  const fileHash = createHash('sha256');
  let fileBytes = 0;
  const plain = await openSealedArchive(keyring, exportsRoot, exported, (chunk) => {
    fileHash.update(chunk);
    fileBytes += chunk.length;
  });
  const extract = tar.extract();
  const tables: ExportedTable[] = [];
  const unexpected: string[] = [];
  let manifestText: string | undefined;
  const seen = new Set<string>();
  const reading = (async () => {
    for await (const entry of extract) {
      const { name } = entry.header;
      onEntry?.(name);
      const again = seen.has(name);
      seen.add(name);
      if (name === MANIFEST_ENTRY && !again) {
        const parts: Buffer[] = [];
        let size = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > MAX_MANIFEST_BYTES)
            throw new LandlordError('SealedFileInvalid', `the archive's ${MANIFEST_ENTRY} is over 1 MiB`);
          parts.push(chunk);
        }
        manifestText = Buffer.concat(parts).toString('utf8');
      } else if (name.endsWith('.jsonl') && !again && entry.header.type === 'file') {
        const hash = createHash('sha256');
        let rows = 0;
        let last = 0x0a;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          hash.update(chunk);
          for (const byte of chunk) if (byte === 0x0a) rows++;
          if (chunk.length > 0) last = chunk[chunk.length - 1]!;
        }
        // A last line without its newline is a row too (and a file that differs from ours).
        if (last !== 0x0a) rows++;
        tables.push({ name: name.slice(0, -'.jsonl'.length), rows, sha256: hash.digest('hex') });
      } else {
        unexpected.push(name);
        entry.resume();
      }
    }
  })();
  await Promise.all([signal ? pipeline(plain, extract, { signal }) : pipeline(plain, extract), reading]);
  let manifest: ExportManifest | undefined;
  if (manifestText !== undefined) {
    try {
      manifest = JSON.parse(manifestText) as ExportManifest;
    } catch {
      throw new LandlordError('SealedFileInvalid', `the archive's ${MANIFEST_ENTRY} is not JSON`);
    }
  }
  return {
    tables,
    ...(manifest ? { manifest } : {}),
    unexpected,
    file: { sha256: fileHash.digest('hex'), bytes: fileBytes },
  };
}
