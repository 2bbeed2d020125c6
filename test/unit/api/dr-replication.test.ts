import { describe, expect, it } from 'vitest';
import type { ReplicationStatus, TenantDrStatus } from '../../../domain/index.js';
import { recordBackup } from '../../support/backups.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string, tier = 'enterprise'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

const measured = (tenantId: string, change: Partial<ReplicationStatus> = {}): ReplicationStatus => ({
  tenantId,
  source: 'local-a',
  target: 'local-b',
  state: 'streaming',
  lagMs: 1_500,
  lagBytes: 2048,
  newestDataAt: new Date(Date.now() - 2_000).toISOString(),
  measuredAt: new Date().toISOString(),
  ...change,
});

/** One gauge's value as /metrics shows it. */
async function gauge(line: RegExp): Promise<number | undefined> {
  const text = await fetch(`${api().baseUrl}/metrics`).then((r) => r.text());
  const value = line.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

describe("DR tenants' replication to their standbys", () => {
  it('shows a DR silo streaming to its standby as losing only its lag, and the lag and breakages in /metrics', async () => {
    await tenant('replicated');
    await tenant('replica-lost');
    await tenant('replica-unmeasured');
    // On a tier without DR, a replication row (left from another tier) neither counts nor matters.
    await tenant('replica-no-dr', 'basic');
    // The streaming one's backup is the tier's oldest (about 14 min, within its RPO of 15 min).
    await recordBackup(api().store, 'replicated', { daysAgo: 0.01 });
    for (const id of ['replica-lost', 'replica-unmeasured', 'replica-no-dr'])
      await recordBackup(api().store, id, { daysAgo: 0.001 });
    await api().store.replication.put(measured('replicated'));
    await api().store.replication.put(
      measured('replica-lost', { state: 'broken', lagMs: 40 * 60_000, reason: 'its slot was dropped' }),
    );
    await api().store.replication.put(measured('replica-no-dr', { state: 'stopped', lagMs: 3 * 3_600_000 }));

    const res = await call(api(), 'GET', '/v1/tenants/replicated/dr', { role: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.body as TenantDrStatus).toMatchObject({
      drEnabled: true,
      deploymentModel: 'silo',
      replication: measured('replicated', {
        newestDataAt: expect.any(String),
        measuredAt: expect.any(String),
      }),
      rpoNowMs: 1_500,
      withinTarget: true,
      problems: [],
    });
    // The response is what the OpenAPI document says it is.
    const doc = (await call(api(), 'GET', '/openapi.json', { role: 'none' })).body;
    const documented = doc.components.schemas.TenantDrStatus.properties;
    const undocumented = (body: object, properties: object) =>
      Object.keys(body).filter((k) => !(k in properties));
    expect(undocumented(res.body, documented)).toEqual([]);
    expect(undocumented(res.body.replication, documented.replication.properties)).toEqual([]);

    const report = await call(api(), 'GET', '/v1/dr/report?limit=1000', { role: 'operator' });
    const mine = new Map(
      (report.body.items as TenantDrStatus[])
        .filter((t) => t.tenantId.startsWith('replica'))
        .map((t) => [t.tenantId, t.problems]),
    );
    expect(Object.fromEntries(mine)).toEqual({
      replicated: [],
      'replica-lost': [
        'replication to its standby in local-b is broken: its slot was dropped',
        'replication lag 40 min exceeds its RPO 15m',
      ],
      'replica-unmeasured': ['no replication to its standby has been measured'],
      'replica-no-dr': [],
    });

    // The broken one's lag is the tier's highest; the stopped one is on a tier without DR.
    expect(await gauge(/^landlord_dr_replication_lag_seconds\{tier="enterprise"\} (\S+)$/m)).toBe(2400);
    expect(await gauge(/^landlord_dr_replication_lag_seconds\{tier="basic"\} (\S+)$/m)).toBeUndefined();
    expect(await gauge(/^landlord_dr_replication_broken (\S+)$/m)).toBe(1);
    // The backup age gauge still says how old the backups are, not the replication lag.
    expect(await gauge(/^landlord_dr_backup_age_seconds\{tier="enterprise"\} (\S+)$/m)).toBeGreaterThan(860);
  });
});
