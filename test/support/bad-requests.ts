/**
 * Requests the API must refuse before anything starts: every case answers with an
 * application/problem+json error, and no lifecycle operation may exist afterwards. Independent of
 * any fake, so the same table runs against the real stack. Unless `role` says otherwise, a case is
 * sent with a valid admin key, so the refusal is about the request and not the caller.
 */
import type { Role } from '../../domain/index.js';

export interface BadRequest {
  name: string;
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  path: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is (as application/json unless headers say otherwise). */
  body?: string | object;
  /** Whose key to send: a role's valid key (default admin), no Authorization header, or a key nobody issued. */
  role?: Role | 'none' | 'unknown-key';
  expectStatus: number;
  /** The problem `type` expected. */
  expectType?: string;
}

const problem = (kebab: string) => `https://landlord.dev/problems/${kebab}`;
const VALIDATION = problem('validation-failed');
const POLICY = problem('policy-violation');

/** A valid onboarding request; cases change one thing about it. */
export const validTenant = {
  name: 'Bad Request Probe',
  tier: 'basic',
  region: 'local-a',
  adminEmail: 'ops@probe.example',
};
const tenant = (change: Record<string, unknown>) => ({ ...validTenant, ...change });
const without = (field: keyof typeof validTenant) =>
  Object.fromEntries(Object.entries(validTenant).filter(([k]) => k !== field));

const createWith = (
  name: string,
  body: string | object,
  expectStatus = 400,
  expectType = VALIDATION,
): BadRequest => ({
  name,
  method: 'POST',
  path: '/v1/tenants',
  body,
  expectStatus,
  expectType,
});

/** Ids of tenants and operations that no test creates. */
const ABSENT_TENANT = 'no-such-tenant-zz';
const ABSENT_OPERATION = 'onboard-no-such-tenant-zz-999';

export const badRequests: BadRequest[] = [
  // --- authentication and roles ---------------------------------------------------------------
  {
    name: 'create without a key',
    method: 'POST',
    path: '/v1/tenants',
    body: validTenant,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'create with an unknown key',
    method: 'POST',
    path: '/v1/tenants',
    body: validTenant,
    role: 'unknown-key',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'list without a key',
    method: 'GET',
    path: '/v1/tenants',
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'operation with an unknown key',
    method: 'GET',
    path: `/v1/operations/${ABSENT_OPERATION}`,
    role: 'unknown-key',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'Basic instead of Bearer',
    method: 'GET',
    path: '/v1/tenants',
    role: 'none',
    headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'bearer with SQL in the token',
    method: 'GET',
    path: '/v1/tenants',
    role: 'none',
    headers: { authorization: "Bearer ' OR 1=1 --" },
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'viewer creating a tenant',
    method: 'POST',
    path: '/v1/tenants',
    body: validTenant,
    role: 'viewer',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'operator creating a tenant',
    method: 'POST',
    path: '/v1/tenants',
    body: validTenant,
    role: 'operator',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'sales suspending a tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/suspend`,
    role: 'sales',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'viewer resuming a tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/resume`,
    role: 'viewer',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'sales cancelling an operation',
    method: 'POST',
    path: `/v1/operations/${ABSENT_OPERATION}/cancel`,
    role: 'sales',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'viewer retrying an operation',
    method: 'POST',
    path: `/v1/operations/${ABSENT_OPERATION}/retry`,
    role: 'viewer',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'operator creating an API key',
    method: 'POST',
    path: '/v1/api-keys',
    body: { name: 'x', role: 'admin' },
    role: 'operator',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'sales listing API keys',
    method: 'GET',
    path: '/v1/api-keys',
    role: 'sales',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'viewer revoking an API key',
    method: 'DELETE',
    path: '/v1/api-keys/key_0000000000000000',
    role: 'viewer',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },

  // --- missing fields and wrong types ----------------------------------------------------------
  createWith('missing name', without('name')),
  createWith('missing tier', without('tier')),
  createWith('missing region', without('region')),
  createWith('missing adminEmail', without('adminEmail')),
  createWith('name is a number', tenant({ name: 42 })),
  createWith('name is blank', tenant({ name: '   ' })),
  createWith('tier is null', tenant({ tier: null })),
  createWith('adminEmail is not an email', tenant({ adminEmail: 'not-an-email' })),
  createWith('features values are strings', tenant({ features: { sso: 'yes' } })),
  createWith('labels is an array', tenant({ labels: ['a'] })),
  createWith('residency is lowercase', tenant({ residency: 'eu' })),
  createWith('unknown field', tenant({ plan: 'gold' })),
  createWith(
    'prototype pollution field',
    '{"name":"Probe","tier":"basic","region":"local-a","adminEmail":"a@b.example","__proto__":{"admin":true}}',
  ),
  createWith('name yields no slug', tenant({ name: '!!! ???' })),
  createWith('body is an array', [validTenant]),
  createWith('body is an empty object', {}),

  // --- bad tenant ids -------------------------------------------------------------------------
  createWith('id with SQL metacharacters', tenant({ id: "a'; drop table tenants--" })),
  createWith('id with a path traversal', tenant({ id: '../x' })),
  createWith('id with a slash', tenant({ id: 'a/b' })),
  createWith('id that is an encoded traversal', tenant({ id: '%2e%2e' })),
  createWith('id in uppercase', tenant({ id: 'AcmeCorp' })),
  createWith('id with a leading digit', tenant({ id: '1acme' })),
  createWith('id of 2 characters', tenant({ id: 'ab' })),
  createWith('id of 41 characters', tenant({ id: `a${'b'.repeat(40)}` })),
  createWith('id with unicode', tenant({ id: 'acmé-corp' })),
  {
    name: 'path id in uppercase',
    method: 'GET',
    path: '/v1/tenants/ACME',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'path id that is an encoded traversal',
    method: 'POST',
    path: '/v1/tenants/%2e%2e/suspend',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'path id with an encoded quote',
    method: 'POST',
    path: '/v1/tenants/a%27%3B%20drop%20table--/resume',
    expectStatus: 400,
    expectType: VALIDATION,
  },

  // --- tier and region policy ------------------------------------------------------------------
  createWith('unknown tier', tenant({ tier: 'platinum' }), 422, POLICY),
  createWith('unknown region', tenant({ region: 'mars-north-1' }), 422, POLICY),
  createWith(
    'enterprise in a region without a DR partner',
    tenant({ tier: 'enterprise', region: 'aws-us-east-1' }),
    422,
    POLICY,
  ),
  createWith('US residency in an EU region', tenant({ residency: 'US', region: 'local-a' }), 422, POLICY),
  createWith(
    'EU residency in a US region',
    tenant({ residency: 'EU', region: 'aws-us-east-1' }),
    422,
    POLICY,
  ),

  // --- bodies and content types ----------------------------------------------------------------
  createWith('malformed JSON', '{"name": "Acme", ', 400, problem('malformed-body')),
  createWith('JSON string instead of an object', '"just a string"', 400, problem('malformed-body')),
  createWith(
    'body larger than 1 MiB',
    tenant({ name: 'Big', labels: { note: 'x'.repeat(256) }, padding: 'x'.repeat(1024 * 1024 + 16) }),
    413,
    problem('payload-too-large'),
  ),
  {
    name: 'text/plain body',
    method: 'POST',
    path: '/v1/tenants',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify(validTenant),
    expectStatus: 415,
    expectType: problem('unsupported-media-type'),
  },
  {
    name: 'form-encoded body',
    method: 'POST',
    path: '/v1/tenants',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=Acme&tier=basic',
    expectStatus: 415,
    expectType: problem('unsupported-media-type'),
  },
  {
    name: 'text/plain body on suspend',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/suspend`,
    headers: { 'content-type': 'text/plain' },
    body: 'please',
    expectStatus: 415,
    expectType: problem('unsupported-media-type'),
  },
  {
    name: 'unexpected fields on resume',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/resume`,
    body: { force: true },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'no body on create',
    method: 'POST',
    path: '/v1/tenants',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'API key with an unknown role',
    method: 'POST',
    path: '/v1/api-keys',
    body: { name: 'ci', role: 'root' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'API key with unknown fields',
    method: 'POST',
    path: '/v1/api-keys',
    body: { name: 'ci', role: 'viewer', secret: 'mine' },
    expectStatus: 400,
    expectType: VALIDATION,
  },

  // --- query parameters, headers, unknown things ------------------------------------------------
  {
    name: 'limit above 100',
    method: 'GET',
    path: '/v1/tenants?limit=101',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'limit of zero',
    method: 'GET',
    path: '/v1/tenants?limit=0',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'limit not a number',
    method: 'GET',
    path: '/v1/tenants?limit=ten',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'unknown status filter',
    method: 'GET',
    path: '/v1/tenants?status=deleted',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'forged cursor',
    method: 'GET',
    path: '/v1/tenants?cursor=bm90LWEtY3Vyc29y',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'unknown query parameter',
    method: 'GET',
    path: '/v1/tenants?order=desc',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'Idempotency-Key too long',
    method: 'POST',
    path: '/v1/tenants',
    headers: { 'idempotency-key': 'k'.repeat(256) },
    body: validTenant,
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'Idempotency-Key with a space',
    method: 'POST',
    path: '/v1/tenants',
    headers: { 'idempotency-key': 'two words' },
    body: validTenant,
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'suspend an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/suspend`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'events of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/events`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'cancel an unknown operation',
    method: 'POST',
    path: `/v1/operations/${ABSENT_OPERATION}/cancel`,
    expectStatus: 404,
    expectType: problem('operation-not-found'),
  },
  {
    name: 'retry an unknown operation',
    method: 'POST',
    path: `/v1/operations/${ABSENT_OPERATION}/retry`,
    expectStatus: 404,
    expectType: problem('operation-not-found'),
  },
  {
    name: 'revoke an unknown API key',
    method: 'DELETE',
    path: '/v1/api-keys/key_0000000000000000',
    expectStatus: 404,
    expectType: problem('not-found'),
  },
  {
    name: 'unknown route',
    method: 'GET',
    path: '/v1/tenantz',
    expectStatus: 404,
    expectType: problem('not-found'),
  },
  {
    name: 'unsupported method on a route',
    method: 'PUT',
    path: '/v1/tenants',
    body: validTenant,
    expectStatus: 404,
    expectType: problem('not-found'),
  },
];

/** What the server answered to a bad request. */
export interface BadRequestAnswer {
  status: number;
  contentType: string | undefined;
  body: unknown;
}

/**
 * Sends one case to `baseUrl`. Uses node:http rather than fetch so that paths such as `%2e%2e`
 * reach the server as written (fetch normalises them away).
 */
export async function sendBadRequest(
  baseUrl: string,
  badRequest: BadRequest,
  keyFor: (role: Role) => string,
): Promise<BadRequestAnswer> {
  const { request } = await import('node:http');
  const role = badRequest.role ?? 'admin';
  const headers: Record<string, string> = {};
  if (role === 'unknown-key') headers.authorization = 'Bearer llk_this-key-was-never-issued-by-landlord';
  else if (role !== 'none') headers.authorization = `Bearer ${keyFor(role)}`;
  let payload: Buffer | undefined;
  if (badRequest.body !== undefined) {
    payload = Buffer.from(
      typeof badRequest.body === 'string' ? badRequest.body : JSON.stringify(badRequest.body),
    );
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  Object.assign(headers, badRequest.headers);
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: badRequest.method, path: badRequest.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text for the assertion message
          }
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body });
        });
      },
    );
    // The server may answer (413, 401) before reading a large body and close; the answer still counts.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end(payload);
  });
}
