import { describe, expect, it } from 'vitest';
import { LandlordError } from '../../../domain/index.js';
import { expressPath } from '../../../api/mount-routes.js';
import { routeTable } from '../../../api/routes/route-table.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

describe('probes', () => {
  it('answers /healthz without a key', async () => {
    const res = await call(api(), 'GET', '/healthz', { role: 'none' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('is ready when the registry and Temporal answer, and says which one did not otherwise', async () => {
    expect((await call(api(), 'GET', '/readyz', { role: 'none' })).body).toEqual({
      status: 'ready',
      checks: { registry: 'ok', temporal: 'ok' },
    });
    api().lifecycle.pingFails = true;
    try {
      const res = await call(api(), 'GET', '/readyz', { role: 'none' });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        type: 'https://landlord.dev/problems/service-unavailable',
        checks: { registry: 'ok', temporal: 'failed' },
      });
      expect(JSON.stringify(res.body)).not.toContain('ECONNREFUSED');
    } finally {
      api().lifecycle.pingFails = false;
    }
  });

  it('maps a ServiceUnavailable from the lifecycle to 503', async () => {
    const original = api().lifecycle.createTenant.bind(api().lifecycle);
    api().lifecycle.createTenant = async () => {
      throw new LandlordError('ServiceUnavailable', 'Temporal at 10.0.0.7:7233 refused');
    };
    try {
      const res = await call(api(), 'POST', '/v1/tenants', {
        body: { name: 'Down Co', tier: 'basic', region: 'local-a', adminEmail: 'a@down.example' },
      });
      expect(res.status).toBe(503);
      expect(res.body.detail).not.toContain('10.0.0.7');
    } finally {
      api().lifecycle.createTenant = original;
    }
  });
});

describe('request ids', () => {
  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const kept = await call(api(), 'GET', '/healthz', { headers: { 'x-request-id': 'abc.DEF:123-_' } });
    expect(kept.headers.get('x-request-id')).toBe('abc.DEF:123-_');
    const replaced = await call(api(), 'GET', '/v1/nowhere', {
      headers: { 'x-request-id': 'bad id<script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.body.requestId).toBe(replaced.headers.get('x-request-id'));
    expect(replaced.body.instance).toBe('/v1/nowhere');
  });
});

describe('metrics', () => {
  it('counts requests by route template and status, next to the default process metrics', async () => {
    await call(api(), 'GET', '/v1/tenants/some-tenant', { role: 'viewer' });
    const res = await fetch(`${api().baseUrl}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toMatch(
      /landlord_http_requests_total\{method="GET",route="\/v1\/tenants\/\{id\}",status="404"\} 1/,
    );
    expect(text).toContain('landlord_http_request_duration_seconds_bucket');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain('some-tenant');
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document listing every route with its problem responses and bearer security', async () => {
    const res = await call(api(), 'GET', '/openapi.json', { role: 'none' });
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const route of routeTable) {
      const op = doc.paths[route.path]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op.operationId).toBe(route.operationId);
      if (route.permission) {
        expect(op.security).toEqual([{ bearerAuth: [] }]);
        expect(op.responses['401'].content['application/problem+json'].schema.$ref).toBe(
          '#/components/schemas/Problem',
        );
      }
    }
    const paths = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    );
    expect(paths.sort()).toEqual(routeTable.map((r) => `${r.method} ${r.path}`).sort());
    expect(doc.paths['/v1/tenants'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/CreateTenantRequest',
    );
    expect(doc.components.schemas.CreateTenantRequest.additionalProperties).toBe(false);
    expect(doc.paths['/v1/tenants'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['tier', 'region', 'status', 'limit', 'cursor']),
    );
  });

  it('derives express paths from the same route table', () => {
    expect(expressPath('/v1/tenants/{id}/suspend')).toBe('/v1/tenants/:id/suspend');
  });
});

describe('bodies', () => {
  it('accepts bodyless POSTs with no content type, and an empty JSON object', async () => {
    await call(api(), 'POST', '/v1/tenants', {
      body: {
        id: 'bodyless-co',
        name: 'Bodyless',
        tier: 'basic',
        region: 'local-a',
        adminEmail: 'a@b.example',
      },
    });
    await api().lifecycle.finishOnboarding('bodyless-co');
    const bare = await fetch(`${api().baseUrl}/v1/tenants/bodyless-co/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api().keys.operator}` },
    });
    expect(bare.status).toBe(202);
    await bare.body?.cancel();
    const empty = await call(api(), 'POST', '/v1/tenants/bodyless-co/resume', { role: 'operator', body: {} });
    expect(empty.status).toBe(202);
  });

  it('answers 413 for a body over 1 MiB and 415 for a non-JSON content type', async () => {
    const big = await call(api(), 'POST', '/v1/tenants', { body: { name: 'x'.repeat(1024 * 1024 + 1) } });
    expect(big.status).toBe(413);
    expect(big.body.type).toBe('https://landlord.dev/problems/payload-too-large');
    const text = await call(api(), 'POST', '/v1/api-keys', {
      body: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const malformed = await call(api(), 'POST', '/v1/api-keys', {
      body: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.type).toBe('https://landlord.dev/problems/malformed-body');
  });
});

describe('logs', () => {
  it('never carry keys, Authorization headers or bodies', async () => {
    await call(api(), 'POST', '/v1/tenants', {
      body: { name: 'Log Probe', tier: 'basic', region: 'local-a', adminEmail: 'private@probe.example' },
    });
    await call(api(), 'GET', '/v1/tenants', {
      role: 'none',
      headers: { authorization: 'Bearer llk_guessed-secret-value' },
    });
    const logged = api().logLines.join('');
    expect(logged).toContain('"route":"/v1/tenants"');
    for (const secret of [...Object.values(api().keys), 'llk_guessed-secret-value', 'private@probe.example'])
      expect(logged).not.toContain(secret);
    expect(logged.toLowerCase()).not.toContain('authorization');
  });
});
