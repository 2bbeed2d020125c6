import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string): Promise<void> {
  const body = { id, name: id, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
}

describe('legal holds', () => {
  it('are placed and released by legal and admins with a reason, seen by operators, and audited', async () => {
    await tenant('held-co');
    const placed = await call(api(), 'POST', '/v1/tenants/held-co/legal-holds', {
      role: 'legal',
      body: {
        reason: 'Case 2026-117',
        dataClasses: ['telemetry'],
        subjects: ['user-7'],
        until: '2031-06-30',
      },
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      tenantId: 'held-co',
      reason: 'Case 2026-117',
      dataClasses: ['telemetry'],
      subjects: ['user-7'],
      until: '2031-06-30T23:59:59.999Z',
    });
    expect(placed.headers.get('location')).toBe(`/v1/tenants/held-co/legal-holds/${placed.body.id}`);
    const whole = await call(api(), 'POST', '/v1/tenants/held-co/legal-holds', { body: { reason: 'audit' } });
    expect(whole.body).not.toHaveProperty('dataClasses');

    const listed = await call(api(), 'GET', '/v1/tenants/held-co/legal-holds', { role: 'operator' });
    expect(listed.body.items.map((h: { id: string; active: boolean }) => [h.id, h.active])).toEqual([
      [placed.body.id, true],
      [whole.body.id, true],
    ]);

    const release = (role: 'legal' | 'admin', reason: string) =>
      call(api(), 'DELETE', `/v1/tenants/held-co/legal-holds/${placed.body.id}`, { role, body: { reason } });
    const released = await release('legal', 'settled out of court');
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ releaseReason: 'settled out of court' });
    // Releasing again is safe to retry: the hold as released, nothing recorded twice.
    const again = await release('admin', 'again');
    expect(again).toMatchObject({ status: 200, body: { releaseReason: 'settled out of court' } });
    const after = await call(api(), 'GET', '/v1/tenants/held-co/legal-holds', { role: 'legal' });
    expect(after.body.items.map((h: { active: boolean }) => h.active)).toEqual([false, true]);

    const events = await call(api(), 'GET', '/v1/tenants/held-co/events');
    const trail = events.body.items
      .filter((e: { action: string }) => e.action.startsWith('legal-hold.'))
      .map((e: { action: string; actorRole: string; detail: Record<string, unknown> }) => [
        e.action,
        e.actorRole,
        e.detail.reason,
      ]);
    expect(trail).toEqual([
      ['legal-hold.place', 'legal', 'Case 2026-117'],
      ['legal-hold.place', 'admin', 'audit'],
      ['legal-hold.release', 'legal', 'settled out of court'],
    ]);
    // The trail counts subjects; it does not name them.
    expect(JSON.stringify(events.body)).not.toContain('user-7');
  });

  it('refuses unknown data classes, a past until and unknown holds, changing nothing', async () => {
    await tenant('strict-co');
    const place = (body: object) => call(api(), 'POST', '/v1/tenants/strict-co/legal-holds', { body });
    const unknown = await place({ reason: 'r', dataClasses: ['telemetry', 'dna'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toBe(
      'dataClasses: unknown data class "dna"; known: personal, business, content, telemetry',
    );
    const past = await place({ reason: 'r', until: '2020-01-01' });
    expect([past.status, past.body.detail]).toEqual([400, 'until: must be in the future']);
    const missing = await call(api(), 'DELETE', '/v1/tenants/strict-co/legal-holds/hold_0a1b2c3d4e5f6071', {
      body: { reason: 'r' },
    });
    expect(missing.status).toBe(404);
    expect((await call(api(), 'GET', '/v1/tenants/strict-co/legal-holds')).body).toEqual({ items: [] });
  });

  it("ask an AWS or GCP silo's workflow to bring its buckets' rules in line, and say when they could not", async () => {
    // As onboarded in a region whose network regions.json names (this config names none).
    const at = new Date().toISOString();
    await api().store.tenants.upsert({
      id: 'cloud-co',
      name: 'Cloud Co',
      tier: 'enterprise',
      region: 'aws-eu-west-1',
      drRegion: 'aws-eu-central-1',
      adminEmail: 'a@cloud.example',
      features: {},
      labels: {},
      deploymentModel: 'silo',
      status: 'active',
      resources: {},
      createdAt: at,
      updatedAt: at,
      version: 1,
    });
    const syncs = () =>
      api().lifecycle.calls.filter((c) => c.kind === 'sync-storage-rules' && c.tenantId === 'cloud-co')
        .length;

    const placed = await call(api(), 'POST', '/v1/tenants/cloud-co/legal-holds', {
      role: 'legal',
      body: { reason: 'Case 9', dataClasses: ['personal'] },
    });
    expect(placed.status).toBe(201);
    expect(placed.body.storageRules).toEqual({ operationId: expect.any(String) });
    const op = await call(api(), 'GET', `/v1/operations/${placed.body.storageRules.operationId}`);
    expect(op.body).toMatchObject({ kind: 'sync-storage-rules', tenantId: 'cloud-co' });
    expect(syncs()).toBe(1);

    // Temporal is down: the hold stands, and the answer says the buckets were not told.
    api().lifecycle.operationsUnavailable = true;
    try {
      const held = await call(api(), 'POST', '/v1/tenants/cloud-co/legal-holds', {
        role: 'legal',
        body: { reason: 'Case 10' },
      });
      expect(held.status).toBe(201);
      expect(held.body.storageRules.error).toMatch(/POST \/v1\/tenants\/cloud-co\/storage-rules/);
      expect((await call(api(), 'GET', '/v1/tenants/cloud-co/legal-holds')).body.items).toHaveLength(2);
    } finally {
      api().lifecycle.operationsUnavailable = false;
    }
    // Asked again by hand, then by a release.
    const again = await call(api(), 'POST', '/v1/tenants/cloud-co/storage-rules', { role: 'legal' });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ kind: 'sync-storage-rules' });
    const released = await call(api(), 'DELETE', `/v1/tenants/cloud-co/legal-holds/${placed.body.id}`, {
      role: 'legal',
      body: { reason: 'closed' },
    });
    expect(released.body.storageRules).toEqual({ operationId: expect.any(String) });
    expect(syncs()).toBe(4);

    // A retention change of the tenant reaches its buckets too, and an operator may ask again.
    const changed = await call(api(), 'PUT', '/v1/tenants/cloud-co/retention', {
      role: 'operator',
      body: { dataClasses: { telemetry: { days: 30 } } },
    });
    expect(changed.status).toBe(202);
    expect(changed.body).toMatchObject({ kind: 'set-retention' });
    expect(changed.headers.get('storage-rules-operation')).toMatch(/^\/v1\/operations\//);
    expect(
      (await call(api(), 'POST', '/v1/tenants/cloud-co/storage-rules', { role: 'operator' })).status,
    ).toBe(202);
    expect(syncs()).toBe(6);
    // The change is taken, but the rules' operation cannot be asked for: the answer says so.
    api().lifecycle.operationsUnavailable = true;
    try {
      const taken = await call(api(), 'PUT', '/v1/tenants/cloud-co/retention', {
        role: 'operator',
        body: { dataClasses: { telemetry: { days: 20 } } },
      });
      expect(taken.status).toBe(202);
      expect(taken.headers.get('storage-rules-operation')).toBeNull();
      expect(taken.headers.get('storage-rules-error')).toMatch(/POST \/v1\/tenants\/cloud-co\/storage-rules/);
    } finally {
      api().lifecycle.operationsUnavailable = false;
    }
  });

  it('leave the rules of pool and local silo tenants to the retention run, which reads holds itself', async () => {
    await tenant('pool-co');
    const silo = {
      id: 'local-silo-co',
      name: 'Local Silo',
      tier: 'premium',
      region: 'local-a',
      adminEmail: 'a@ls.example',
    };
    expect((await call(api(), 'POST', '/v1/tenants', { body: silo })).status).toBe(202);
    await api().lifecycle.finishOnboarding('local-silo-co');
    for (const id of ['pool-co', 'local-silo-co']) {
      const placed = await call(api(), 'POST', `/v1/tenants/${id}/legal-holds`, { body: { reason: 'r' } });
      expect(placed.status).toBe(201);
      expect(placed.body).not.toHaveProperty('storageRules');
      const asked = await call(api(), 'POST', `/v1/tenants/${id}/storage-rules`, { role: 'legal' });
      expect(asked.status, id).toBe(409);
    }
    expect(
      api().lifecycle.calls.filter((c) => c.kind === 'sync-storage-rules' && c.tenantId !== 'cloud-co'),
    ).toEqual([]);
  });
});
