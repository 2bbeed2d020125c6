import { describe, expect, it } from 'vitest';
import { badRequests, sendBadRequest } from '../../support/bad-requests.js';
import { routeTable } from '../../../api/routes/route-table.js';
import { call, operationCount, useApiHarness } from './api-harness.js';

/** The route a request reaches, when it reaches one. */
function routeOf(method: string, url: string) {
  const path = url.split('?')[0]!;
  return routeTable.find(
    (route) =>
      route.method === method.toLowerCase() &&
      new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
}

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
    expect(await api().store.verifications.list({ limit: 1 })).toEqual([]);
    expect(api().lifecycle.verificationRuns).toEqual([]);
    expect(api().lifecycle.scheduleTriggers).toBe(0);
    expect(await api().store.erasures.list('acme-corp', { limit: 1 })).toEqual([]);
  });

  it('answers only statuses the OpenAPI document lists for the route', async () => {
    const doc = (await call(api(), 'GET', '/openapi.json', { role: 'none' })).body;
    const undocumented = badRequests.flatMap((c) => {
      const route = routeOf(c.method, c.path);
      if (!route) return [];
      const listed = Object.keys(doc.paths[route.path][route.method].responses);
      return listed.includes(String(c.expectStatus))
        ? []
        : [`${c.name}: ${c.expectStatus} (${route.operationId})`];
    });
    expect(undocumented).toEqual([]);
  });

  it('names the data classes wherever a request names one', async () => {
    const schemas = (await call(api(), 'GET', '/openapi.json', { role: 'none' })).body.components.schemas;
    const classes = ['personal', 'business', 'content', 'telemetry'];
    expect(schemas.StartRetentionRunRequest.properties.dataClasses.items.enum).toEqual(classes);
    expect(schemas.PlaceLegalHoldRequest.properties.dataClasses.items.enum).toEqual(classes);
    expect(schemas.SetRetentionRequest.properties.dataClasses.propertyNames.enum).toEqual(classes);
  });
});
