/**
 * Deleting a local silo's expired storage objects (retention runs; docs/retention.md): the files
 * under each manifest storage prefix of the tenant's folder whose last write is older than the
 * prefix's data class keeps them. AWS and GCP silos have the same rule applied natively by their
 * buckets' lifecycle configuration (pulumi/aws, pulumi/gcp).
 *
 * A file system has no transaction to put a deletion and its evidence in, so a batch goes in three
 * moves: its file list is written down (with the ledger entry and the cutoff that make them due);
 * each file is unlinked only if, now, no hold covers its class, it is still a regular file in the
 * tenant's folder (no link followed anywhere) and still older than the cutoff; then the batch's
 * outbox record, counting the files that went, is written and its list cleared, in one
 * transaction. A worker killed anywhere in between loses nothing and records nothing twice: the
 * next attempt first finishes every listed batch the same way, checking each file again.
 */
import { randomUUID } from 'node:crypto';
import { lstat, opendir, realpath, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type pg from 'pg';
import type { LedgerEntry } from '../domain/index.js';

/** One file under a prefix: its key (path below the tenant's folder, with `/`) and last write. */
export interface StorageObject {
  key: string;
  modifiedMs: number;
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
    const folder = join(root, ...segments.slice(0, i));
    try {
      const stat = await lstat(folder);
      if (!stat.isDirectory()) return false;
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
 * entries (a long listing heartbeats with it).
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
  /** Files last written at or after this (ms) are no longer due, whatever the listing said. */
  cutoffMs: number;
  /** The record key's start (run, tenant, prefix); the batch's own id completes it. */
  recordKeyPrefix: string;
  /** The ledger entry of this batch but its tenant, prefix, count and key, which the batch fills in. */
  entry: Omit<LedgerEntry, 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt' | 'unit'>;
}

/** Writes a batch's file list down before any of its files goes; returns its record key. */
export async function recordObjectBatch(c: pg.ClientBase, batch: ObjectBatch): Promise<string> {
  const recordKey = `${batch.recordKeyPrefix}:${randomUUID()}`;
  const entry: Omit<LedgerEntry, 'count'> = {
    ...batch.entry,
    tenantId: batch.tenantId,
    target: batch.prefix,
    unit: 'objects',
    recordKey,
  };
  await c.query(
    `INSERT INTO landlord.object_deletions (record_key, tenant_id, object_key, entry, cutoff)
     SELECT $1, $2, unnest($3::text[]), $4, to_timestamp($5 / 1000.0)`,
    [recordKey, batch.tenantId, batch.objects.map((o) => o.key), JSON.stringify(entry), batch.cutoffMs],
  );
  return recordKey;
}

/**
 * Whether a listed file may go now: `gone` (already not there), `due`, or `kept` (no longer a
 * regular file, rewritten since the cutoff, or reached through a folder that now leads outside
 * the tenant's folder).
 */
async function nowDue(
  root: string,
  realRoot: string,
  key: string,
  cutoffMs: number,
): Promise<'gone' | 'due' | 'kept'> {
  const path = objectPath(root, key);
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return 'gone';
    throw err;
  }
  if (!stat.isFile() || stat.mtimeMs >= cutoffMs) return 'kept';
  const folder = await realpath(dirname(path));
  return folder === realRoot || folder.startsWith(realRoot + sep) ? 'due' : 'kept';
}

/**
 * Finishes every listed batch of the tenant: unlinks each file that is still due and not held
 * (`held` answers for a data class now), then records the batch's count in the outbox and clears
 * its list, together. Returns how many files went and how many were kept.
 */
export async function finishObjectDeletions(
  c: pg.ClientBase,
  root: string,
  tenantId: string,
  held: (dataClass: string | undefined) => Promise<boolean>,
): Promise<{ deleted: number; kept: number }> {
  const { rows } = await c.query<{
    record_key: string;
    object_key: string;
    entry: LedgerEntry;
    cutoff: Date;
  }>(
    `SELECT record_key, object_key, entry, cutoff FROM landlord.object_deletions
      WHERE tenant_id = $1 ORDER BY record_key, object_key`,
    [tenantId],
  );
  const batches = new Map<string, typeof rows>();
  for (const row of rows) batches.set(row.record_key, [...(batches.get(row.record_key) ?? []), row]);
  let realRoot: string | undefined;
  const total = { deleted: 0, kept: 0 };
  for (const [recordKey, files] of batches) {
    const { entry, cutoff } = files[0]!;
    const isHeld = await held(entry.dataClass);
    let deleted = 0;
    for (const { object_key: key } of files) {
      realRoot ??= await realpath(root).catch(() => root);
      const state = isHeld ? 'kept' : await nowDue(root, realRoot, key, cutoff.getTime());
      if (state === 'due') {
        try {
          await unlink(objectPath(root, key));
        } catch (err) {
          // Not removable here (a permission, a folder swapped in): kept, and tried again next run.
          if (errno(err) !== 'ENOENT') {
            total.kept += 1;
            continue;
          }
        }
      }
      // A listed file that is gone now went in this batch (or just before it): it counts.
      if (state === 'kept') total.kept += 1;
      else deleted += 1;
    }
    await c.query('BEGIN');
    try {
      if (deleted > 0)
        await c.query(
          `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ($1, $2, $3)`,
          [recordKey, tenantId, JSON.stringify({ ...entry, count: deleted })],
        );
      await c.query('DELETE FROM landlord.object_deletions WHERE record_key = $1', [recordKey]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    total.deleted += deleted;
  }
  return total;
}

/** Deletes one batch of files: written down, then unlinked file by file, then recorded. */
export async function deleteObjectBatch(
  c: pg.ClientBase,
  root: string,
  batch: ObjectBatch,
  held: (dataClass: string | undefined) => Promise<boolean>,
): Promise<{ deleted: number; kept: number; ms: number }> {
  const started = performance.now();
  if (batch.objects.length === 0) return { deleted: 0, kept: 0, ms: 0 };
  await recordObjectBatch(c, batch);
  const done = await finishObjectDeletions(c, root, batch.tenantId, held);
  return { ...done, ms: performance.now() - started };
}
