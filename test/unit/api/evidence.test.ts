import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../../domain/index.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

const deletion = (n: number, change: Partial<LedgerEntry> = {}): LedgerEntry => ({
  kind: 'retention.delete',
  tenantId: n % 2 ? 'odd-co' : 'even-co',
  region: 'local-a',
  target: 'activity_log',
  dataClass: 'telemetry',
  count: 10 * n,
  unit: 'rows',
  requestedBy: 'schedule:landlord-retention',
  recordKey: `run-1:${n}`,
  ...change,
});

describe('GET /v1/evidence and /v1/evidence/verify', () => {
  it('lets every role read the ledger, filtered and in pages, and check its chain', async () => {
    for (let n = 1; n <= 5; n++) await api().store.ledger.append(deletion(n));
    await api().store.ledger.append(deletion(6, { kind: 'erasure.delete', subjectHmac: 'f'.repeat(64) }));

    const all = await call(api(), 'GET', '/v1/evidence', { role: 'viewer' });
    expect(all.status).toBe(200);
    expect(all.body.items.map((r: { seq: number }) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const odd = await call(api(), 'GET', '/v1/evidence?tenant=odd-co', { role: 'viewer' });
    expect(odd.body.items.map((r: { count: number }) => r.count)).toEqual([10, 30, 50]);
    const erasures = await call(api(), 'GET', '/v1/evidence?kind=erasure.delete', { role: 'admin' });
    expect(erasures.body.items).toEqual([expect.objectContaining({ seq: 6, subjectHmac: 'f'.repeat(64) })]);
    const page = await call(api(), 'GET', '/v1/evidence?limit=2&afterSeq=2', { role: 'sales' });
    expect(page.body).toMatchObject({ nextAfterSeq: 4, items: [{ seq: 3 }, { seq: 4 }] });
    const none = await call(api(), 'GET', '/v1/evidence?to=2000-01-01T00:00:00Z', { role: 'operator' });
    expect(none.body).toEqual({ items: [] });

    const verified = await call(api(), 'GET', '/v1/evidence/verify', { role: 'viewer' });
    expect(verified).toMatchObject({
      status: 200,
      body: { ok: true, records: 6, head: all.body.items[5].hash },
    });
    // Someone with the database's superuser rights changes one record: verify names it.
    api().store.ledger.records[2]!.count = 0;
    expect((await call(api(), 'GET', '/v1/evidence/verify', { role: 'viewer' })).body).toEqual({
      ok: false,
      records: 2,
      brokenAt: 3,
      reason: 'its content does not match its hash',
    });
  });
});
