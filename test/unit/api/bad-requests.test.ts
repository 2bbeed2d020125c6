import { describe, expect, it } from 'vitest';
import { badRequests, sendBadRequest } from '../../support/bad-requests.js';
import { operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();

describe('bad requests', () => {
  it('has a broad table', () => {
    expect(badRequests.length).toBeGreaterThanOrEqual(45);
    expect(new Set(badRequests.map((c) => c.name)).size).toBe(badRequests.length);
  });

  it.each(badRequests.map((c) => [c.name, c] as const))('refuses: %s', async (_name, badRequest) => {
    const answer = await sendBadRequest(api().baseUrl, badRequest, (role) => api().keys[role]);
    expect(answer.status, JSON.stringify(answer.body)).toBe(badRequest.expectStatus);
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    const body = answer.body as Record<string, unknown>;
    expect(body.status).toBe(badRequest.expectStatus);
    if (badRequest.expectType) expect(body.type).toBe(badRequest.expectType);
    expect(typeof body.requestId).toBe('string');
    expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(ts|js):\d+|SELECT |INSERT |llk_/);
    expect(api().lifecycle.calls).toEqual([]);
    expect(await operationCount(api().store)).toBe(0);
    expect(await api().store.tenants.get('bad-request-probe')).toBeUndefined();
    expect(await api().store.retentionRuns.list({ limit: 1 })).toEqual([]);
    expect(api().lifecycle.retentionRuns).toEqual([]);
    expect(api().lifecycle.scheduleTriggers).toBe(0);
  });
});
