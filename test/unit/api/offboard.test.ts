import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();
const problem = (kebab: string) => `https://landlord.dev/problems/${kebab}`;

async function tenant(id: string, tier = 'basic'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

describe('offboarding', () => {
  it("is asked for by operators, with the tier's grace days unless given, and shows when the data goes", async () => {
    await tenant('leaving-co');
    const asked = await call(api(), 'POST', '/v1/tenants/leaving-co/offboard', {
      role: 'operator',
      body: { reason: 'contract ended' },
    });
    expect(asked.status).toBe(202);
    // basic: 14 days (config/tiers.json).
    expect(asked.body).toMatchObject({
      kind: 'offboard',
      input: { reason: 'contract ended', graceDays: 14, export: true },
    });
    const shown = await call(api(), 'GET', '/v1/tenants/leaving-co', { role: 'viewer' });
    expect(shown.body).toMatchObject({ status: 'offboarding', offboarding: { operationId: asked.body.id } });
    expect(Date.parse(shown.body.offboarding.deletesAt) - Date.parse(asked.body.createdAt)).toBe(
      14 * 86_400_000,
    );

    const again = await call(api(), 'POST', '/v1/tenants/leaving-co/offboard', { body: { reason: 'again' } });
    expect(again).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(again.body.detail).toContain('offboarding already');
    const erasure = await call(api(), 'POST', '/v1/tenants/leaving-co/erasures', {
      body: { subject: 's-1', reason: 'r' },
    });
    expect(erasure).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });

    const cancelled = await call(api(), 'POST', '/v1/tenants/leaving-co/offboard/cancel', {
      role: 'operator',
    });
    expect(cancelled).toMatchObject({ status: 202, body: { id: asked.body.id, status: 'cancelled' } });
    const nothing = await call(api(), 'POST', '/v1/tenants/leaving-co/offboard/cancel');
    expect(nothing).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
  });

  it("takes less grace than the tier's from admins only", async () => {
    await tenant('hasty-co');
    const refused = await call(api(), 'POST', '/v1/tenants/hasty-co/offboard', {
      role: 'operator',
      body: { reason: 'now', graceDays: 0 },
    });
    expect(refused).toMatchObject({ status: 403, body: { type: problem('forbidden') } });
    expect(refused.body.detail).toContain('14 days');
    expect((await api().store.tenants.get('hasty-co'))?.status).toBe('active');
    const longer = await call(api(), 'POST', '/v1/tenants/hasty-co/offboard', {
      role: 'operator',
      body: { reason: 'later', graceDays: 60 },
    });
    expect(longer).toMatchObject({ status: 202, body: { input: { graceDays: 60 } } });
  });

  it('takes grace days and no export when asked', async () => {
    await tenant('quick-co');
    const asked = await call(api(), 'POST', '/v1/tenants/quick-co/offboard', {
      body: { reason: 'duplicate account', graceDays: 0, export: false },
    });
    expect(asked).toMatchObject({ status: 202, body: { input: { graceDays: 0, export: false } } });
  });

  it('refuses a cancel past the shred, and keeps a deleted tenant id reserved, naming its tombstone', async () => {
    await tenant('gone-co');
    const record = (await api().store.tenants.get('gone-co'))!;
    const offboarding = {
      operationId: 'op-gone',
      reason: 'ended',
      requestedBy: 'key_ops',
      requestedAt: '2026-01-01T00:00:00.000Z',
      deletesAt: '2026-01-31T00:00:00.000Z',
      shreddedAt: '2026-01-31T00:00:05.000Z',
    };
    await api().store.tenants.upsert({
      ...record,
      status: 'offboarding',
      offboarding,
      version: record.version + 1,
    });
    const late = await call(api(), 'POST', '/v1/tenants/gone-co/offboard/cancel');
    expect(late).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(late.body.detail).toContain('data key was destroyed');

    await api().store.tenants.upsert({
      ...record,
      status: 'deleted',
      offboarding: { ...offboarding, deletedAt: '2026-01-31T00:01:00.000Z', deleted: [] },
      version: record.version + 2,
    });
    const again = await call(api(), 'POST', '/v1/tenants', {
      role: 'sales',
      body: {
        id: 'gone-co',
        name: 'Gone Co',
        tier: 'basic',
        region: 'local-a',
        adminEmail: 'a@gone.example',
      },
    });
    expect(again).toMatchObject({ status: 409, body: { type: problem('tenant-exists') } });
    expect(again.body.detail).toContain('2026-01-31T00:01:00.000Z');
    expect(again.body.detail).toContain('op-gone');
    const erasure = await call(api(), 'POST', '/v1/tenants/gone-co/erasures', {
      body: { subject: 's-1', reason: 'r' },
    });
    expect(erasure).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    const offboard = await call(api(), 'POST', '/v1/tenants/gone-co/offboard', { body: { reason: 'r' } });
    expect(offboard).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(
      api().lifecycle.calls.filter((c) => c.tenantId === 'gone-co' && c.method !== 'createTenant'),
    ).toEqual([]);
  });
});
