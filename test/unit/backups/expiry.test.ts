/**
 * Backup expiry (activities/backups/expiry.ts) over a real folder of backups and the in-memory
 * registry: backups past their time are deleted one at a time, each with its own ledger record;
 * a legal hold of the tenant stops all of it; the newest backup and the newest verified one are
 * kept; an expiry cut short halfway is finished by the next without recording anything twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackupExpiryActivities } from '../../../activities/backups/expiry.js';
import type { ExpiredBackups } from '../../../activities/backups/expiry.js';
import { LocalBackupObjectStore } from '../../../activities/backups/index.js';
import type { BackupObjectStore } from '../../../activities/backups/index.js';
import { backupObjectKey } from '../../../domain/index.js';
import type { TenantBackup } from '../../../domain/index.js';
import { MemoryRegistry } from '../../../registry/memory.js';
import { recordBackup } from '../../support/backups.js';

const root = mkdtempSync(join(tmpdir(), 'landlord-backup-expiry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let store: MemoryRegistry;
let objects: LocalBackupObjectStore;
let n = 0;

beforeEach(() => {
  store = new MemoryRegistry();
  objects = new LocalBackupObjectStore(join(root, `run-${++n}`));
});

/** A backup of `tenantId` taken `daysAgo` and kept 7 days, its file in the store. */
async function backup(tenantId: string, daysAgo: number): Promise<TenantBackup> {
  const id = `backup_${(++n).toString(16).padStart(16, '0')}`;
  const objectKey = backupObjectKey(tenantId, id);
  const { bytes } = await objects.put(objectKey, Readable.from([Buffer.from(`sealed ${id}`)]));
  return recordBackup(store, tenantId, { id, daysAgo, objectKey, bytes, location: objects.location });
}

const expire = (tenantId: string, backups: BackupObjectStore = objects): Promise<ExpiredBackups> =>
  new MockActivityEnvironment().run(createBackupExpiryActivities({ store, backups }).expireTenantBackups, {
    tenantId,
  });

const ledger = async (tenantId: string) =>
  (await store.ledger.list({ tenantId, kind: 'backup.expire', limit: 100 })).map((r) => r.target);

describe('backup expiry', () => {
  it('deletes each backup past its time with a ledger record of its own, and nothing else', async () => {
    const [old1, old2, fresh, newest] = [
      await backup('acme', 20),
      await backup('acme', 10),
      await backup('acme', 3),
      await backup('acme', 1),
    ];
    const other = await backup('globex', 30);
    const done = await expire('acme');
    expect(done).toEqual({ expired: [old1.id, old2.id], keptByHolds: [] });
    for (const b of [old1, old2]) {
      expect(await objects.head(b.objectKey)).toBeUndefined();
      expect(await store.backups.get('acme', b.id)).toMatchObject({ status: 'expired' });
    }
    for (const b of [fresh, newest]) expect(await objects.head(b.objectKey)).toBeDefined();
    expect(await objects.head(other.objectKey)).toBeDefined();
    expect(await ledger('acme')).toEqual([`local/${old1.objectKey}`, `local/${old2.objectKey}`]);
    expect(await ledger('globex')).toEqual([]);
    expect(await store.ledger.verify()).toMatchObject({ ok: true, records: 2 });
  });

  it('keeps everything while a legal hold of the tenant is in force, of any scope', async () => {
    const old = await backup('acme', 20);
    await backup('acme', 1);
    const hold = await store.legalHolds.place({
      tenantId: 'acme',
      reason: 'litigation',
      subjects: ['someone@example.com'],
      createdBy: 'key_legal',
    });
    expect(await expire('acme')).toEqual({ expired: [], keptByHolds: [hold.id] });
    expect(await objects.head(old.objectKey)).toBeDefined();
    expect(await ledger('acme')).toEqual([]);
    await store.legalHolds.release('acme', hold.id, { releasedBy: 'key_legal', reason: 'settled' });
    expect((await expire('acme')).expired).toEqual([old.id]);
    expect(await objects.head(old.objectKey)).toBeUndefined();
  });

  it('never expires the newest backup, so a tenant always has one to restore from', async () => {
    const only = await backup('acme', 30);
    expect(await expire('acme')).toEqual({ expired: [], keptByHolds: [], keptNewest: only.id });
    expect(await objects.head(only.objectKey)).toBeDefined();
    expect(await ledger('acme')).toEqual([]);
  });

  it('never expires the newest verified backup either, the last one known to restore', async () => {
    const [old, verifiedOlder, verified, unverified] = [
      await backup('acme', 30),
      await backup('acme', 25),
      await backup('acme', 20),
      await backup('acme', 15),
    ];
    const newest = await backup('acme', 1);
    for (const b of [verifiedOlder, verified])
      await store.backups.markVerified('acme', b.id, new Date(Date.now() - 86_400_000).toISOString());
    expect(await expire('acme')).toEqual({
      expired: [old.id, verifiedOlder.id, unverified.id],
      keptByHolds: [],
      keptVerified: verified.id,
    });
    for (const b of [verified, newest]) expect(await objects.head(b.objectKey)).toBeDefined();
    expect(await store.backups.get('acme', verified.id)).toMatchObject({ status: 'available' });
    // Once a newer backup is verified, the older one goes at the next expiry.
    await store.backups.markVerified('acme', newest.id, new Date().toISOString());
    expect(await expire('acme')).toEqual({ expired: [verified.id], keptByHolds: [] });
  });

  it('finishes an expiry cut short halfway, recording each deletion once', async () => {
    const [a, b] = [await backup('acme', 20), await backup('acme', 15)];
    await backup('acme', 1);
    let deletes = 0;
    const failing: BackupObjectStore = {
      location: objects.location,
      put: (...args) => objects.put(...args),
      get: (...args) => objects.get(...args),
      head: (key) => objects.head(key),
      async delete(key) {
        if (++deletes === 2) throw new Error('the store went away');
        await objects.delete(key);
      },
    };
    await expect(expire('acme', failing)).rejects.toThrow(/went away/);
    expect(await store.backups.get('acme', a.id)).toMatchObject({ status: 'expired' });
    expect(await store.backups.get('acme', b.id)).toMatchObject({ status: 'available' });
    expect(await expire('acme')).toEqual({ expired: [b.id], keptByHolds: [] });
    expect(await ledger('acme')).toEqual([`local/${a.objectKey}`, `local/${b.objectKey}`]);
    expect(await store.ledger.verify()).toMatchObject({ ok: true, records: 2 });
  });

  it('refuses to expire a backup kept somewhere this worker does not reach', async () => {
    await backup('acme', 20);
    await backup('acme', 1);
    const elsewhere = { ...objects, location: 's3://other-bucket/backups' } as unknown as BackupObjectStore;
    await expect(expire('acme', elsewhere)).rejects.toThrow(/kept in local/);
  });
});
