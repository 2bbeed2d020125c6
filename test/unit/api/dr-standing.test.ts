import { describe, expect, it } from 'vitest';
import type { TenantDrStatus } from '../../../domain/index.js';
import { recordBackup } from '../../support/backups.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string, tier = 'basic'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

describe("tenants' DR standing", () => {
  it("shows a tenant's newest backup, its latest verification and its last restore against its tier", async () => {
    await tenant('standing');
    const backup = await recordBackup(api().store, 'standing', { daysAgo: 0.5 });
    await api().store.verifications.start({ id: 'run-1', trigger: 'api', requestedBy: 'key_1', share: 0 });
    await api().store.verifications.recordResult({
      runId: 'run-1',
      tenantId: 'standing',
      backupId: backup.id,
      ok: true,
      problems: [],
      restoreMs: 1200,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
    });
    const res = await call(api(), 'GET', '/v1/tenants/standing/dr', { role: 'viewer' });
    expect(res.status).toBe(200);
    const status = res.body as TenantDrStatus;
    expect(status).toMatchObject({
      tenantId: 'standing',
      tier: 'basic',
      drEnabled: false,
      targets: { rpo: '24h', rto: '72h' },
      latestBackup: { id: backup.id, takenAt: backup.takenAt },
      verification: { runId: 'run-1', backupId: backup.id, ok: true, restoreMs: 1200 },
      rtoEstimateMs: 1200,
      withinTarget: true,
      problems: [],
    });
    expect(status.rpoNowMs).toBeGreaterThan(11 * 3_600_000);
  });

  it('reports the fleet with the tenants out of target first, and counts them in /metrics', async () => {
    await tenant('fleet-ok');
    await tenant('fleet-stale');
    await tenant('fleet-never', 'premium');
    await recordBackup(api().store, 'fleet-ok', { daysAgo: 0.1 });
    await recordBackup(api().store, 'fleet-stale', { daysAgo: 3 });
    const res = await call(api(), 'GET', '/v1/dr/report?limit=1000', { role: 'operator' });
    expect(res.status).toBe(200);
    const body = res.body as { tenants: number; outOfTarget: number; items: TenantDrStatus[] };
    const mine = body.items.filter((t) => t.tenantId.startsWith('fleet-'));
    expect(mine.map((t) => [t.tenantId, t.withinTarget])).toEqual([
      ['fleet-never', false],
      ['fleet-stale', false],
      ['fleet-ok', true],
    ]);
    const firstWithin = body.items.findIndex((t) => t.withinTarget);
    expect(body.items.slice(firstWithin).every((t) => t.withinTarget)).toBe(true);
    expect(body.outOfTarget).toBe(body.items.filter((t) => !t.withinTarget).length);
    const only = await call(api(), 'GET', '/v1/dr/report?outOfTarget=true&limit=1000');
    expect((only.body as { items: TenantDrStatus[] }).items.every((t) => !t.withinTarget)).toBe(true);

    const metrics = await fetch(`${api().baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toContain(`landlord_dr_tenants_out_of_target ${body.outOfTarget}`);
    expect(metrics).toMatch(/landlord_dr_backup_age_seconds\{tier="basic"\} 2\d{5}/);
  });
});
