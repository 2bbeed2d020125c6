import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string, tier = 'basic'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

describe('restore verification routes', () => {
  it('start a run over the tenants named, recorded in the registry, and show it', async () => {
    await tenant('verified-a');
    await tenant('verified-b');
    const res = await call(api(), 'POST', '/v1/dr/verifications', {
      role: 'operator',
      body: { tenants: ['verified-a', 'verified-b'] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({
      trigger: 'api',
      tenants: ['verified-a', 'verified-b'],
      share: 0.1,
      status: 'running',
      total: 0,
      verified: 0,
      failed: 0,
    });
    expect(res.body.id).toMatch(/^drv-/);
    expect(res.headers.get('location')).toBe(`/v1/dr/verifications/${res.body.id}`);
    expect(api().lifecycle.verificationRuns).toEqual([
      expect.objectContaining({ id: res.body.id, tenants: ['verified-a', 'verified-b'], trigger: 'api' }),
    ]);

    // What the workflow records, as the operator then sees it.
    await api().store.verifications.setTotal(res.body.id, 2);
    const result = {
      runId: res.body.id as string,
      tenantId: 'verified-b',
      backupId: 'backup_0a1b2c3d4e5f6071',
      ok: false,
      problems: ['local/verified-b/backup_0a1b2c3d4e5f6071.backup does not read back'],
      startedAt: '2026-03-02T10:00:00.000Z',
      finishedAt: '2026-03-02T10:00:01.000Z',
    };
    await api().store.verifications.recordResult(result);
    const shown = await call(api(), 'GET', `/v1/dr/verifications/${res.body.id}`, { role: 'operator' });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: res.body.id,
      total: 2,
      verified: 0,
      failed: 1,
      results: [result],
    });

    const events = await api().store.audit.list({ action: 'dr.verification.run', limit: 10 });
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'accepted',
        detail: { runId: res.body.id, share: 0.1, tenants: 2 },
      }),
    ]);
  });

  it('sample the fleet with the share asked for, and list runs newest first, a page at a time', async () => {
    const first = await call(api(), 'POST', '/v1/dr/verifications', { role: 'admin', body: { share: 0.5 } });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ share: 0.5 });
    expect(first.body.tenants).toBeUndefined();
    const second = await call(api(), 'POST', '/v1/dr/verifications', { role: 'admin', body: { share: 1 } });
    const third = await call(api(), 'POST', '/v1/dr/verifications', { role: 'admin', body: {} });
    expect(third.status).toBe(202);
    expect(third.body.share).toBe(0.1);

    const page = await call(api(), 'GET', '/v1/dr/verifications?limit=2', { role: 'operator' });
    expect(page.status).toBe(200);
    expect(page.body.items.map((r: { id: string }) => r.id)).toEqual([third.body.id, second.body.id]);
    expect(page.body.nextBefore).toBe(second.body.id);
    const next = await call(api(), 'GET', `/v1/dr/verifications?limit=2&before=${page.body.nextBefore}`, {
      role: 'admin',
    });
    expect(next.body.items[0].id).toBe(first.body.id);
  });

  it('answer an Idempotency-Key retry with the first run, starting no second one', async () => {
    await tenant('verified-once');
    const send = () =>
      call(api(), 'POST', '/v1/dr/verifications', {
        role: 'operator',
        body: { tenants: ['verified-once'] },
        headers: { 'idempotency-key': 'verify-once-1' },
      });
    const runsBefore = api().lifecycle.verificationRuns.length;
    const [a, b] = [await send(), await send()];
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    expect(api().lifecycle.verificationRuns.length).toBe(runsBefore + 1);
  });

  it('refuse unknown tenants before anything starts, naming them', async () => {
    await tenant('verified-known');
    const runsBefore = (await api().store.verifications.list({ limit: 100 })).length;
    const res = await call(api(), 'POST', '/v1/dr/verifications', {
      role: 'operator',
      body: { tenants: ['verified-known', 'no-such-tenant-1', 'no-such-tenant-2'] },
    });
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('https://landlord.dev/problems/tenant-not-found');
    expect(res.body.detail).toBe('tenants: no tenant "no-such-tenant-1", "no-such-tenant-2"');
    expect((await api().store.verifications.list({ limit: 100 })).length).toBe(runsBefore);
  });

  it('refuse a share alongside named tenants, and let only operators and admins see runs', async () => {
    await tenant('verified-both');
    const both = await call(api(), 'POST', '/v1/dr/verifications', {
      role: 'operator',
      body: { tenants: ['verified-both'], share: 0.5 },
    });
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual([
      expect.objectContaining({ in: 'body', path: ['share'], message: expect.stringMatching(/not both/) }),
    ]);
    for (const role of ['viewer', 'sales', 'legal'] as const)
      expect((await call(api(), 'GET', '/v1/dr/verifications', { role })).status, role).toBe(403);
    expect((await call(api(), 'GET', '/v1/dr/verifications', { role: 'operator' })).status).toBe(200);
  });

  it('count the tenants whose latest verification failed in /metrics', async () => {
    await tenant('verified-metric');
    const { body } = await call(api(), 'POST', '/v1/dr/verifications', {
      body: { tenants: ['verified-metric'] },
    });
    const gauge = async () => {
      const text = (await call(api(), 'GET', '/metrics', { role: 'none' })).body as string;
      return Number(/^landlord_dr_verifications_failing (\d+)$/m.exec(text)?.[1]);
    };
    const before = await gauge();
    const at = '2026-03-02T10:00:00.000Z';
    const base = { runId: body.id as string, tenantId: 'verified-metric', startedAt: at, finishedAt: at };
    await api().store.verifications.recordResult({ ...base, ok: false, problems: ['no backup to verify'] });
    expect(await gauge()).toBe(before + 1);
  });
});
