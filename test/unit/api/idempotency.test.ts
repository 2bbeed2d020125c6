import { describe, expect, it } from 'vitest';
import { call, operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();

const body = {
  id: 'idem-co',
  name: 'Idem',
  tier: 'basic',
  region: 'local-a',
  adminEmail: 'a@idem.example',
  labels: { a: '1', b: '2' },
};

describe('Idempotency-Key', () => {
  it('replays the first answer for the same key and body (in any key order), starting nothing new', async () => {
    const headers = { 'idempotency-key': 'create-idem-co' };
    const first = await call(api(), 'POST', '/v1/tenants', { body, headers });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const calls = api().lifecycle.calls.length;

    const reordered = {
      labels: { b: '2', a: '1' },
      adminEmail: body.adminEmail,
      region: body.region,
      tier: body.tier,
      name: body.name,
      id: body.id,
    };
    const second = await call(api(), 'POST', '/v1/tenants', { body: reordered, headers });
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(second.body).toEqual(first.body);
    expect(api().lifecycle.calls.length).toBe(calls);
    expect(await operationCount(api().store)).toBe(1);
  });

  it('answers 409 IdempotencyKeyReused for the same key with another body', async () => {
    const res = await call(api(), 'POST', '/v1/tenants', {
      body: { ...body, name: 'Other' },
      headers: { 'idempotency-key': 'create-idem-co' },
    });
    expect(res.status).toBe(409);
    expect(res.body.type).toBe('https://landlord.dev/problems/idempotency-key-reused');
  });

  it('keeps keys per caller: the same key from another key holder is a new request', async () => {
    const res = await call(api(), 'POST', '/v1/tenants', {
      role: 'sales',
      body,
      headers: { 'idempotency-key': 'create-idem-co' },
    });
    expect(res.status).toBe(409);
    expect(res.body.type).toBe('https://landlord.dev/problems/tenant-exists');
  });

  it('replays a 4xx answer too', async () => {
    const headers = { 'idempotency-key': 'suspend-ghost' };
    const first = await call(api(), 'POST', '/v1/tenants/ghost-co/suspend', { headers });
    const second = await call(api(), 'POST', '/v1/tenants/ghost-co/suspend', { headers });
    expect(first.status).toBe(404);
    expect(second.status).toBe(404);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(second.body).toEqual(first.body);
  });

  it('answers 409 IdempotencyKeyInFlight while the first request is still running', async () => {
    await api().lifecycle.finishOnboarding('idem-co');
    const original = api().lifecycle.requestTenantOperation.bind(api().lifecycle);
    let release!: () => void;
    let entered!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    api().lifecycle.requestTenantOperation = async (...args) => {
      entered();
      await gate;
      return original(...args);
    };
    try {
      const headers = { 'idempotency-key': 'suspend-idem-co' };
      const slow = call(api(), 'POST', '/v1/tenants/idem-co/suspend', { headers });
      await inHandler;
      const concurrent = await call(api(), 'POST', '/v1/tenants/idem-co/suspend', { headers });
      expect(concurrent.status).toBe(409);
      expect(concurrent.body.type).toBe('https://landlord.dev/problems/idempotency-key-in-flight');
      release();
      expect((await slow).status).toBe(202);
    } finally {
      api().lifecycle.requestTenantOperation = original;
    }
  });

  it('forgets the key after a 5xx so that the client can retry with it', async () => {
    const original = api().lifecycle.requestTenantOperation.bind(api().lifecycle);
    api().lifecycle.requestTenantOperation = async () => {
      throw Object.assign(new Error('relation "secret_table" does not exist'), { name: 'DatabaseError' });
    };
    const headers = { 'idempotency-key': 'resume-idem-co' };
    try {
      const failed = await call(api(), 'POST', '/v1/tenants/idem-co/resume', { headers });
      expect(failed.status).toBe(500);
      expect(failed.body.type).toBe('https://landlord.dev/problems/internal-error');
      expect(JSON.stringify(failed.body)).not.toMatch(/secret_table|DatabaseError|at /);
      const logged = api().logLines.join('');
      expect(logged).toContain('"errorName":"DatabaseError"');
      expect(logged).not.toContain('secret_table');
    } finally {
      api().lifecycle.requestTenantOperation = original;
    }
    const retried = await call(api(), 'POST', '/v1/tenants/idem-co/resume', { headers });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('takes over a key left in flight by an API process that died mid-request, for the same request only', async () => {
    const headers = { 'idempotency-key': 'orphaned-suspend' };
    const path = '/v1/tenants/idem-co/suspend';
    // What a process killed while waiting on its workflow leaves behind: a key with no answer.
    const keyId = (await api().store.apiKeys.authenticate(api().keys.admin))!.id;
    const { requestFingerprint } = await import('../../../api/idempotency.js');
    const fingerprint = requestFingerprint({ method: 'POST', path, body: undefined } as never);
    expect(await api().store.idempotency.begin(keyId, headers['idempotency-key'], fingerprint)).toEqual({
      state: 'new',
    });
    api().advanceClock(60 * 60_000);
    const other = await call(api(), 'POST', '/v1/tenants/idem-co/resume', { headers });
    expect(other.body.type).toBe('https://landlord.dev/problems/idempotency-key-reused');
    const taken = await call(api(), 'POST', path, { headers });
    expect(taken.status).toBe(202);
    expect(taken.headers.get('idempotent-replayed')).toBeNull();
    const replayed = await call(api(), 'POST', path, { headers });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
  });

  it('forgets a key 24 hours after its answer: the same key then starts a new request, and the old one is deleted', async () => {
    const headers = { 'idempotency-key': 'expiring-key' };
    const { status } = (await call(api(), 'GET', '/v1/tenants/idem-co')).body;
    const [one, other] = status === 'suspended' ? ['resume', 'suspend'] : ['suspend', 'resume'];
    const first = await call(api(), 'POST', `/v1/tenants/idem-co/${one}`, { headers });
    expect(first.status).toBe(202);
    api().advanceClock(23 * 3_600_000);
    const reused = await call(api(), 'POST', `/v1/tenants/idem-co/${other}`, { headers });
    expect(reused.body.type).toBe('https://landlord.dev/problems/idempotency-key-reused');
    api().advanceClock(2 * 3_600_000);
    const calls = api().lifecycle.calls.length;
    const fresh = await call(api(), 'POST', `/v1/tenants/idem-co/${other}`, { headers });
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    expect(api().lifecycle.calls.length).toBe(calls + 1);
    // The purge deletes what has expired, and only that.
    api().advanceClock(25 * 3_600_000);
    const { purgeExpiredKeys } = await import('../../../api/idempotency.js');
    const logged: unknown[] = [];
    const purging = purgeExpiredKeys(api().store.idempotency, {
      info: (o: unknown) => void logged.push(o),
      warn: () => undefined,
    } as never);
    await purging.done;
    purging.stop();
    expect(api().store.idempotency.claims.size).toBe(0);
    expect(logged).toEqual([{ purged: expect.any(Number) }]);
  });
});
