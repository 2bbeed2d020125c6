/**
 * The storage sweep retention runs use on a local silo's folder (dataplane/storage-expiry.ts),
 * with its evidence in a real database's outbox: expired files go in batches, younger ones and
 * anything outside the prefix stay, links are never followed, and a worker killed between a
 * batch's record and its unlinks loses nothing and records nothing twice.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { lutimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { withClient, withDatabase } from '../../dataplane/connection.js';
import { DELETION_OUTBOX_SQL, drainOutbox } from '../../dataplane/expiry.js';
import { deleteObjectBatch, finishObjectDeletions, listObjects } from '../../dataplane/storage-expiry.js';
import type { ObjectBatch, StorageObject } from '../../dataplane/storage-expiry.js';
import type { LedgerEntry } from '../../domain/index.js';
import { MemoryRegistry } from '../../registry/index.js';
import { testStack } from '../support/stack.js';

const DAY = 86_400_000;

describe('deleting expired storage objects in batches', () => {
  const databaseUrl = () => withDatabase(testStack().regionUrls['local-a']!, POOL_DATABASE);
  const tenantId = `objects-${randomBytes(3).toString('hex')}`;
  let work: string;
  let root: string;

  /** A file `ageDays` old under the tenant's folder (or anywhere, for an absolute path). */
  const file = (key: string, ageDays: number) => {
    const path = key.startsWith('/') ? key : join(root, key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, key);
    const at = new Date(Date.now() - ageDays * DAY);
    utimesSync(path, at, at);
    return path;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'landlord-objects-'));
    root = join(work, 'tenant');
    await withClient(databaseUrl(), (c) => c.query(DELETION_OUTBOX_SQL));
  });
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await withClient(databaseUrl(), async (c) => {
      await c.query('DELETE FROM landlord.deletion_outbox WHERE tenant_id = $1', [tenantId]);
      await c.query('DELETE FROM landlord.object_deletions WHERE tenant_id = $1', [tenantId]);
    });
  });

  /** The folders of the tenant's storage, as the retention part names them. */
  const folders = () => ({ root, staging: join(work, '.deleting', tenantId) });

  it('deletes every expired file once, keeps the rest, follows no link, and records each batch once', async () => {
    const expired = [
      'attachments/2024/a.pdf',
      'attachments/2024/b.pdf',
      'attachments/c.pdf',
      'attachments/d/e/f.pdf',
    ];
    for (const key of expired) file(key, 800);
    const young = [file('attachments/new.pdf', 10), file('attachments/2024/newer.pdf', 1)];
    const elsewhere = [file('logs/old.log', 800), file('unclassified.bin', 5000)];
    // Links under the prefix to a file and to a folder outside the tenant's folder, all old.
    const outside = file(join(work, 'outside', 'precious.txt'), 900);
    symlinkSync(outside, join(root, 'attachments', 'link.txt'));
    symlinkSync(dirname(outside), join(root, 'attachments', 'linked-folder'));
    const longAgo = new Date(Date.now() - 900 * DAY);
    await lutimes(join(root, 'attachments', 'link.txt'), longAgo, longAgo);

    const listed = await listObjects(root, 'attachments/');
    expect(listed.map((o) => o.key)).toEqual([
      'attachments/2024/a.pdf',
      'attachments/2024/b.pdf',
      'attachments/2024/newer.pdf',
      'attachments/c.pdf',
      'attachments/d/e/f.pdf',
      'attachments/new.pdf',
    ]);
    expect(await listObjects(root, 'exports/')).toEqual([]);
    const cutoffMs = Date.now() - 730 * DAY;
    const due = () =>
      listObjects(root, 'attachments/').then((all) => all.filter((o) => o.modifiedMs < cutoffMs));
    const batch = (objects: StorageObject[]): ObjectBatch => ({
      tenantId,
      prefix: 'attachments/',
      objects,
      cutoffMs,
      recordKeyPrefix: `retention:run-1:${tenantId}:attachments/`,
      entry: {
        kind: 'retention.objects',
        region: 'local-a',
        dataClass: 'content',
        policy: { days: 730, source: 'default' },
        runId: 'run-1',
        requestedBy: 'schedule:landlord-retention',
      },
    });

    await withClient(databaseUrl(), async (c) => {
      const first = (await due()).slice(0, 3);
      // Meanwhile the application rewrites one of them: it is no longer due, and stays.
      file(first[1]!.key, 0);
      // The worker dies just as it records the batch: its files are taken, its record not written.
      const dying = new Proxy(c, {
        get: (target, name) =>
          name === 'query'
            ? (sql: string, ...rest: unknown[]) =>
                String(sql).startsWith('INSERT INTO landlord.deletion_outbox')
                  ? Promise.reject(new Error('worker killed'))
                  : (target.query as (...a: unknown[]) => unknown).call(target, sql, ...rest)
            : Reflect.get(target, name),
      });
      await expect(deleteObjectBatch(dying, folders(), batch(first))).rejects.toThrow('worker killed');
      for (const { key } of [first[0]!, first[2]!]) expect(existsSync(join(root, key)), key).toBe(false);
      // A second attempt, alive while the first one was thought dead, lists the same files: it takes
      // none the first took (a rename is atomic), and finishing records what the dead one took, once.
      expect(await deleteObjectBatch(c, folders(), batch(first))).toMatchObject({ deleted: 2 });
      expect(await finishObjectDeletions(c, folders(), tenantId)).toBe(0);
      const rest = await due();
      expect(rest.map((o) => o.key)).toEqual(['attachments/d/e/f.pdf']);
      expect(await deleteObjectBatch(c, folders(), batch(rest))).toMatchObject({ deleted: 1 });
      expect(await due()).toEqual([]);
      expect(existsSync(folders().staging)).toBe(false);

      const ledger = new MemoryRegistry().ledger;
      expect(
        await drainOutbox(c, tenantId, async (entry: LedgerEntry) => {
          await ledger.append(entry);
        }),
      ).toBe(2);
      const records = await ledger.list({ tenantId, limit: 10 });
      expect(records.reduce((n, r) => n + r.count, 0)).toBe(3);
      expect(records.map((r) => [r.target, r.unit])).toEqual([
        ['attachments/', 'objects'],
        ['attachments/', 'objects'],
      ]);
      // The ledger never names a file.
      expect(JSON.stringify(records)).not.toMatch(/\.pdf/);
      expect(records[0]).toMatchObject({ kind: 'retention.objects', dataClass: 'content', runId: 'run-1' });
      expect(records[0]!.database).toBeUndefined();
    });
    for (const key of ['attachments/2024/a.pdf', 'attachments/c.pdf', 'attachments/d/e/f.pdf'])
      expect(existsSync(join(root, key)), key).toBe(false);
    for (const path of [join(root, 'attachments/2024/b.pdf'), ...young, ...elsewhere, outside])
      expect(existsSync(path), path).toBe(true);
  });

  it('lists nothing under a prefix whose folder is a link, wherever it leads', async () => {
    const other = join(work, 'elsewhere');
    file(join(other, 'secret.txt'), 5000);
    symlinkSync(other, join(root, 'logs-link'));
    expect(await listObjects(root, 'logs-link/')).toEqual([]);
    expect(existsSync(join(other, 'secret.txt'))).toBe(true);
  });

  it('refuses a key that points outside the folder, and takes nothing of it', async () => {
    const outside = file(join(work, 'precious.txt'), 900);
    await withClient(databaseUrl(), async (c) => {
      await expect(
        deleteObjectBatch(c, folders(), {
          tenantId,
          prefix: 'attachments/',
          objects: [{ key: '../precious.txt', modifiedMs: 0 }],
          cutoffMs: Date.now(),
          recordKeyPrefix: 'forged',
          entry: { kind: 'retention.objects', region: 'local-a', requestedBy: 'x' },
        }),
      ).rejects.toThrow(/not a path below/);
      await finishObjectDeletions(c, folders(), tenantId);
    });
    expect(existsSync(outside)).toBe(true);
  });
});
