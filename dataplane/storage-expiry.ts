/**
 * Deleting a local silo's expired storage objects (retention runs; docs/retention.md): the files
 * under each manifest storage prefix of the tenant's folder whose last write is older than the
 * prefix's data class keeps them. AWS and GCP silos have the same rule applied natively by their
 * buckets' lifecycle configuration (pulumi/aws, pulumi/gcp). An erasure takes a data subject's
 * folder with the same batches, whatever the files' age (activities/data/erasure.ts).
 *
 * A file system has no transaction to put a deletion and its evidence in, so a batch goes in four
 * moves. Its ledger entry is written down in the tenant database. Each file still due (a regular
 * file in the tenant's folder, no link followed, still older than the cutoff) is renamed into the
 * batch's own staging folder, outside the tenant's folder: a rename is atomic, so a file is taken
 * by one batch only, and what the staging folder holds is exactly what the batch took. Then, in
 * one transaction, the outbox record counting the staging folder's files is written and the entry
 * cleared. Last, the staging folder is removed. A worker killed anywhere in between loses nothing
 * and records nothing twice: the next attempt first finishes every written-down batch from what
 * its staging folder holds, and removes staging folders whose batch is recorded.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, opendir, readdir, realpath, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type pg from 'pg';
import type { LedgerEntry } from '../domain/index.js';

/** One file under a prefix: its key (path below the tenant's folder, with `/`) and last write. */
export interface StorageObject {
  key: string;
  modifiedMs: number;
}

/** Where a tenant's files are, and where its batches stage the files they take. */
export interface StorageFolders {
  /** The tenant's folder. */
  root: string;
  /** A folder of Landlord's own for the tenant's batches, on the same file system, outside `root`. */
  staging: string;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The file of a key, refusing any key that could point outside the tenant's folder. */
function objectPath(root: string, key: string): string {
  const segments = key.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new Error(`storage key ${JSON.stringify(key)} is not a path below the tenant's folder`);
  return join(root, ...segments);
}

/**
 * Whether each folder from `root` down to `root/prefix` is a real folder, not a link (which could
 * lead anywhere). False when one does not exist: then nothing is under the prefix.
 */
async function prefixIsRealFolder(root: string, prefix: string): Promise<boolean> {
  const segments = prefix.split('/').filter(Boolean);
  for (let i = 0; i <= segments.length; i++) {
    try {
      if (!(await lstat(join(root, ...segments.slice(0, i)))).isDirectory()) return false;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }
  return true;
}

/**
 * Every regular file under `root/prefix`, sorted by key. No link is followed, folder or file, so
 * nothing outside the tenant's folder is ever listed. `onProgress` is called every thousand
 * entries (a long listing heartbeats, and stops when cancelled, with it).
 */
export async function listObjects(
  root: string,
  prefix: string,
  onProgress: () => void = () => undefined,
): Promise<StorageObject[]> {
  const found: StorageObject[] = [];
  let seen = 0;
  async function walk(folder: string): Promise<void> {
    let dir;
    try {
      dir = await opendir(folder);
    } catch (err) {
      if (errno(err) === 'ENOENT') return;
      throw err;
    }
    for await (const entry of dir) {
      if (++seen % 1000 === 0) onProgress();
      const path = join(folder, entry.name);
      // A directory entry's type is the entry's own: a link is neither a directory nor a file here.
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const stat = await lstat(path);
        found.push({ key: relative(root, path).split(sep).join('/'), modifiedMs: stat.mtimeMs });
      }
    }
  }
  if (await prefixIsRealFolder(root, prefix)) await walk(join(root, prefix));
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** One batch of files to delete, with the ledger entry that will record it. */
export interface ObjectBatch {
  tenantId: string;
  prefix: string;
  objects: readonly StorageObject[];
  /**
   * Files last written at or after this (ms) are no longer due, whatever the listing said; absent:
   * every listed file is due, whatever its age (an erasure's).
   */
  cutoffMs?: number;
  /** The record key's start (run, tenant, prefix); the batch's own id completes it. */
  recordKeyPrefix: string;
  /** The ledger entry of this batch but its tenant, prefix, count and key, which the batch fills in. */
  entry: Omit<LedgerEntry, 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt' | 'unit'>;
}

/** A batch's staging folder: named by its id, the last part of its record key. */
const stagingOf = (staging: string, recordKey: string) =>
  join(staging, recordKey.slice(recordKey.lastIndexOf(':') + 1));

/** Whether a listed file may be taken now: a regular file in the tenant's folder, past the cutoff. */
async function stillDue(
  root: string,
  realRoot: string,
  key: string,
  cutoffMs: number | undefined,
): Promise<boolean> {
  const path = objectPath(root, key);
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw err;
  }
  if (!stat.isFile() || (cutoffMs !== undefined && stat.mtimeMs >= cutoffMs)) return false;
  const folder = await realpath(dirname(path));
  return folder === realRoot || folder.startsWith(realRoot + sep);
}

/** Files a staging folder holds (none when it does not exist). */
async function staged(folder: string): Promise<number> {
  try {
    return (await readdir(folder)).length;
  } catch (err) {
    if (errno(err) === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * Records every written-down batch of the tenant from what its staging folder holds (the outbox
 * record and the entry's removal in one transaction), then removes every staging folder of the
 * tenant: those of batches recorded now or earlier. Returns how many files the batches took.
 */
export async function finishObjectDeletions(
  c: pg.ClientBase,
  { staging }: Pick<StorageFolders, 'staging'>,
  tenantId: string,
): Promise<number> {
  const { rows } = await c.query<{ record_key: string; entry: Omit<LedgerEntry, 'count'> }>(
    'SELECT record_key, entry FROM landlord.object_deletions WHERE tenant_id = $1 ORDER BY record_key',
    [tenantId],
  );
  let taken = 0;
  for (const { record_key: recordKey, entry } of rows) {
    const count = await staged(stagingOf(staging, recordKey));
    await c.query('BEGIN');
    try {
      if (count > 0)
        await c.query(
          `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ($1, $2, $3)`,
          [recordKey, tenantId, JSON.stringify({ ...entry, count })],
        );
      await c.query('DELETE FROM landlord.object_deletions WHERE record_key = $1', [recordKey]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    taken += count;
  }
  // Every batch of the tenant is recorded now: what its staging folders hold is deleted evidence.
  await rm(staging, { recursive: true, force: true });
  return taken;
}

/**
 * Deletes one batch of files: its entry written down, each file still due taken into the batch's
 * staging folder, then recorded and removed. Returns how many it took and how long that took.
 */
export async function deleteObjectBatch(
  c: pg.ClientBase,
  folders: StorageFolders,
  batch: ObjectBatch,
): Promise<{ deleted: number; ms: number }> {
  const started = performance.now();
  if (batch.objects.length === 0) return { deleted: 0, ms: 0 };
  const recordKey = `${batch.recordKeyPrefix}:${randomUUID()}`;
  const entry: Omit<LedgerEntry, 'count'> = {
    ...batch.entry,
    tenantId: batch.tenantId,
    target: batch.prefix,
    unit: 'objects',
    recordKey,
  };
  await c.query('INSERT INTO landlord.object_deletions (record_key, tenant_id, entry) VALUES ($1, $2, $3)', [
    recordKey,
    batch.tenantId,
    JSON.stringify(entry),
  ]);
  const into = stagingOf(folders.staging, recordKey);
  await mkdir(into, { recursive: true, mode: 0o700 });
  const realRoot = await realpath(folders.root);
  let n = 0;
  for (const { key } of batch.objects) {
    if (!(await stillDue(folders.root, realRoot, key, batch.cutoffMs))) continue;
    try {
      // Atomic: if another attempt took it first, this one finds nothing to take.
      await rename(objectPath(folders.root, key), join(into, String(++n)));
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      throw err;
    }
  }
  const deleted = await finishObjectDeletions(c, folders, batch.tenantId);
  return { deleted, ms: performance.now() - started };
}

/**
 * Removes `root/prefix` and the folders under it that are empty, deepest first: an erased
 * subject's folder names the subject, so it goes with its files. No link is followed, no file is
 * removed, and a folder written to meanwhile stays.
 */
export async function removeEmptyFolders(root: string, prefix: string): Promise<void> {
  async function prune(folder: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) if (entry.isDirectory()) await prune(join(folder, entry.name));
    try {
      await rmdir(folder);
    } catch (err) {
      if (!['ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR'].includes(String(errno(err)))) throw err;
    }
  }
  if (await prefixIsRealFolder(root, prefix)) await prune(join(root, prefix));
}
