import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

describe('GET /v1/audit', () => {
  it('shows an admin every event, those about no tenant included, filtered and in pages', async () => {
    const created = await call(api(), 'POST', '/v1/api-keys', { body: { name: 'auditor', role: 'viewer' } });
    expect(created.status).toBe(201);
    await call(api(), 'DELETE', `/v1/api-keys/${created.body.key.id}`);
    await api().store.audit.append({
      eventKey: 'tenant-event',
      tenantId: 'audit-co',
      actor: 'key_x',
      action: 'tenant.suspend',
      outcome: 'succeeded',
    });

    const all = await call(api(), 'GET', '/v1/audit');
    expect(all.status).toBe(200);
    expect(all.body.items.map((e: { action: string }) => e.action)).toEqual([
      'api-key.create',
      'api-key.revoke',
      'tenant.suspend',
    ]);
    const untenanted = await call(api(), 'GET', '/v1/audit?tenant=none');
    expect(untenanted.body.items.map((e: { action: string }) => e.action)).toEqual([
      'api-key.create',
      'api-key.revoke',
    ]);
    expect(untenanted.body.items[0].detail).toMatchObject({ keyId: created.body.key.id, role: 'viewer' });
    const ofTenant = await call(api(), 'GET', '/v1/audit?tenant=audit-co');
    expect(ofTenant.body.items).toHaveLength(1);
    const revokes = await call(api(), 'GET', '/v1/audit?action=api-key.revoke');
    expect(revokes.body.items).toHaveLength(1);

    const page1 = await call(api(), 'GET', '/v1/audit?limit=2');
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.nextAfterSeq).toBe(page1.body.items[1].seq);
    const page2 = await call(api(), 'GET', `/v1/audit?limit=2&afterSeq=${page1.body.nextAfterSeq}`);
    expect(page2.body.items.map((e: { action: string }) => e.action)).toEqual(['tenant.suspend']);
    expect(page2.body.nextAfterSeq).toBeUndefined();

    const since = all.body.items[0].at;
    const future = await call(api(), 'GET', '/v1/audit?since=2999-01-01T00:00:00Z');
    expect(future.body.items).toEqual([]);
    const before = await call(api(), 'GET', `/v1/audit?until=${encodeURIComponent(since)}`);
    expect(before.body.items).toEqual([]);
    // An offset is read as the instant it names.
    const offset = await call(api(), 'GET', '/v1/audit?since=2000-01-01T02:00:00%2B02:00');
    expect(offset.body.items).toHaveLength(3);
  });
});
