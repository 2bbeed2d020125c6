/**
 * Backups in a folder of this machine (`<data dir>/backups`), the default location: one file per
 * object at `<root>/<key>`. A put writes a private `.part` file beside its target and renames it
 * into place once every byte is on disk, so a reader sees the whole file or none.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LandlordError } from '../../domain/index.js';
import type { BackupObjectStore } from './object-store.js';

/** One path segment of an object key: letters, digits, `.`, `_` and `-` (and not `.` or `..`). */
const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/;
/** The longest key S3 and GCS both accept (bytes, and a valid key is ASCII). */
const MAX_KEY_LENGTH = 1024;

/** Where local backups are kept: the `backups` folder of the data dir. */
export const localBackupsRoot = (dataDir: string): string => join(dataDir, 'backups');

/**
 * The segments of `key`, or a LandlordError `ValidationFailed` when it is not a relative path of
 * plain segments. Every store checks keys this way, so a key valid in one location is valid in all.
 */
export function backupKeySegments(key: string): string[] {
  const segments = key.split('/');
  const plain = (segment: string) => KEY_SEGMENT.test(segment) && segment !== '.' && segment !== '..';
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !segments.every(plain))
    throw new LandlordError(
      'ValidationFailed',
      `backup object key ${JSON.stringify(key)} is not a relative path of [A-Za-z0-9._-] segments`,
    );
  return segments;
}

const errorCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

/** Makes what was written in `folder` (a rename, a new entry) survive a crash. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A pass-through that counts the bytes going by (every store reports the bytes a put wrote). */
export function byteCounter(): { stream: Transform; bytes: () => number } {
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes };
}

/** Backups as files under a folder of this machine. */
export class LocalBackupObjectStore implements BackupObjectStore {
  readonly location = 'local';

  /** A store over `root`, normally `localBackupsRoot(dataDir)`; folders are made as needed. */
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    return join(this.root, ...backupKeySegments(key));
  }

  async put(key: string, body: Readable, signal?: AbortSignal): Promise<{ bytes: number }> {
    const path = this.pathOf(key);
    const folder = dirname(path);
    const made = await mkdir(folder, { recursive: true, mode: 0o700 });
    // A new folder is an entry of its parent: sync that too, or a crash could lose the folder.
    if (made) await syncFolder(dirname(made));
    const part = `${path}.${randomBytes(8).toString('hex')}.part`;
    const counter = byteCounter();
    try {
      // Opened before the pipeline starts, so that a failure at once still finds the file to remove.
      const file = await open(part, 'wx', 0o600);
      // The pipeline settles once the stream has closed its file, and `flush` syncs before that.
      await pipeline(body, counter.stream, file.createWriteStream({ flush: true }), { signal });
      signal?.throwIfAborted();
      await rename(part, path);
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
    await syncFolder(folder);
    return { bytes: counter.bytes() };
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    const path = this.pathOf(key);
    let file;
    try {
      file = await open(path, 'r');
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR')
        throw new LandlordError('NotFound', `backup object ${key} is not in the local backups folder`);
      throw err;
    }
    return file.createReadStream({ signal });
  }

  async head(key: string): Promise<{ bytes: number } | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { bytes: info.size } : undefined;
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const segments = backupKeySegments(key);
    await rm(join(this.root, ...segments), { force: true });
    // Remove the folders the key made (the tenant's, normally) once they are empty.
    for (let depth = segments.length - 1; depth > 0; depth--) {
      try {
        await rmdir(join(this.root, ...segments.slice(0, depth)));
      } catch (err) {
        if (errorCode(err) === 'ENOTEMPTY' || errorCode(err) === 'EEXIST') return;
        if (errorCode(err) !== 'ENOENT') throw err;
      }
    }
  }
}
