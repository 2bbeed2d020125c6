import { describe, expect, it } from 'vitest';
import type { TenantRecord } from '../../../domain/index.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

const PROBLEM_KEYS = ['detail', 'instance', 'requestId', 'status', 'title', 'type'];

describe('onboarding', () => {
  it('accepts a tenant with 202, points at the operation, and the operation can be read', async () => {
    const res = await call(api(), 'POST', '/v1/tenants', {
      role: 'sales',
      body: {
        name: 'Acme Corporation',
        tier: 'enterprise',
        region: 'local-a',
        adminEmail: 'Ops@Acme.Example',
        residency: 'EU',
      },
      headers: { 'x-request-id': 'req-create-acme' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('req-create-acme');
    expect(res.body).toMatchObject({ tenantId: 'acme-corporation', kind: 'onboard', status: 'running' });
    expect(res.headers.get('location')).toBe(`/v1/operations/${res.body.id}`);

    const op = await call(api(), 'GET', res.headers.get('location')!, { role: 'viewer' });
    expect(op.status).toBe(200);
    expect(op.body).toMatchObject({
      id: res.body.id,
      kind: 'onboard',
      actor: { role: 'sales', requestId: 'req-create-acme' },
    });
    expect(op.body.steps.map((s: { name: string }) => s.name)).toContain('create-partition');

    expect(api().lifecycle.calls.at(-1)).toMatchObject({
      method: 'createTenant',
      tenantId: 'acme-corporation',
    });
    const shown = await call(api(), 'GET', '/v1/tenants/acme-corporation');
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: 'acme-corporation',
      adminEmail: 'ops@acme.example',
      drRegion: 'local-b',
      status: 'provisioning',
    });
    expect(shown.body.operations).toEqual([expect.objectContaining({ id: res.body.id, kind: 'onboard' })]);
  });

  it('answers 409 TenantExists for a second tenant with the same id, without starting anything', async () => {
    const body = {
      id: 'dupe-co',
      name: 'Dupe',
      tier: 'basic',
      region: 'local-b',
      adminEmail: 'a@dupe.example',
    };
    expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
    const calls = api().lifecycle.calls.length;
    const again = await call(api(), 'POST', '/v1/tenants', { body: { ...body, name: 'Dupe again' } });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://landlord.dev/problems/tenant-exists');
    expect(api().lifecycle.calls.length).toBe(calls);
  });

  it('maps a TenantExists from the lifecycle (a race the registry has not seen yet) to 409', async () => {
    const body = {
      id: 'racer-co',
      name: 'Racer',
      tier: 'basic',
      region: 'local-a',
      adminEmail: 'a@racer.example',
    };
    const original = api().lifecycle.createTenant.bind(api().lifecycle);
    api().lifecycle.createTenant = async () => {
      throw new (await import('../../../domain/index.js')).LandlordError(
        'TenantExists',
        'tenant "racer-co" already exists',
      );
    };
    try {
      const res = await call(api(), 'POST', '/v1/tenants', { body });
      expect(res.status).toBe(409);
      expect(res.body.detail).toBe('tenant "racer-co" already exists');
    } finally {
      api().lifecycle.createTenant = original;
    }
  });

  it('answers 422 with the policy reason, and a problem document of the RFC 9457 shape', async () => {
    const res = await call(api(), 'POST', '/v1/tenants', {
      body: { name: 'Far Away', tier: 'enterprise', region: 'aws-us-east-1', adminEmail: 'a@far.example' },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Object.keys(res.body).sort()).toEqual(PROBLEM_KEYS);
    expect(res.body).toMatchObject({
      type: 'https://landlord.dev/problems/policy-violation',
      status: 422,
      instance: '/v1/tenants',
    });
    expect(res.body.detail).toMatch(/no DR partner/);
    expect(await api().store.tenants.get('far-away')).toBeUndefined();
  });

  it('lists validation issues with where, path, message and code', async () => {
    const res = await call(api(), 'POST', '/v1/tenants', {
      body: { name: 'X Co', tier: 'basic', region: 'local-a', adminEmail: 'nope', extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          in: 'body',
          path: ['adminEmail'],
          code: expect.any(String),
          message: expect.any(String),
        }),
        expect.objectContaining({ in: 'body', code: 'unrecognized_keys' }),
      ]),
    );
  });
});

describe('suspend and resume', () => {
  it('suspends, refuses a second suspend with a clear 409, and resumes', async () => {
    await call(api(), 'POST', '/v1/tenants', {
      body: {
        id: 'pause-co',
        name: 'Pause',
        tier: 'standard',
        region: 'local-a',
        adminEmail: 'a@pause.example',
      },
    });
    await api().lifecycle.finishOnboarding('pause-co');

    const suspended = await call(api(), 'POST', '/v1/tenants/pause-co/suspend', { role: 'operator' });
    expect(suspended.status).toBe(202);
    expect(suspended.body).toMatchObject({ kind: 'suspend', tenantId: 'pause-co' });
    expect(suspended.headers.get('location')).toBe(`/v1/operations/${suspended.body.id}`);
    expect((await api().store.tenants.get('pause-co'))?.status).toBe('suspended');

    const again = await call(api(), 'POST', '/v1/tenants/pause-co/suspend', { role: 'operator' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      type: 'https://landlord.dev/problems/invalid-transition',
      detail: 'the tenant is already suspended',
    });

    const resumed = await call(api(), 'POST', '/v1/tenants/pause-co/resume', { role: 'operator', body: {} });
    expect(resumed.status).toBe(202);
    expect((await api().store.tenants.get('pause-co'))?.status).toBe('active');
  });

  it('answers 404 for an unknown tenant without calling the lifecycle', async () => {
    const calls = api().lifecycle.calls.length;
    const res = await call(api(), 'POST', '/v1/tenants/ghost-co/suspend');
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('https://landlord.dev/problems/tenant-not-found');
    expect(api().lifecycle.calls.length).toBe(calls);
  });
});

describe('tier changes', () => {
  it('accepts PATCH from operators and maps refusals to 409, 422, 403, 400 and 404', async () => {
    await call(api(), 'POST', '/v1/tenants', {
      role: 'sales',
      body: { id: 'grow-co', name: 'Grow', tier: 'basic', region: 'local-a', adminEmail: 'a@grow.example' },
    });
    await api().lifecycle.finishOnboarding('grow-co');
    const patch = (body: unknown, role: 'operator' | 'sales' | 'viewer' | 'admin' = 'operator') =>
      call(api(), 'PATCH', '/v1/tenants/grow-co', { role, body });

    expect((await patch({ tier: 'premium' }, 'sales')).status).toBe(403);
    expect((await patch({ tier: 'premium' }, 'viewer')).status).toBe(403);
    expect((await patch({ tier: 'premium', name: 'x' })).status).toBe(400);
    const same = await patch({ tier: 'basic' });
    expect(same.status).toBe(409);
    expect(same.body.type).toBe('https://landlord.dev/problems/invalid-transition');
    const unknown = await patch({ tier: 'platinum' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toMatch(/unknown tier "platinum"/);
    expect((await call(api(), 'PATCH', '/v1/tenants/ghost-co', { body: { tier: 'premium' } })).status).toBe(
      404,
    );

    const moved = await patch({ tier: 'premium' });
    expect(moved.status).toBe(202);
    expect(moved.body).toMatchObject({
      kind: 'change-tier',
      tenantId: 'grow-co',
      input: { tier: 'premium' },
    });
    expect(moved.headers.get('location')).toBe(`/v1/operations/${moved.body.id}`);
    expect(api().lifecycle.calls.at(-1)).toMatchObject({ method: 'changeTenantTier', tenantId: 'grow-co' });
  });
});

describe('operations', () => {
  it('cancels a running operation, refuses to cancel it twice, then retries it', async () => {
    const created = await call(api(), 'POST', '/v1/tenants', {
      body: { id: 'cancel-co', name: 'Cancel', tier: 'basic', region: 'local-a', adminEmail: 'a@c.example' },
    });
    const id = created.body.id as string;
    expect((await call(api(), 'POST', `/v1/operations/${id}/retry`, { role: 'operator' })).status).toBe(409);

    const cancelled = await call(api(), 'POST', `/v1/operations/${id}/cancel`, { role: 'operator' });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe('cancelled');
    const again = await call(api(), 'POST', `/v1/operations/${id}/cancel`, { role: 'operator' });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://landlord.dev/problems/operation-not-cancellable');

    const retried = await call(api(), 'POST', `/v1/operations/${id}/retry`, { role: 'admin' });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ status: 'running', run: 2 });
    expect((await call(api(), 'GET', `/v1/operations/${id}`)).body.run).toBe(2);
  });

  it('answers 404 OperationNotFound for an unknown operation', async () => {
    const res = await call(api(), 'GET', '/v1/operations/onboard-nobody-1', { role: 'viewer' });
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('https://landlord.dev/problems/operation-not-found');
  });
});

describe('listing', () => {
  it('pages through ~25 tenants with filters and cursors, oldest first, without gaps or repeats', async () => {
    const base = Date.parse('2020-01-01T00:00:00Z');
    const seeded: TenantRecord[] = Array.from({ length: 25 }, (_, i) => ({
      id: `list-${String(i).padStart(2, '0')}`,
      name: `List ${i}`,
      tier: i % 2 === 0 ? 'basic' : 'premium',
      region: i % 3 === 0 ? 'local-b' : 'local-a',
      deploymentModel: i % 2 === 0 ? 'pool' : 'silo',
      status: i % 5 === 0 ? 'suspended' : 'active',
      adminEmail: `a${i}@list.example`,
      features: {},
      labels: {},
      resources: {},
      // Several share a timestamp so that the id breaks ties.
      createdAt: new Date(base + Math.floor(i / 3) * 1000).toISOString(),
      updatedAt: new Date(base).toISOString(),
      version: 1,
    }));
    for (const t of seeded) await api().store.tenants.upsert(t);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(
        api(),
        'GET',
        `/v1/tenants?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { role: 'viewer' },
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((t: TenantRecord) => t.id));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    const listIds = seen.filter((id) => id.startsWith('list-'));
    expect(listIds).toEqual(seeded.map((t) => t.id));
    expect(new Set(seen).size).toBe(seen.length);

    const premiumInA = await call(api(), 'GET', '/v1/tenants?tier=premium&region=local-a&limit=100');
    expect(premiumInA.body.items.map((t: TenantRecord) => t.id)).toEqual(
      seeded.filter((t) => t.tier === 'premium' && t.region === 'local-a').map((t) => t.id),
    );
    expect(premiumInA.body.nextCursor).toBeUndefined();

    const suspended = await call(api(), 'GET', '/v1/tenants?status=suspended&limit=2');
    expect(suspended.body.items).toHaveLength(2);
    expect(suspended.body.items.every((t: TenantRecord) => t.status === 'suspended')).toBe(true);
    const rest = await call(
      api(),
      'GET',
      `/v1/tenants?status=suspended&limit=100&cursor=${encodeURIComponent(suspended.body.nextCursor)}`,
    );
    expect([...suspended.body.items, ...rest.body.items].map((t: TenantRecord) => t.id)).toEqual(
      seeded.filter((t) => t.status === 'suspended').map((t) => t.id),
    );

    expect((await call(api(), 'GET', '/v1/tenants')).body.items).toHaveLength(20);
  });

  it('answers 400 for a cursor it did not issue', async () => {
    const res = await call(api(), 'GET', '/v1/tenants?cursor=garbage');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ in: 'query', path: ['cursor'] })]);
  });
});
