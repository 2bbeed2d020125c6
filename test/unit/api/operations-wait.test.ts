import { describe, expect, it } from 'vitest';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

describe('GET /v1/operations/{id}?wait=', () => {
  it('answers a running operation as soon as it ends, not when the wait is over', async () => {
    const created = await call(api(), 'POST', '/v1/tenants', {
      role: 'sales',
      body: { name: 'Waiting Co', tier: 'basic', region: 'local-a', adminEmail: 'a@wait.example' },
    });
    expect(created.status).toBe(202);
    // Were the end not noticed, the 30 s wait would outlast this test's 10 s.
    const waited = call(api(), 'GET', `/v1/operations/${created.body.id}?wait=30s`, { role: 'viewer' });
    await new Promise((r) => setTimeout(r, 100));
    await api().lifecycle.finishOnboarding('waiting-co');
    const answer = await waited;
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('succeeded');
    // An ended operation is answered at once, whatever the wait.
    const again = await call(api(), 'GET', `/v1/operations/${created.body.id}?wait=30s`);
    expect(again.body.status).toBe('succeeded');
  }, 10_000);

  it('answers a still-running operation when the wait is over', async () => {
    const created = await call(api(), 'POST', '/v1/tenants', {
      body: { name: 'Still Co', tier: 'basic', region: 'local-a', adminEmail: 'a@still.example' },
    });
    const answer = await call(api(), 'GET', `/v1/operations/${created.body.id}?wait=200ms`);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('running');
    const zero = await call(api(), 'GET', `/v1/operations/${created.body.id}?wait=0s`);
    expect(zero.body.status).toBe('running');
  });
});
