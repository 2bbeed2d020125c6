import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string, tier = 'basic'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

describe('retention routes', () => {
  it("show a tenant's effective policy and where each value comes from", async () => {
    await tenant('keeps-co');
    const got = await call(api(), 'GET', '/v1/tenants/keeps-co/retention', { role: 'viewer' });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ tenantId: 'keeps-co', tier: 'basic' });
    expect(got.body.dataClasses).toEqual(
      expect.arrayContaining([
        { dataClass: 'telemetry', days: 30, source: 'tier', tenantBounds: { minDays: 7, maxDays: 30 } },
        { dataClass: 'business', source: 'default', tenantBounds: { minDays: 365, maxDays: 3650 } },
      ]),
    );
  });

  it("refuse choices outside the tier's bounds or for unknown classes, changing nothing", async () => {
    await tenant('bounded-co');
    const calls = api().lifecycle.calls.length;
    for (const [dataClasses, status, pattern] of [
      [{ telemetry: { days: 31 } }, 422, /allows 7 to 30 days, not 31/],
      [{ telemetry: { days: 6 } }, 422, /allows 7 to 30 days, not 6/],
      [
        { secrets: { days: 30 } },
        400,
        /unknown data class "secrets"; known: personal, business, content, telemetry/,
      ],
    ] as const) {
      const res = await call(api(), 'PUT', '/v1/tenants/bounded-co/retention', {
        role: 'operator',
        body: { dataClasses },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.detail).toMatch(pattern);
    }
    expect(api().lifecycle.calls.length).toBe(calls);
    expect((await api().store.tenants.get('bounded-co'))?.retention).toBeUndefined();
  });

  it('take a choice within bounds as a tenant operation', async () => {
    await tenant('choosy-co');
    const res = await call(api(), 'PUT', '/v1/tenants/choosy-co/retention', {
      role: 'operator',
      body: { dataClasses: { telemetry: { days: 14 } } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      kind: 'set-retention',
      input: { dataClasses: { telemetry: { days: 14 } } },
    });
    expect(res.headers.get('location')).toBe(`/v1/operations/${res.body.id}`);
  });

  it('start a run recorded in the registry, list it and show it', async () => {
    await tenant('swept-co');
    const res = await call(api(), 'POST', '/v1/retention/runs', {
      role: 'operator',
      body: { dryRun: true, tenants: ['swept-co', 'swept-co'], dataClasses: ['telemetry'] },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      trigger: 'api',
      dryRun: true,
      force: false,
      tenants: ['swept-co'],
      dataClasses: ['telemetry'],
      status: 'running',
    });
    expect(api().lifecycle.retentionRuns.map((r) => r.id)).toEqual([res.body.id]);
    const shown = await call(api(), 'GET', `/v1/retention/runs/${res.body.id}`, { role: 'viewer' });
    expect(shown.body).toMatchObject({ id: res.body.id, parts: [], progress: { done: 0 } });
    const listed = await call(api(), 'GET', '/v1/retention/runs', { role: 'viewer' });
    expect(listed.body.items.map((r: { id: string }) => r.id)).toContain(res.body.id);
  });

  it('pause, unpause and fire the Schedule, audited', async () => {
    api().lifecycle.createSchedule();
    const paused = await call(api(), 'POST', '/v1/retention/schedule/pause', {
      role: 'operator',
      body: { note: 'quarter close' },
    });
    expect(paused).toMatchObject({ status: 200, body: { paused: true, note: 'quarter close' } });
    const unpaused = await call(api(), 'POST', '/v1/retention/schedule/unpause', {
      role: 'operator',
      body: {},
    });
    expect(unpaused.body.paused).toBe(false);
    expect((await call(api(), 'POST', '/v1/retention/schedule/trigger', { body: {} })).status).toBe(200);
    expect(api().lifecycle.scheduleTriggers).toBe(1);
    const audit = await call(api(), 'GET', '/v1/audit?action=retention.schedule.pause');
    expect(audit.body.items).toEqual([
      expect.objectContaining({ actorRole: 'operator', detail: { note: 'quarter close' } }),
    ]);
  });
});
