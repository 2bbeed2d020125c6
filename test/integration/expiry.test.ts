/**
 * The batch deleter retention runs use (dataplane/expiry.ts), on a real pool database: expired
 * rows go in short batches, younger and held ones stay, and every batch's evidence reaches the
 * ledger exactly once, however the work is interrupted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOL_DATABASE } from '../../activities/pool/names.js';
import { withClient, withDatabase } from '../../dataplane/connection.js';
import {
  batchKeyOf,
  comparableSubjects,
  countExpired,
  deleteExpiredBatch,
  drainOutbox,
  holdsOn,
} from '../../dataplane/expiry.js';
import type { LedgerEntry, LegalHold } from '../../domain/index.js';
import type { ExpiryTable } from '../../dataplane/expiry.js';
import { MemoryRegistry } from '../../registry/index.js';
import { testStack } from '../support/stack.js';

const table: ExpiryTable = {
  name: 'activity_log',
  tenantKey: 'tenant_id',
  timestampColumn: 'occurred_at',
  subjectKey: 'actor_id',
};
const DAY = 86_400_000;

describe('deleting expired rows in batches', () => {
  const poolUrl = () => withDatabase(testStack().regionUrls['local-a']!, POOL_DATABASE);
  const tenantId = `expiry-${randomBytes(3).toString('hex')}`;
  const held = randomUUID();
  const cutoff = new Date(Date.now() - 30 * DAY).toISOString();
  beforeAll(async () => {
    await withClient(poolUrl(), async (c) => {
      // 250 expired rows (40 of them about a held subject), 60 younger ones.
      await c.query(
        `INSERT INTO activity_log (tenant_id, actor_id, action, occurred_at)
         SELECT $1, CASE WHEN i <= 40 THEN $2::uuid ELSE gen_random_uuid() END, 'x', now() - interval '40 days' - i * interval '1 minute'
           FROM generate_series(1, 250) i`,
        [tenantId, held],
      );
      await c.query(
        `INSERT INTO activity_log (tenant_id, actor_id, action, occurred_at)
         SELECT $1, gen_random_uuid(), 'y', now() - interval '1 day' FROM generate_series(1, 60)`,
        [tenantId],
      );
    });
  });
  afterAll(async () => {
    await withClient(poolUrl(), (c) => c.query('DELETE FROM activity_log WHERE tenant_id = $1', [tenantId]));
  });

  it('deletes every expired row once, keeps younger and held ones, and records each batch in the ledger once', async () => {
    const at = new Date().toISOString();
    const hold = (change: Partial<LegalHold>): LegalHold => ({
      id: 'hold_0a1b2c3d4e5f6071',
      tenantId,
      reason: 'case',
      createdAt: at,
      createdBy: 'key_legal',
      ...change,
    });
    const holds = [
      // Names the subject in upper case: it is still that UUID.
      hold({ subjects: [held.toUpperCase()] }),
      // Released, and another class: neither keeps this table.
      hold({ releasedAt: at }),
      hold({ dataClasses: ['personal'] }),
    ];
    expect(holdsOn([...holds, hold({ dataClasses: ['telemetry'] })], 'telemetry', at).tableHeld).toBe(true);
    expect(holdsOn([...holds, hold({})], 'telemetry', at).tableHeld).toBe(true);
    const { tableHeld, heldSubjects } = holdsOn(holds, 'telemetry', at);
    expect(tableHeld).toBe(false);
    const scope = { tenantId, cutoff, heldSubjects };
    const ledger = new MemoryRegistry().ledger;
    await withClient(poolUrl(), async (c) => {
      const key = await batchKeyOf(c, table);
      expect(key).toEqual({ name: 'id', type: 'bigint', subjectType: 'uuid' });
      expect(await countExpired(c, table, key, scope)).toEqual({
        total: 310,
        expired: 250,
        held: 40,
        referenced: 0,
      });
      // A batch after the cursor, as a worker running the run's part would do it.
      let afterKey: string | undefined;
      const batch = async () => {
        const done = await deleteExpiredBatch(c, table, scope, {
          key,
          ...(afterKey ? { afterKey } : {}),
          limit: 50,
          recordKeyPrefix: `run-1:${tenantId}:activity_log`,
          entry: {
            kind: 'retention.delete',
            region: 'local-a',
            database: 'landlord_pool',
            dataClass: 'telemetry',
            unit: 'rows',
            policy: { days: 30, source: 'tier' },
            runId: 'run-1',
            requestedBy: 'schedule:landlord-retention',
          },
        });
        if (done.lastKey) afterKey = done.lastKey;
        return done;
      };
      // Three batches of 50, then the worker "dies" before it forwards any evidence; its last
      // heartbeat got out after the first batch only (heartbeats are throttled).
      const heartbeated = (await batch()).lastKey;
      for (let n = 2; n <= 3; n++) expect((await batch()).deleted).toBe(50);
      // A new worker resumes from that older cursor: what is left goes, nothing twice, and no
      // batch's evidence takes another's place.
      afterKey = heartbeated;
      let deleted = 150;
      for (let got = (await batch()).deleted; got > 0; got = (await batch()).deleted) deleted += got;
      expect(deleted).toBe(210);
      expect(await countExpired(c, table, key, scope)).toEqual({
        total: 100,
        expired: 40,
        held: 40,
        referenced: 0,
      });

      // The drainer adds nothing: the entry is the batch's own, with the time it committed.
      const forward = async (entry: LedgerEntry) => {
        await ledger.append(entry);
      };
      // Forwarding dies after the ledger took a record but before the outbox lost it: the next
      // drain forwards it again, and the ledger records it once.
      let calls = 0;
      await expect(
        drainOutbox(c, tenantId, async (r) => {
          await forward(r);
          if (++calls === 2) throw new Error('worker killed');
        }),
      ).rejects.toThrow('worker killed');
      expect(await drainOutbox(c, tenantId, forward)).toBe(4);
      expect(await drainOutbox(c, tenantId, forward)).toBe(0);
    });
    const records = await ledger.list({ tenantId, limit: 100 });
    expect(records.map((r) => r.count)).toEqual([50, 50, 50, 50, 10]);
    expect(records[0]).toMatchObject({
      tenantId,
      target: 'activity_log',
      dataClass: 'telemetry',
      policy: { days: 30, source: 'tier' },
      runId: 'run-1',
      requestedBy: 'schedule:landlord-retention',
    });
    for (const r of records) expect(r.deletedAt! <= r.at).toBe(true);
    expect(records.reduce((sum, r) => sum + r.count, 0)).toBe(210);
    expect(await ledger.verify()).toMatchObject({ ok: true, records: 5 });
  });

  it('ignores a held subject the subject column cannot hold, and still keeps the ones it can', async () => {
    await withClient(poolUrl(), async (c) => {
      const key = await batchKeyOf(c, table);
      const known = new Map<string, boolean>();
      const subjects = await comparableSubjects(
        c,
        key,
        ['someone', held.toUpperCase(), 'x'.repeat(300)],
        known,
      );
      expect(subjects).toEqual([held.toUpperCase()]);
      expect(known.get('someone')).toBe(false);
      // A subject of any text is fine for a table whose subject column is text, or that has none.
      expect(await comparableSubjects(c, { name: 'id', type: 'bigint' }, ['someone'])).toEqual(['someone']);
      const counts = await countExpired(c, table, key, { tenantId, cutoff, heldSubjects: subjects });
      expect(counts.held).toBe(
        await countExpired(c, table, key, { tenantId, cutoff, heldSubjects: [held] }).then((r) => r.held),
      );
      // Unfiltered, the same subject fails the whole count: what the filter is for.
      await expect(
        countExpired(c, table, key, { tenantId, cutoff, heldSubjects: ['someone'] }),
      ).rejects.toThrow(/uuid/);
    });
  });
});
