import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string): Promise<void> {
  const body = { id, name: id, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

const SUBJECT = '5b1f0c9e-8d7a-4c3b-9e21-6f4a2d1c0b9e';

describe('erasure requests', () => {
  it('are recorded, carried out by an erase-subject operation, and never show their subject', async () => {
    await tenant('erase-co');
    const asked = await call(api(), 'POST', '/v1/tenants/erase-co/erasures', {
      role: 'legal',
      body: { subject: SUBJECT, reason: 'Art. 17 request #12', receivedAt: '2026-11-20T10:00:00+01:00' },
    });
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({
      kind: 'erase-subject',
      tenantId: 'erase-co',
      input: { erasureId: asked.body.erasure.id },
      erasure: {
        status: 'queued',
        receivedAt: '2026-11-20T09:00:00.000Z',
        dueBy: '2026-12-20T09:00:00.000Z',
        requestedBy: expect.any(String),
        operationId: asked.body.id,
      },
    });
    expect(asked.headers.get('location')).toBe(`/v1/operations/${asked.body.id}`);
    expect(JSON.stringify(asked.body)).not.toContain(SUBJECT);
    // Only the id reaches the workflow: the subject waits in the registry for the data worker.
    expect(await api().store.erasures.subjectOf('erase-co', asked.body.erasure.id)).toBe(SUBJECT);

    const one = await call(api(), 'GET', `/v1/tenants/erase-co/erasures/${asked.body.erasure.id}`, {
      role: 'operator',
    });
    expect(one.body).toMatchObject({ id: asked.body.erasure.id, operationId: asked.body.id, overdue: false });
    expect(JSON.stringify(one.body)).not.toContain(SUBJECT);
    const unknown = await call(api(), 'GET', '/v1/tenants/erase-co/erasures/erasure_0a1b2c3d4e5f6071');
    expect(unknown).toMatchObject({ status: 404, body: { type: 'https://landlord.dev/problems/not-found' } });
  });

  it('lists requests newest first in pages, and flags and counts the overdue', async () => {
    await tenant('paged-co');
    const ids: string[] = [];
    for (const receivedAt of ['2020-01-01T00:00:00Z', undefined, undefined]) {
      const r = await call(api(), 'POST', '/v1/tenants/paged-co/erasures', {
        body: { subject: `s-${ids.length}`, reason: 'r', ...(receivedAt ? { receivedAt } : {}) },
      });
      expect(r.status).toBe(202);
      ids.push(r.body.erasure.id);
    }
    const first = await call(api(), 'GET', '/v1/tenants/paged-co/erasures?limit=2');
    expect(first.body.items.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextBefore).toBe(ids[1]);
    const rest = await call(api(), 'GET', `/v1/tenants/paged-co/erasures?limit=2&before=${ids[1]}`);
    expect(rest.body.items).toEqual([
      expect.objectContaining({ id: ids[0], overdue: true, dueBy: '2020-01-31T00:00:00.000Z' }),
    ]);
    expect(rest.body).not.toHaveProperty('nextBefore');
    const metrics = await call(api(), 'GET', '/metrics', { role: 'none' });
    expect(metrics.body).toMatch(/^landlord_erasures_overdue [1-9]\d*$/m);
  });

  it('keeps nothing of a request the tenant workflow refused or did not answer', async () => {
    await tenant('refused-co');
    api().lifecycle.operationsUnavailable = true;
    try {
      const down = await call(api(), 'POST', '/v1/tenants/refused-co/erasures', {
        body: { subject: 's-1', reason: 'r' },
      });
      expect(down.status).toBe(503);
    } finally {
      api().lifecycle.operationsUnavailable = false;
    }
    expect(await api().store.erasures.list('refused-co', { limit: 10 })).toEqual([]);
  });

  it('refuses a tenant that is not active or suspended before recording anything', async () => {
    await tenant('failed-co');
    await api().lifecycle.finishOnboarding('failed-co', 'failed');
    const refused = await call(api(), 'POST', '/v1/tenants/failed-co/erasures', {
      body: { subject: 's-1', reason: 'r' },
    });
    expect(refused).toMatchObject({
      status: 409,
      body: { type: 'https://landlord.dev/problems/invalid-transition' },
    });
    expect(await api().store.erasures.list('failed-co', { limit: 10 })).toEqual([]);
    expect(
      api().lifecycle.calls.filter((c) => c.tenantId === 'failed-co' && c.method === 'eraseSubject'),
    ).toEqual([]);
  });

  it('wakes erasures waiting for holds when a hold is released', async () => {
    await tenant('wake-co');
    const hold = await call(api(), 'POST', '/v1/tenants/wake-co/legal-holds', { body: { reason: 'case' } });
    await call(api(), 'DELETE', `/v1/tenants/wake-co/legal-holds/${hold.body.id}`, {
      body: { reason: 'done' },
    });
    expect(
      api()
        .lifecycle.calls.filter((c) => c.method === 'legalHoldsChanged')
        .map((c) => c.tenantId),
    ).toEqual(['wake-co']);
  });
});
