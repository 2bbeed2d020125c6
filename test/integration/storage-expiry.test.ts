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
import {
  deleteObjectBatch,
  finishObjectDeletions,
  listObjects,
  recordObjectBatch,
} from '../../dataplane/storage-expiry.js';
import type { ObjectBatch } from '../../dataplane/storage-expiry.js';
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

  const notHeld = async () => false;

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
    const batch = async (n: number): Promise<ObjectBatch> => ({
      tenantId,
      prefix: 'attachments/',
      objects: (await due()).slice(0, n),
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
      // The worker dies after writing its first batch down, before any file of it went.
      await recordObjectBatch(c, await batch(2));
      for (const key of expired.slice(0, 2)) expect(existsSync(join(root, key))).toBe(true);
      // Meanwhile the application rewrites one of them: it is no longer due.
      file(expired[1]!, 0);
      // The next attempt finishes that batch first, checking each file again; then it lists anew.
      expect(await finishObjectDeletions(c, root, tenantId, notHeld)).toEqual({ deleted: 1, kept: 1 });
      expect((await due()).map((o) => o.key)).toEqual(expired.slice(2));
      expect(await deleteObjectBatch(c, root, await batch(10), notHeld)).toMatchObject({
        deleted: 2,
        kept: 0,
      });
      expect(await due()).toEqual([]);
      // Nothing was left half done.
      expect(await finishObjectDeletions(c, root, tenantId, notHeld)).toEqual({ deleted: 0, kept: 0 });

      const ledger = new MemoryRegistry().ledger;
      expect(
        await drainOutbox(c, tenantId, async (entry: LedgerEntry) => {
          await ledger.append(entry);
        }),
      ).toBe(2);
      const records = await ledger.list({ tenantId, limit: 10 });
      expect(records.map((r) => [r.target, r.unit, r.count])).toEqual([
        ['attachments/', 'objects', 1],
        ['attachments/', 'objects', 2],
      ]);
      // The ledger never names a file.
      expect(JSON.stringify(records)).not.toMatch(/\.pdf/);
      expect(records[0]).toMatchObject({ kind: 'retention.objects', dataClass: 'content', runId: 'run-1' });
      expect(records[0]!.database).toBeUndefined();
    });
    for (const key of [expired[0]!, ...expired.slice(2)])
      expect(existsSync(join(root, key)), key).toBe(false);
    for (const path of [join(root, expired[1]!), ...young, ...elsewhere, outside])
      expect(existsSync(path), path).toBe(true);
  });

  it('finishes a written-down batch only as far as no hold covers it now', async () => {
    const key = 'exports/held.csv';
    file(key, 2000);
    const cutoffMs = Date.now() - 1095 * DAY;
    await withClient(databaseUrl(), async (c) => {
      await recordObjectBatch(c, {
        tenantId,
        prefix: 'exports/',
        objects: [{ key, modifiedMs: cutoffMs - DAY }],
        cutoffMs,
        recordKeyPrefix: `retention:run-2:${tenantId}:exports/`,
        entry: { kind: 'retention.objects', region: 'local-a', dataClass: 'personal', requestedBy: 'x' },
      });
      // A hold on the class was placed after the batch was written down.
      const held = async (dataClass: string | undefined) => dataClass === 'personal';
      expect(await finishObjectDeletions(c, root, tenantId, held)).toEqual({ deleted: 0, kept: 1 });
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM landlord.deletion_outbox WHERE tenant_id = $1 AND record_key LIKE 'retention:run-2:%'`,
        [tenantId],
      );
      expect(rows).toEqual([{ n: 0 }]);
    });
    expect(existsSync(join(root, key))).toBe(true);
  });

  it('lists nothing under a prefix whose folder is a link, wherever it leads', async () => {
    const other = join(work, 'elsewhere');
    file(join(other, 'secret.txt'), 5000);
    symlinkSync(other, join(root, 'logs-link'));
    expect(await listObjects(root, 'logs-link/')).toEqual([]);
    expect(existsSync(join(other, 'secret.txt'))).toBe(true);
  });

  it('refuses a recorded key that points outside the folder, and unlinks nothing of it', async () => {
    const outside = file(join(work, 'precious.txt'), 900);
    await withClient(databaseUrl(), async (c) => {
      await c.query(
        `INSERT INTO landlord.object_deletions (record_key, tenant_id, object_key, entry, cutoff)
         VALUES ('forged', $1, '../precious.txt', '{"dataClass":"content"}', now())`,
        [tenantId],
      );
      await expect(finishObjectDeletions(c, root, tenantId, notHeld)).rejects.toThrow(/not a path below/);
      await c.query('DELETE FROM landlord.object_deletions WHERE tenant_id = $1', [tenantId]);
    });
    expect(existsSync(outside)).toBe(true);
  });
});
