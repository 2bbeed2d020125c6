import { describe, expect, it } from 'vitest';
import type { Role } from '../../../domain/index.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

const tenant = (id: string) => ({
  id,
  name: `Tenant ${id}`,
  tier: 'basic',
  region: 'local-a',
  adminEmail: `ops@${id}.example`,
});

describe('authentication', () => {
  it('answers 401 with a Bearer challenge without a key, with an unknown key, and with a revoked key', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer llk_nope' },
      { authorization: 'Token abc' },
    ];
    for (const headers of attempts) {
      const res = await call(api(), 'GET', '/v1/tenants', { role: 'none', headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toBe('https://landlord.dev/problems/unauthenticated');
    }
  });

  it('lets each role do exactly what PERMISSIONS grants', async () => {
    const cases: [Role, number][] = [
      ['viewer', 403],
      ['operator', 403],
      ['sales', 202],
      ['admin', 202],
    ];
    for (const [role, status] of cases) {
      const res = await call(api(), 'POST', '/v1/tenants', { role, body: tenant(`by-${role}`) });
      expect(res.status, `${role} creating`).toBe(status);
    }
    for (const role of ['viewer', 'sales', 'operator', 'admin'] as const) {
      expect((await call(api(), 'GET', '/v1/tenants', { role })).status, `${role} listing`).toBe(200);
    }
    await api().lifecycle.finishOnboarding('by-sales');
    expect((await call(api(), 'POST', '/v1/tenants/by-sales/suspend', { role: 'sales' })).status).toBe(403);
    expect((await call(api(), 'POST', '/v1/tenants/by-sales/suspend', { role: 'operator' })).status).toBe(
      202,
    );
    expect((await call(api(), 'GET', '/v1/api-keys', { role: 'operator' })).status).toBe(403);
  });

  it('records a rejected mutation by an authenticated caller in the tenant audit trail', async () => {
    await call(api(), 'POST', '/v1/tenants', { role: 'admin', body: tenant('audited-co') });
    const res = await call(api(), 'POST', '/v1/tenants/audited-co/suspend', {
      role: 'sales',
      headers: { 'x-request-id': 'req-audit-1' },
    });
    expect(res.status).toBe(403);
    const events = await call(api(), 'GET', '/v1/tenants/audited-co/events');
    expect(events.status).toBe(200);
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        action: 'tenant.suspend',
        outcome: 'rejected',
        requestId: 'req-audit-1',
        actorRole: 'sales',
        detail: expect.objectContaining({ problemType: 'https://landlord.dev/problems/forbidden' }),
      }),
    );
  });
});

describe('API keys', () => {
  it('creates a key whose secret works once shown, lists keys without secrets, and revokes it', async () => {
    const created = await call(api(), 'POST', '/v1/api-keys', { body: { name: 'ci', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatchObject({ name: 'ci', role: 'viewer' });
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^llk_/);

    const asViewer = await fetch(`${api().baseUrl}/v1/tenants`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(asViewer.status).toBe(200);

    const listed = await call(api(), 'GET', '/v1/api-keys');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((k: { id: string }) => k.id)).toContain(created.body.key.id);
    expect(JSON.stringify(listed.body)).not.toMatch(/llk_|secret|hash/i);

    expect((await call(api(), 'DELETE', `/v1/api-keys/${created.body.key.id}`)).status).toBe(204);
    // Revoking again changes nothing and says so the same way: a DELETE is idempotent.
    expect((await call(api(), 'DELETE', `/v1/api-keys/${created.body.key.id}`)).status).toBe(204);
    const revoked = await fetch(`${api().baseUrl}/v1/tenants`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(revoked.status).toBe(401);
    await revoked.body?.cancel();
    await asViewer.body?.cancel();
  });

  it('never replays a secret for a repeated Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'key-create-1' };
    const first = await call(api(), 'POST', '/v1/api-keys', {
      body: { name: 'deploy', role: 'operator' },
      headers,
    });
    const second = await call(api(), 'POST', '/v1/api-keys', {
      body: { name: 'deploy', role: 'operator' },
      headers,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.key.id).toBe(first.body.key.id);
    expect(second.body.secret).toBeUndefined();
    const kept = JSON.stringify([...api().store.idempotency.claims.values()]);
    expect(kept).toContain(first.body.key.id);
    expect(kept).not.toContain(first.body.secret);
  });
});
