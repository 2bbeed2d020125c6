/**
 * Deleting a local silo's expired storage objects (retention runs; docs/retention.md): the files
 * under each manifest storage prefix of the tenant's folder whose last write is older than the
 * prefix's data class keeps them. AWS and GCP silos have the same rule applied natively by their
 * buckets' lifecycle configuration (pulumi/aws, pulumi/gcp).
 *
 * A file system has no transaction to put a deletion and its evidence in, so each batch is written
 * down first: its outbox record and the list of its files commit together in the tenant database,
 * then the files are unlinked, then the list is cleared. A worker killed anywhere in between loses
 * nothing and records nothing twice: the next attempt first finishes every batch whose list is
 * still there (unlinking what is left of it) and only then lists the expired files again, so a
 * file is in one batch only.
 */
import { createHash } from 'node:crypto';
import { lstat, opendir, unlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type pg from 'pg';
import type { LedgerEntry } from '../domain/index.js';

/** One file under a prefix: its key (path below the tenant's folder, with `/`) and last write. */
export interface StorageObject {
  key: string;
  modifiedMs: number;
}

/**
 * Every regular file under `root/prefix`, sorted by key. Links are never followed, so nothing
 * outside the tenant's folder is ever listed (let alone deleted).
 */
export async function listObjects(root: string, prefix: string): Promise<StorageObject[]> {
  const found: StorageObject[] = [];
  async function walk(folder: string): Promise<void> {
    let dir;
    try {
      dir = await opendir(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for await (const entry of dir) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const stat = await lstat(path);
        found.push({ key: relative(root, path).split(sep).join('/'), modifiedMs: stat.mtimeMs });
      }
    }
  }
  await walk(join(root, prefix));
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The file of a key, refusing any key that could point outside the tenant's folder. */
function objectPath(root: string, key: string): string {
  const segments = key.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new Error(`storage key ${JSON.stringify(key)} is not a path below the tenant's folder`);
  return join(root, ...segments);
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Unlinks what is left of every batch of the tenant that was recorded but not finished (its
 * worker died between the record and the unlinks); returns how many files it unlinked.
 */
export async function finishObjectDeletions(
  c: pg.ClientBase,
  root: string,
  tenantId: string,
): Promise<number> {
  const { rows } = await c.query<{ record_key: string; object_key: string }>(
    `SELECT record_key, object_key FROM landlord.object_deletions WHERE tenant_id = $1 ORDER BY record_key, object_key`,
    [tenantId],
  );
  for (const r of rows) await unlinkIfThere(objectPath(root, r.object_key));
  await c.query('DELETE FROM landlord.object_deletions WHERE tenant_id = $1', [tenantId]);
  return rows.length;
}

/** One batch of files to delete, with the ledger entry that will record it. */
export interface ObjectBatch {
  tenantId: string;
  prefix: string;
  objects: readonly StorageObject[];
  /** The record key's start (run, tenant, prefix); the first key's hash completes it. */
  recordKeyPrefix: string;
  /** The ledger entry of this batch but its tenant, prefix, count and key, which the batch fills in. */
  entry: Omit<LedgerEntry, 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt' | 'unit'>;
}

/**
 * Writes a batch down before any of its files goes: its evidence (one outbox record, keyed by a
 * hash of its first key — file names may name people, the ledger never does) and its file list,
 * in one transaction. Returns the record key.
 */
export async function recordObjectBatch(c: pg.ClientBase, batch: ObjectBatch): Promise<string> {
  const keys = batch.objects.map((o) => o.key);
  const recordKey = `${batch.recordKeyPrefix}:${createHash('sha256').update(keys[0]!).digest('hex').slice(0, 24)}`;
  const entry: LedgerEntry = {
    ...batch.entry,
    tenantId: batch.tenantId,
    target: batch.prefix,
    unit: 'objects',
    count: keys.length,
    recordKey,
  };
  await c.query('BEGIN');
  try {
    await c.query(`INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ($1, $2, $3)`, [
      recordKey,
      batch.tenantId,
      JSON.stringify(entry),
    ]);
    await c.query(
      `INSERT INTO landlord.object_deletions (record_key, tenant_id, object_key)
       SELECT $1, $2, unnest($3::text[])`,
      [recordKey, batch.tenantId, keys],
    );
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return recordKey;
}

/** Deletes one batch of files: written down first, then unlinked; returns how long it took. */
export async function deleteObjectBatch(
  c: pg.ClientBase,
  root: string,
  batch: ObjectBatch,
): Promise<{ ms: number }> {
  const started = performance.now();
  if (batch.objects.length === 0) return { ms: 0 };
  await recordObjectBatch(c, batch);
  await finishObjectDeletions(c, root, batch.tenantId);
  return { ms: performance.now() - started };
}
