/**
 * Requests the API must refuse before anything starts: every case answers with an
 * application/problem+json error, and no lifecycle operation may exist afterwards. Independent of
 * any fake, so the same table runs against the real stack. Unless `role` says otherwise, a case is
 * sent with a valid admin key, so the refusal is about the request and not the caller.
 */
import type { Role } from '../../domain/index.js';

export interface BadRequest {
  name: string;
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'TRACE';
  path: string;
  headers?: Record<string, string>;
  /**
   * An object is sent as JSON; a string or bytes are sent as they are (as application/json unless
   * headers say otherwise).
   */
  body?: string | Uint8Array | object;
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
  createWith(
    'a silo tier in a cloud region with no network configured',
    tenant({ tier: 'premium', region: 'aws-eu-west-1' }),
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
    path: '/v1/tenants?status=archived',
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
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  },
  {
    name: 'TRACE on a public route',
    method: 'TRACE',
    path: '/healthz',
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  },
  {
    name: 'PUT on a tenant',
    method: 'PUT',
    path: `/v1/tenants/${ABSENT_TENANT}`,
    body: validTenant,
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  },

  // --- text no database can store, and keys that would reach a prototype -----------------------
  createWith('NUL in the name', tenant({ name: 'Nul\u0000Corp' })),
  createWith('a lone high surrogate as the name', tenant({ name: '\ud800' })),
  createWith('a lone low surrogate in the name', tenant({ name: 'Acme \udc00 Corp' })),
  createWith('NUL in a label value', tenant({ labels: { team: 'a\u0000b' } })),
  createWith('NUL in the tier', tenant({ tier: 'basic\u0000' })),
  createWith('NUL in the admin email', tenant({ adminEmail: 'ops\u0000@probe.example' })),
  createWith('NUL in an unknown field', tenant({ 'x\u0000': 1 })),
  createWith(
    'a __proto__ label',
    '{"name":"Proto Labels","tier":"basic","region":"local-a","adminEmail":"a@b.example","labels":{"__proto__":{"x":"y"}}}',
  ),
  createWith(
    'a __proto__ feature',
    '{"name":"Proto Features","tier":"basic","region":"local-a","adminEmail":"a@b.example","features":{"__proto__":true}}',
  ),
  {
    name: 'NUL in a tier filter',
    method: 'GET',
    path: '/v1/tenants?tier=%00',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'a region filter of bytes that are not UTF-8 and NUL',
    method: 'GET',
    path: '/v1/tenants?region=%ED%A0%80x%00',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'NUL as a path id',
    method: 'GET',
    path: '/v1/tenants/%00',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'a path id that is not percent-encoded UTF-8',
    method: 'GET',
    path: '/v1/tenants/%E0%A4%A',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'NUL in an API key name',
    method: 'POST',
    path: '/v1/api-keys',
    body: { name: 'ci\u0000', role: 'viewer' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'NUL in a tier change',
    method: 'PATCH',
    path: `/v1/tenants/${ABSENT_TENANT}`,
    body: { tier: 'premium\u0000' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'a UTF-16 body',
    method: 'POST',
    path: '/v1/tenants',
    headers: { 'content-type': 'application/json; charset=utf-16le' },
    body: new Uint8Array(Buffer.from(JSON.stringify(validTenant), 'utf16le')),
    expectStatus: 415,
    expectType: problem('unsupported-media-type'),
  },
  createWith(
    'a body nested 50,000 levels deep',
    `{"name":"Deep","tier":"basic","region":"local-a","adminEmail":"a@b.example","labels":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
  ),
  createWith(
    'bytes that are not UTF-8',
    new Uint8Array([...Buffer.from('{"name":"Bad '), 0xff, 0xfe, ...Buffer.from('","tier":"basic"}')]),
    400,
    problem('malformed-body'),
  ),

  // --- cursors and query integers ---------------------------------------------------------------
  ...[
    ['a cursor of a number and a word', Buffer.from('["1","x"]').toString('base64url')],
    ['a cursor with a loose date', Buffer.from('["March 7","a"]').toString('base64url')],
    ['a cursor past the last date', Buffer.from('["+275760-09-13T00:00:00.000Z","a"]').toString('base64url')],
    ['a cursor with NUL', '1764628712345678.a%00b'],
    ['a cursor with a negative time', '-5.acme-corp'],
    ['a cursor with 17 digits', '12345678901234567.acme-corp'],
  ].map(([name, cursor]): BadRequest => ({
    name: name!,
    method: 'GET',
    path: `/v1/tenants?cursor=${cursor}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  ...['0x10', '1e1', '+5', '%2010', '10.0', '010'].map((limit): BadRequest => ({
    name: `limit=${limit}`,
    method: 'GET',
    path: `/v1/tenants?limit=${limit}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a negative afterSeq',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/events?afterSeq=-1`,
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'a query on a route that takes none',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}?expand=all`,
    expectStatus: 400,
    expectType: VALIDATION,
  },

  // --- waiting for an operation ------------------------------------------------------------------
  ...[
    ['a wait over 30 s', 'wait=31s'],
    ['a wait of 30001 ms', 'wait=30001ms'],
    ['a wait with no unit', 'wait=10'],
    ['a negative wait', 'wait=-1s'],
    ['a fractional wait', 'wait=1.5s'],
    ['a wait in minutes', 'wait=1m'],
    ['a wait with a leading zero', 'wait=05s'],
    ['two waits', 'wait=1s&wait=2s'],
    ['an unknown operation query', 'follow=true'],
  ].map(([name, query]): BadRequest => ({
    name: name!,
    method: 'GET',
    path: `/v1/operations/${ABSENT_OPERATION}?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'waiting for an unknown operation',
    method: 'GET',
    path: `/v1/operations/${ABSENT_OPERATION}?wait=30s`,
    expectStatus: 404,
    expectType: problem('operation-not-found'),
  },
  {
    name: 'waiting for an operation without a key',
    method: 'GET',
    path: `/v1/operations/${ABSENT_OPERATION}?wait=1s`,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },

  // --- the whole audit trail ---------------------------------------------------------------------
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} reading the whole audit trail`,
    method: 'GET',
    path: '/v1/audit',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'the whole audit trail without a key',
    method: 'GET',
    path: '/v1/audit',
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...[
    ['an audit filter on a bad tenant id', 'tenant=Bad_Id'],
    ['an audit filter on two tenants', 'tenant=acme-corp&tenant=beta-corp'],
    ['an audit filter with an empty action', 'action='],
    ['an audit filter with a 101-character action', `action=${'a'.repeat(101)}`],
    ['an audit filter with a NUL in the actor', 'actor=key_%00'],
    ['an audit filter with broken UTF-8 in the outcome', 'outcome=%C3%28'],
    ['an audit filter with a lone surrogate in the action', 'action=%ED%A0%80'],
    ['an audit filter with broken UTF-8 in its name', 'acti%FFon=x'],
    ['an audit filter since a day that is not a time', 'since=2026-12-01'],
    ['an audit filter since a time with no zone', 'since=2026-12-01T00:00:00'],
    ['an audit page of 0', 'limit=0'],
    ['an audit page of 501', 'limit=501'],
    ['an audit page after seq -1', 'afterSeq=-1'],
    ['an audit page after seq 1e3', 'afterSeq=1e3'],
    ['an unknown audit filter', 'principal=key_1'],
  ].map(([name, query]): BadRequest => ({
    name: name!,
    method: 'GET',
    path: `/v1/audit?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'writing to the audit trail',
    method: 'POST',
    path: '/v1/audit',
    body: { action: 'forged' },
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  },

  // --- legal holds -------------------------------------------------------------------------------
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} placing a legal hold`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/legal-holds',
    role,
    body: { reason: 'litigation' },
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} listing legal holds`,
    method: 'GET',
    path: '/v1/tenants/acme-corp/legal-holds',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'an operator releasing a legal hold',
    method: 'DELETE',
    path: '/v1/tenants/acme-corp/legal-holds/hold_0a1b2c3d4e5f6071',
    role: 'operator',
    body: { reason: 'done' },
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  ...(
    [
      ['a hold without a reason', {}],
      ['a hold with a blank reason', { reason: '   ' }],
      ['a hold with a 501-character reason', { reason: 'r'.repeat(501) }],
      ['a hold with a NUL in its reason', { reason: 'case\u0000 1' }],
      ['a hold with a lone surrogate in its reason', { reason: 'case \ud800' }],
      ['a hold with a number for a reason', { reason: 42 }],
      ['a hold on no data classes', { reason: 'r', dataClasses: [] }],
      ['a hold on a data class given as a string', { reason: 'r', dataClasses: 'telemetry' }],
      ['a hold on an empty subject', { reason: 'r', subjects: [''] }],
      ['a hold on 101 subjects', { reason: 'r', subjects: Array.from({ length: 101 }, (_, i) => `s${i}`) }],
      ['a hold on a 257-character subject', { reason: 'r', subjects: ['s'.repeat(257)] }],
      ['a hold until a day that is no date', { reason: 'r', until: '2031-13-01' }],
      ['a hold until tomorrow, in words', { reason: 'r', until: 'tomorrow' }],
      ['a hold until a time with no zone', { reason: 'r', until: '2031-01-01T00:00:00' }],
      ['a hold with an unknown field', { reason: 'r', scope: 'all' }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/tenants/acme-corp/legal-holds',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a hold on a bad tenant id',
    method: 'POST',
    path: '/v1/tenants/Bad_Id/legal-holds',
    body: { reason: 'r' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'a hold on an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/no-such-tenant-${'x'.repeat(8)}/legal-holds`,
    body: { reason: 'litigation' },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'the legal holds of an unknown tenant',
    method: 'GET',
    path: '/v1/tenants/no-such-tenant-xxxxxxxx/legal-holds',
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'releasing a hold with a bad id',
    method: 'DELETE',
    path: '/v1/tenants/acme-corp/legal-holds/hold-1',
    body: { reason: 'done' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'releasing a hold without a reason',
    method: 'DELETE',
    path: '/v1/tenants/acme-corp/legal-holds/hold_0a1b2c3d4e5f6071',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'releasing a hold of an unknown tenant',
    method: 'DELETE',
    path: '/v1/tenants/no-such-tenant-xxxxxxxx/legal-holds/hold_0a1b2c3d4e5f6071',
    body: { reason: 'done' },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },

  // --- data-subject erasure ------------------------------------------------------------------------
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} asking for an erasure`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/erasures',
    role,
    body: { subject: 'a3c1e9d2-0000-4000-8000-000000000001', reason: 'Art. 17 request' },
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} listing erasures`,
    method: 'GET',
    path: '/v1/tenants/acme-corp/erasures',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'an erasure without a key',
    method: 'POST',
    path: '/v1/tenants/acme-corp/erasures',
    role: 'none',
    body: { subject: 's-1', reason: 'r' },
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...(
    [
      ['an erasure without a subject', { reason: 'r' }],
      ['an erasure of an empty subject', { subject: '', reason: 'r' }],
      ['an erasure of a 257-character subject', { subject: 's'.repeat(257), reason: 'r' }],
      ['an erasure of 257 emoji', { subject: '\u{1F600}'.repeat(257), reason: 'r' }],
      ['an erasure of a subject with a NUL', { subject: 'user\u00001', reason: 'r' }],
      ['an erasure of a subject with a newline', { subject: 'user\n1', reason: 'r' }],
      ['an erasure of a subject with a tab', { subject: 'user\t1', reason: 'r' }],
      ['an erasure of a subject with DEL', { subject: 'user\u007f1', reason: 'r' }],
      ['an erasure of a subject with a C1 control', { subject: 'user\u00851', reason: 'r' }],
      ['an erasure of a subject with a lone surrogate', { subject: 'user \ud800', reason: 'r' }],
      ['an erasure of a number', { subject: 42, reason: 'r' }],
      ['an erasure of a list of subjects', { subject: ['a', 'b'], reason: 'r' }],
      ['an erasure without a reason', { subject: 's-1' }],
      ['an erasure with a blank reason', { subject: 's-1', reason: '  ' }],
      ['an erasure with a 501-character reason', { subject: 's-1', reason: 'r'.repeat(501) }],
      ['an erasure received at no time', { subject: 's-1', reason: 'r', receivedAt: 'yesterday' }],
      [
        'an erasure received at a time with no zone',
        { subject: 's-1', reason: 'r', receivedAt: '2026-01-01T00:00:00' },
      ],
      [
        'an erasure received in the future',
        { subject: 's-1', reason: 'r', receivedAt: '2999-01-01T00:00:00Z' },
      ],
      ['an erasure with an unknown field', { subject: 's-1', reason: 'r', tables: ['app_users'] }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/tenants/acme-corp/erasures',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'an erasure in a bad tenant id',
    method: 'POST',
    path: '/v1/tenants/Bad_Id/erasures',
    body: { subject: 's-1', reason: 'r' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'an erasure in an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/erasures`,
    body: { subject: 's-1', reason: 'r' },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'the erasures of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/erasures`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  ...(
    [
      ['a page of 0 erasures', 'limit=0'],
      ['a page of 201 erasures', 'limit=201'],
      ['erasures before a bad id', 'before=erasure-1'],
      ['erasures with an unknown filter', 'subject=s-1'],
    ] as const
  ).map(([name, query]): BadRequest => ({
    name,
    method: 'GET',
    path: `/v1/tenants/acme-corp/erasures?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'an erasure with a bad id',
    method: 'GET',
    path: '/v1/tenants/acme-corp/erasures/erasure-1',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'an erasure of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/erasures/erasure_0a1b2c3d4e5f6071`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },

  // --- tenant exports --------------------------------------------------------------------------------
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} listing exports`,
    method: 'GET',
    path: '/v1/tenants/acme-corp/exports',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  ...(['viewer', 'sales', 'operator', 'legal'] as const).map((role): BadRequest => ({
    name: `${role} downloading an export`,
    method: 'GET',
    path: '/v1/tenants/acme-corp/exports/export_0a1b2c3d4e5f6071',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  ...(
    ['/v1/tenants/acme-corp/exports', '/v1/tenants/acme-corp/exports/export_0a1b2c3d4e5f6071'] as const
  ).map((path): BadRequest => ({
    name: `${path} without a key`,
    method: 'GET',
    path,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  })),
  ...(
    [
      ['an export with a bad id', 'export-1'],
      ['an export with an upper-case id', 'export_0A1B2C3D4E5F6071'],
      ['an export with a short id', 'export_0a1b2c3d'],
      ['an export with a long id', 'export_0a1b2c3d4e5f60718'],
      ['an export by a path up the tree', '..%2F..%2Fsecret'],
      ['an export by an absolute path', '%2Fetc%2Fpasswd'],
      ['an export id with a NUL', 'export_0a1b2c3d4e5f6071%00'],
      ['an export id with a tar suffix', 'export_0a1b2c3d4e5f6071.tar.sealed'],
    ] as const
  ).map(([name, exportId]): BadRequest => ({
    name,
    method: 'GET',
    path: `/v1/tenants/acme-corp/exports/${exportId}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'exports of a bad tenant id',
    method: 'GET',
    path: '/v1/tenants/Bad_Id/exports',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'exports with a query',
    method: 'GET',
    path: '/v1/tenants/acme-corp/exports?limit=10',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'the exports of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/exports`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'an export of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/exports/export_0a1b2c3d4e5f6071`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  ...(['POST', 'DELETE'] as const).map((method): BadRequest => ({
    name: `${method} on an export`,
    method,
    path: '/v1/tenants/acme-corp/exports/export_0a1b2c3d4e5f6071',
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  })),

  // --- offboarding ---------------------------------------------------------------------------------
  ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
    name: `${role} offboarding a tenant`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/offboard',
    role,
    body: { reason: 'contract ended' },
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
    name: `${role} cancelling an offboarding`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/offboard/cancel',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'an offboarding without a key',
    method: 'POST',
    path: '/v1/tenants/acme-corp/offboard',
    role: 'none',
    body: { reason: 'contract ended' },
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...(
    [
      ['an offboarding without a reason', {}],
      ['an offboarding with a blank reason', { reason: ' ' }],
      ['an offboarding with a NUL in its reason', { reason: 'ended\u0000' }],
      ['an offboarding with negative grace days', { reason: 'r', graceDays: -1 }],
      ['an offboarding with 366 grace days', { reason: 'r', graceDays: 366 }],
      ['an offboarding with fractional grace days', { reason: 'r', graceDays: 1.5 }],
      ['an offboarding with grace days as a string', { reason: 'r', graceDays: '30' }],
      ['an offboarding with export as a string', { reason: 'r', export: 'no' }],
      ['an offboarding with an unknown field', { reason: 'r', deleteNow: true }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/tenants/acme-corp/offboard',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'an offboarding of a bad tenant id',
    method: 'POST',
    path: '/v1/tenants/Bad_Id/offboard',
    body: { reason: 'r' },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'an offboarding of an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/offboard`,
    body: { reason: 'r' },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'cancelling the offboarding of an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/offboard/cancel`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },

  // --- backups -------------------------------------------------------------------------------------
  ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
    name: `${role} taking a backup`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/backups',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  ...(
    ['/v1/tenants/acme-corp/backups', '/v1/tenants/acme-corp/backups/backup_0a1b2c3d4e5f6071'] as const
  ).map((path): BadRequest => ({
    name: `${path} without a key`,
    method: 'GET',
    path,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  })),
  {
    name: 'a backup without a key',
    method: 'POST',
    path: '/v1/tenants/acme-corp/backups',
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'a backup of an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/backups`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'a backup of a bad tenant id',
    method: 'POST',
    path: '/v1/tenants/Bad_Id/backups',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'a backup with a text/plain body',
    method: 'POST',
    path: '/v1/tenants/acme-corp/backups',
    headers: { 'content-type': 'text/plain' },
    body: 'now',
    expectStatus: 415,
    expectType: problem('unsupported-media-type'),
  },
  {
    name: 'the backups of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/backups`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'a backup of an unknown tenant, by id',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/backups/backup_0a1b2c3d4e5f6071`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  ...(
    [
      ['backups with limit 0', 'limit=0'],
      ['backups with limit 1001', 'limit=1001'],
      ['backups with a fractional limit', 'limit=1.5'],
      ['backups with a limit in hex', 'limit=0x10'],
      ['backups with an unknown status', 'status=deleted'],
      ['backups with two statuses', 'status=available&status=expired'],
      ['backups with an unknown parameter', 'cursor=abc'],
    ] as const
  ).map(([name, query]): BadRequest => ({
    name,
    method: 'GET',
    path: `/v1/tenants/acme-corp/backups?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  ...(
    [
      ['a backup with a bad id', 'backup-1'],
      ['a backup with an upper-case id', 'backup_0A1B2C3D4E5F6071'],
      ['a backup with a short id', 'backup_0a1b2c3d'],
      ['a backup by a path up the tree', '..%2F..%2Fsecret'],
      ['a backup id with a NUL', 'backup_0a1b2c3d4e5f6071%00'],
      ['a backup id with broken UTF-8', 'backup_%C3%28'],
      ['an export id where a backup id goes', 'export_0a1b2c3d4e5f6071'],
    ] as const
  ).map(([name, backupId]): BadRequest => ({
    name,
    method: 'GET',
    path: `/v1/tenants/acme-corp/backups/${backupId}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  ...(['PUT', 'DELETE'] as const).map((method): BadRequest => ({
    name: `${method} on a backup`,
    method,
    path: '/v1/tenants/acme-corp/backups/backup_0a1b2c3d4e5f6071',
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  })),

  // --- restores -------------------------------------------------------------------------------------
  ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
    name: `${role} asking for a restore`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/restore',
    role,
    body: { backupId: 'backup_0a1b2c3d4e5f6071' },
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'a restore without a key',
    method: 'POST',
    path: '/v1/tenants/acme-corp/restore',
    role: 'none',
    body: { backupId: 'backup_0a1b2c3d4e5f6071' },
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...(
    [
      ['a restore of nothing', {}],
      [
        'a restore of a backup and a point in time',
        { backupId: 'backup_0a1b2c3d4e5f6071', pointInTime: '2026-01-01T00:00:00Z' },
      ],
      ['a restore of a malformed backup id', { backupId: 'backup-1' }],
      ['a restore of an export id', { backupId: 'export_0a1b2c3d4e5f6071' }],
      ['a restore of a backup id with a NUL', { backupId: 'backup_0a1b2c3d4e5f6071\u0000' }],
      ['a restore of a backup id as a number', { backupId: 1 }],
      ['a restore at a point in time without a zone', { pointInTime: '2026-01-01T00:00:00' }],
      ['a restore at a date', { pointInTime: '2026-01-01' }],
      ['a restore at a point in time with broken Unicode', { pointInTime: '2026-01-01T00:00:00Z\ud800' }],
      ['a restore at a point in time in the future', { pointInTime: '2999-01-01T00:00:00Z' }],
      ['a restore with an unknown field', { backupId: 'backup_0a1b2c3d4e5f6071', force: true }],
      ['a restore into a region id in capitals', { region: 'LOCAL-B' }],
      ['a restore into a region id as a number', { region: 2 }],
      ['a restore into an empty region id', { region: '' }],
      ['a restore into a null region', { region: null }],
      ['a restore into a region id with a NUL', { region: 'local-b\u0000' }],
      ['a restore into a region id with broken Unicode', { region: 'local-b\ud800' }],
      ['a restore into a region id too long', { region: `l${'x'.repeat(40)}` }],
      ['a restore into a list of regions', { region: ['local-b'] }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/tenants/acme-corp/restore',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a restore of an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/restore`,
    body: { backupId: 'backup_0a1b2c3d4e5f6071' },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'a restore of an unknown tenant into its partner region',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/restore`,
    body: { region: 'local-b' },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },

  // --- failovers and failbacks ------------------------------------------------------------------
  // Refusals that need a tenant (a pool or premium tenant failed over, one at home failed back)
  // are in test/unit/api/failover.test.ts: this table's world holds none.
  ...(['failover', 'failback'] as const).flatMap((verb): BadRequest[] => [
    ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
      name: `${role} asking for a ${verb}`,
      method: 'POST',
      path: `/v1/tenants/acme-corp/${verb}`,
      role,
      body: { reason: 'region down' },
      expectStatus: 403,
      expectType: problem('forbidden'),
    })),
    {
      name: `a ${verb} without a key`,
      method: 'POST',
      path: `/v1/tenants/acme-corp/${verb}`,
      role: 'none',
      body: {},
      expectStatus: 401,
      expectType: problem('unauthenticated'),
    },
    ...(
      [
        [`a ${verb} with a reason as a number`, { reason: 5 }],
        [`a ${verb} with a null reason`, { reason: null }],
        [`a ${verb} with an empty reason`, { reason: '' }],
        [`a ${verb} with a blank reason`, { reason: '   ' }],
        [`a ${verb} with a reason too long`, { reason: 'x'.repeat(501) }],
        [`a ${verb} with a NUL in its reason`, { reason: 'region down\u0000' }],
        [`a ${verb} with broken Unicode in its reason`, { reason: 'region down\ud800' }],
        [`a ${verb} with an unknown field`, { reason: 'region down', region: 'local-b' }],
        [`a ${verb} with a body that is a list`, ['region down']],
      ] as const
    ).map(([name, body]): BadRequest => ({
      name,
      method: 'POST',
      path: `/v1/tenants/acme-corp/${verb}`,
      body,
      expectStatus: 400,
      expectType: VALIDATION,
    })),
    {
      name: `a ${verb} of a bad tenant id`,
      method: 'POST',
      path: `/v1/tenants/Bad_Id/${verb}`,
      body: {},
      expectStatus: 400,
      expectType: VALIDATION,
    },
    {
      name: `a ${verb} of an unknown tenant`,
      method: 'POST',
      path: `/v1/tenants/${ABSENT_TENANT}/${verb}`,
      body: { reason: 'region down' },
      expectStatus: 404,
      expectType: problem('tenant-not-found'),
    },
  ]),

  // --- region failovers -----------------------------------------------------------------------------
  // Refused before its operation is recorded; one that runs already is in
  // test/unit/api/region-failover.test.ts.
  ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
    name: `${role} asking for a region failover`,
    method: 'POST',
    path: '/v1/regions/local-a/failover',
    role,
    body: { reason: 'region down' },
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'a region failover without a key',
    method: 'POST',
    path: '/v1/regions/local-a/failover',
    role: 'none',
    body: {},
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...(
    [
      ['a region failover in waves of 0', { waveSize: 0 }],
      ['a region failover in waves of 51', { waveSize: 51 }],
      ['a region failover in waves of 2.5', { waveSize: 2.5 }],
      ['a region failover with a wave size as a string', { waveSize: '5' }],
      ['a region failover with a null wave size', { waveSize: null }],
      ['a region failover with an empty reason', { reason: '' }],
      ['a region failover with a blank reason', { reason: '   ' }],
      ['a region failover with a reason too long', { reason: 'x'.repeat(501) }],
      ['a region failover with a NUL in its reason', { reason: 'region down\u0000' }],
      ['a region failover with broken Unicode in its reason', { reason: 'region down\ud800' }],
      ['a region failover with an unknown field', { reason: 'region down', tenants: ['acme-corp'] }],
      ['a region failover with a body that is a list', ['region down']],
      ['a region failover with includeBackupRestores as a string', { includeBackupRestores: 'true' }],
      ['a region failover with includeBackupRestores as a number', { includeBackupRestores: 1 }],
      ['a region failover with a null includeBackupRestores', { includeBackupRestores: null }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/regions/local-a/failover',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  ...(
    [
      ['a region failover of a region id in capitals', 'LOCAL-A'],
      ['a region failover of a region id with an underscore', 'local_a'],
      ['a region failover of a region id with a colon', 'region:local-a'],
    ] as const
  ).map(([name, id]): BadRequest => ({
    name,
    method: 'POST',
    path: `/v1/regions/${encodeURIComponent(id)}/failover`,
    body: {},
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a region failover of an unknown region',
    method: 'POST',
    path: '/v1/regions/mars-north-1/failover',
    body: { reason: 'region down' },
    expectStatus: 404,
    expectType: problem('not-found'),
  },
  {
    name: 'a region failover of a region without a DR partner',
    method: 'POST',
    path: '/v1/regions/aws-us-east-1/failover',
    body: { reason: 'region down' },
    expectStatus: 409,
    expectType: problem('invalid-transition'),
  },

  // --- drills -------------------------------------------------------------------------------------
  // Refusals that need a tenant (one not active or suspended, one with no backup) and a region
  // drill that runs already are in test/unit/api/drills.test.ts: this table's world holds none.
  ...(['viewer', 'sales', 'legal'] as const).flatMap((role): BadRequest[] => [
    {
      name: `${role} asking for a drill`,
      method: 'POST',
      path: '/v1/tenants/acme-corp/drills',
      role,
      expectStatus: 403,
      expectType: problem('forbidden'),
    },
    {
      name: `${role} asking for a region drill`,
      method: 'POST',
      path: '/v1/regions/local-a/drills',
      role,
      body: { reason: 'quarterly drill' },
      expectStatus: 403,
      expectType: problem('forbidden'),
    },
  ]),
  {
    name: 'a drill without a key',
    method: 'POST',
    path: '/v1/tenants/acme-corp/drills',
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'a drill of an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/drills`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'a drill of a bad tenant id',
    method: 'POST',
    path: '/v1/tenants/Bad_Id/drills',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  ...(
    [
      ['a drill with a field', { region: 'local-b' }],
      ['a drill with a body that is a list', []],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/tenants/acme-corp/drills',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a drill with a text/plain body',
    method: 'POST',
    path: '/v1/tenants/acme-corp/drills',
    headers: { 'content-type': 'text/plain' },
    body: 'now',
    expectStatus: 415,
    expectType: problem('unsupported-media-type'),
  },
  {
    name: 'a region drill without a key',
    method: 'POST',
    path: '/v1/regions/local-a/drills',
    role: 'none',
    body: {},
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...(
    [
      ['a region drill in waves of 0', { waveSize: 0 }],
      ['a region drill in waves of 51', { waveSize: 51 }],
      ['a region drill in waves of 2.5', { waveSize: 2.5 }],
      ['a region drill with a wave size as a string', { waveSize: '5' }],
      ['a region drill with a null wave size', { waveSize: null }],
      ['a region drill with an empty reason', { reason: '' }],
      ['a region drill with a blank reason', { reason: '   ' }],
      ['a region drill with a reason too long', { reason: 'x'.repeat(501) }],
      ['a region drill with a NUL in its reason', { reason: 'quarterly drill\u0000' }],
      ['a region drill with broken Unicode in its reason', { reason: 'quarterly drill\ud800' }],
      ['a region drill with an unknown field', { reason: 'quarterly drill', tenants: ['acme-corp'] }],
      ['a region drill with a body that is a list', ['quarterly drill']],
      ['a region drill asked to restore from backups', { includeBackupRestores: true }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/regions/local-a/drills',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  ...(
    [
      ['a region drill of a region id in capitals', 'LOCAL-A'],
      ['a region drill of a region id with a colon', 'region:local-a'],
    ] as const
  ).map(([name, id]): BadRequest => ({
    name,
    method: 'POST',
    path: `/v1/regions/${encodeURIComponent(id)}/drills`,
    body: {},
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a region drill of an unknown region',
    method: 'POST',
    path: '/v1/regions/mars-north-1/drills',
    body: { reason: 'quarterly drill' },
    expectStatus: 404,
    expectType: problem('not-found'),
  },

  // --- DR standing ---------------------------------------------------------------------------------
  {
    name: 'the DR standing of an unknown tenant',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/dr`,
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'the DR standing of a bad tenant id',
    method: 'GET',
    path: '/v1/tenants/Bad_Id/dr',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  ...(['/v1/dr/report', '/v1/tenants/acme-corp/dr'] as const).map((path): BadRequest => ({
    name: `${path} without a key`,
    method: 'GET',
    path,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  })),
  ...(
    [
      ['a DR report with limit 0', 'limit=0'],
      ['a DR report with limit 1001', 'limit=1001'],
      ['a DR report with outOfTarget=yes', 'outOfTarget=yes'],
      ['a DR report with an unknown parameter', 'tier=basic'],
    ] as const
  ).map(([name, query]): BadRequest => ({
    name,
    method: 'GET',
    path: `/v1/dr/report?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  ...(['POST', 'DELETE'] as const).map((method): BadRequest => ({
    name: `${method} on the DR report`,
    method,
    path: '/v1/dr/report',
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  })),

  // --- operations: the list, approvals -------------------------------------------------------------
  ...(
    [
      ['operations with an unknown status', 'status=waiting'],
      ['operations with limit 0', 'limit=0'],
      ['operations with limit 501', 'limit=501'],
      ['operations of a bad tenant id', 'tenant=Bad_Id'],
      ['operations of an unknown kind', 'kind=explode'],
      ['operations with an unknown parameter', 'cursor=x'],
    ] as const
  ).map(([name, query]): BadRequest => ({
    name,
    method: 'GET',
    path: `/v1/operations?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'operations without a key',
    method: 'GET',
    path: '/v1/operations?status=waiting-approval',
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  ...(['approve', 'reject'] as const).flatMap((verb): BadRequest[] => [
    ...(['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
      name: `${role} deciding to ${verb} an operation`,
      method: 'POST',
      path: `/v1/operations/${ABSENT_OPERATION}/${verb}`,
      role,
      body: { comment: 'ok' },
      expectStatus: 403,
      expectType: problem('forbidden'),
    })),
    {
      name: `${verb} of an unknown operation`,
      method: 'POST',
      path: `/v1/operations/${ABSENT_OPERATION}/${verb}`,
      body: { comment: 'ok' },
      expectStatus: 404,
      expectType: problem('operation-not-found'),
    },
    ...(
      [
        [`${verb} without a comment`, {}],
        [`${verb} with a blank comment`, { comment: '  ' }],
        [`${verb} with a NUL in its comment`, { comment: 'ok\u0000' }],
        [`${verb} with broken Unicode in its comment`, { comment: 'ok\ud800' }],
        [`${verb} with a comment too long`, { comment: 'x'.repeat(1001) }],
        [`${verb} with a comment as a number`, { comment: 1 }],
        [`${verb} with an unknown field`, { comment: 'ok', approvals: 2 }],
      ] as const
    ).map(([name, body]): BadRequest => ({
      name,
      method: 'POST',
      path: `/v1/operations/${ABSENT_OPERATION}/${verb}`,
      body,
      expectStatus: 400,
      expectType: VALIDATION,
    })),
  ]),

  // --- a cloud silo's storage rules ----------------------------------------------------------------
  ...(['viewer', 'sales'] as const).map((role): BadRequest => ({
    name: `${role} asking for a tenant's storage rules`,
    method: 'POST',
    path: '/v1/tenants/acme-corp/storage-rules',
    role,
    expectStatus: 403,
    expectType: problem('forbidden'),
  })),
  {
    name: 'storage rules without a key',
    method: 'POST',
    path: '/v1/tenants/acme-corp/storage-rules',
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'storage rules of an unknown tenant',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/storage-rules`,
    role: 'legal',
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'storage rules of a bad tenant id',
    method: 'POST',
    path: '/v1/tenants/Bad_Id/storage-rules',
    role: 'legal',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'storage rules with fields',
    method: 'POST',
    path: `/v1/tenants/${ABSENT_TENANT}/storage-rules`,
    role: 'legal',
    body: { prefixes: ['logs/'] },
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'storage rules with a NUL in the tenant id',
    method: 'POST',
    path: '/v1/tenants/acme%00corp/storage-rules',
    role: 'legal',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'storage rules asked for with GET',
    method: 'GET',
    path: `/v1/tenants/${ABSENT_TENANT}/storage-rules`,
    role: 'legal',
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  },

  // --- retention ---------------------------------------------------------------------------------
  ...(
    [
      ['PUT', '/v1/tenants/acme-corp/retention', { dataClasses: { telemetry: { days: 10 } } }],
      ['POST', '/v1/retention/runs', {}],
      ['POST', '/v1/retention/schedule/pause', {}],
      ['POST', '/v1/retention/schedule/unpause', {}],
      ['POST', '/v1/retention/schedule/trigger', {}],
    ] as const
  ).flatMap(([method, path, body]) =>
    (['viewer', 'sales', 'legal'] as const).map((role): BadRequest => ({
      name: `${role} calling ${method} ${path}`,
      method,
      path,
      role,
      body,
      expectStatus: 403,
      expectType: problem('forbidden'),
    })),
  ),
  ...(
    [
      '/v1/tenants/acme-corp/retention',
      '/v1/retention/runs',
      '/v1/retention/runs/ret-1',
      '/v1/retention/schedule',
    ] as const
  ).map((path): BadRequest => ({
    name: `GET ${path} without a key`,
    method: 'GET',
    path,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  })),
  ...(
    [
      ['a retention choice of negative days', { dataClasses: { telemetry: { days: -1 } } }],
      ['a retention choice of zero days', { dataClasses: { telemetry: { days: 0 } } }],
      ['a retention choice of fractional days', { dataClasses: { telemetry: { days: 1.5 } } }],
      ['a retention choice of days as a string', { dataClasses: { telemetry: { days: '30' } } }],
      ['a retention choice over 100 years', { dataClasses: { telemetry: { days: 36_501 } } }],
      ['a retention choice of forever', { dataClasses: { telemetry: { keep: 'forever' } } }],
      ['a retention choice with an unknown field', { dataClasses: { telemetry: { days: 30, hours: 2 } } }],
      ['a retention choice with no data classes field', { telemetry: { days: 30 } }],
      ['a retention choice for a class with a NUL', { dataClasses: { 'tele\u0000metry': { days: 30 } } }],
      ['a retention choice for a class with a lone surrogate', { dataClasses: { '\ud800': { days: 30 } } }],
      ['a retention choice of null days', { dataClasses: { telemetry: null } }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'PUT',
    path: '/v1/tenants/acme-corp/retention',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a retention choice for an unknown tenant',
    method: 'PUT',
    path: '/v1/tenants/no-such-tenant-xxxxxxxx/retention',
    body: { dataClasses: { telemetry: { days: 10 } } },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'the retention of an unknown tenant',
    method: 'GET',
    path: '/v1/tenants/no-such-tenant-xxxxxxxx/retention',
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  {
    name: 'the retention of a bad tenant id',
    method: 'GET',
    path: '/v1/tenants/Bad_Id/retention',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  ...(
    [
      ['a run with dryRun as a string', { dryRun: 'yes' }],
      ['a run with force as a number', { force: 1 }],
      ['a run over no tenants', { tenants: [] }],
      ['a run over a bad tenant id', { tenants: ['Bad_Id'] }],
      ['a run over 1001 tenants', { tenants: Array.from({ length: 1001 }, (_, i) => `tenant-${i}`) }],
      ['a run over tenants given as a string', { tenants: 'acme-corp' }],
      ['a run over no data classes', { dataClasses: [] }],
      ['a run over an unknown data class', { dataClasses: ['telemetry', 'secrets'] }],
      ['a run over a data class with a NUL', { dataClasses: ['tele\u0000metry'] }],
      ['a run with an unknown field', { dryRun: true, everything: true }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/retention/runs',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a run over an unknown tenant',
    method: 'POST',
    path: '/v1/retention/runs',
    body: { tenants: ['no-such-tenant-xxxxxxxx'] },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  ...[
    [
      'an unknown retention run',
      '/v1/retention/runs/ret-00000000-0000-4000-8000-000000000000',
      404,
      'not-found',
    ],
    ['a retention run id with a slash-free NUL', '/v1/retention/runs/ret%00x', 400, 'validation-failed'],
    [
      'a retention run id of 129 characters',
      `/v1/retention/runs/${'r'.repeat(129)}`,
      400,
      'validation-failed',
    ],
    ['a page of 0 retention runs', '/v1/retention/runs?limit=0', 400, 'validation-failed'],
    ['a page of 101 retention runs', '/v1/retention/runs?limit=101', 400, 'validation-failed'],
    ['retention runs before a bad id', '/v1/retention/runs?before=%20x', 400, 'validation-failed'],
    ['an unknown retention runs filter', '/v1/retention/runs?status=running', 400, 'validation-failed'],
    [
      'parts of a run after a bad tenant id',
      '/v1/retention/runs/ret-1?afterTenant=Bad_Id',
      400,
      'validation-failed',
    ],
    ['the retention schedule before any worker made it', '/v1/retention/schedule', 404, 'not-found'],
  ].map(([name, path, status, type]): BadRequest => ({
    name: name as string,
    method: 'GET',
    path: path as string,
    expectStatus: status as number,
    expectType: problem(type as string),
  })),
  ...(['pause', 'unpause', 'trigger'] as const).flatMap((change): BadRequest[] => [
    {
      name: `${change} of a retention schedule no worker made yet`,
      method: 'POST',
      path: `/v1/retention/schedule/${change}`,
      body: { note: 'maintenance' },
      expectStatus: 404,
      expectType: problem('not-found'),
    },
    {
      name: `${change} of the retention schedule with a 501-character note`,
      method: 'POST',
      path: `/v1/retention/schedule/${change}`,
      body: { note: 'n'.repeat(501) },
      expectStatus: 400,
      expectType: VALIDATION,
    },
    {
      name: `${change} of the retention schedule with an unknown field`,
      method: 'POST',
      path: `/v1/retention/schedule/${change}`,
      body: { note: 'n', at: 'now' },
      expectStatus: 400,
      expectType: VALIDATION,
    },
  ]),

  // --- restore verification ----------------------------------------------------------------------
  ...(['viewer', 'sales', 'legal'] as const).flatMap((role): BadRequest[] => [
    {
      name: `${role} running a restore verification`,
      method: 'POST',
      path: '/v1/dr/verifications',
      role,
      body: {},
      expectStatus: 403,
      expectType: problem('forbidden'),
    },
    {
      name: `${role} listing restore verifications`,
      method: 'GET',
      path: '/v1/dr/verifications',
      role,
      expectStatus: 403,
      expectType: problem('forbidden'),
    },
  ]),
  ...(
    [
      ['POST', '/v1/dr/verifications'],
      ['GET', '/v1/dr/verifications'],
      ['GET', '/v1/dr/verifications/drv-1'],
    ] as const
  ).map(([method, path]): BadRequest => ({
    name: `${method} ${path} without a key`,
    method,
    path,
    role: 'none',
    ...(method === 'POST' ? { body: {} } : {}),
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  })),
  ...(
    [
      ['a verification sampling a negative share', { share: -0.1 }],
      ['a verification sampling more than everyone', { share: 1.5 }],
      ['a verification sampling a share given as a string', { share: '0.5' }],
      ['a verification sampling a null share', { share: null }],
      ['a verification of tenants given as a string', { tenants: 'acme-corp' }],
      ['a verification of tenants given as an object', { tenants: { 'acme-corp': true } }],
      ['a verification of no tenants', { tenants: [] }],
      ['a verification of a bad tenant id', { tenants: ['Bad_Id'] }],
      ['a verification of a tenant id with a NUL', { tenants: ['acme\u0000corp'] }],
      ['a verification of a tenant id with a lone surrogate', { tenants: ['acme-\ud800'] }],
      ['a verification of a tenant id that is a number', { tenants: [42] }],
      ['a verification naming a tenant twice', { tenants: ['acme-corp', 'acme-corp'] }],
      ['a verification of 1001 tenants', { tenants: Array.from({ length: 1001 }, (_, i) => `tenant-${i}`) }],
      ['a verification of named tenants with a share', { tenants: ['acme-corp'], share: 0.5 }],
      ['a verification with an unknown field', { share: 0.5, dryRun: true }],
    ] as const
  ).map(([name, body]): BadRequest => ({
    name,
    method: 'POST',
    path: '/v1/dr/verifications',
    body,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a verification with a body that is not JSON',
    method: 'POST',
    path: '/v1/dr/verifications',
    body: '{"share": 0.5',
    expectStatus: 400,
    expectType: problem('malformed-body'),
  },
  {
    name: 'a verification of an unknown tenant',
    method: 'POST',
    path: '/v1/dr/verifications',
    body: { tenants: [ABSENT_TENANT] },
    expectStatus: 404,
    expectType: problem('tenant-not-found'),
  },
  ...(
    [
      [
        'an unknown restore verification run',
        '/v1/dr/verifications/drv-00000000-0000-4000-8000-000000000000',
        404,
        'not-found',
      ],
      ['a verification run id with a NUL', '/v1/dr/verifications/drv%00x', 400, 'validation-failed'],
      ['a verification run id in broken UTF-8', '/v1/dr/verifications/%C3%28', 400, 'validation-failed'],
      ['a verification run id with a space', '/v1/dr/verifications/drv%20x', 400, 'validation-failed'],
      [
        'a verification run id of 129 characters',
        `/v1/dr/verifications/${'d'.repeat(129)}`,
        400,
        'validation-failed',
      ],
      ['a page of 0 verification runs', '/v1/dr/verifications?limit=0', 400, 'validation-failed'],
      ['a page of 101 verification runs', '/v1/dr/verifications?limit=101', 400, 'validation-failed'],
      ['a page of 1.5 verification runs', '/v1/dr/verifications?limit=1.5', 400, 'validation-failed'],
      ['verification runs before a bad id', '/v1/dr/verifications?before=%20x', 400, 'validation-failed'],
      ['an unknown verification runs filter', '/v1/dr/verifications?status=failed', 400, 'validation-failed'],
    ] as const
  ).map(([name, path, status, type]): BadRequest => ({
    name,
    method: 'GET',
    path,
    expectStatus: status,
    expectType: problem(type),
  })),
  ...(['PUT', 'DELETE'] as const).flatMap((method): BadRequest[] =>
    ['/v1/dr/verifications', '/v1/dr/verifications/drv-1'].map((path) => ({
      name: `${method} ${path}`,
      method,
      path,
      body: {},
      expectStatus: 405,
      expectType: problem('method-not-allowed'),
    })),
  ),

  // --- the deletion ledger -----------------------------------------------------------------------
  ...(['/v1/evidence', '/v1/evidence/verify'] as const).map((path): BadRequest => ({
    name: `${path} without a key`,
    method: 'GET',
    path,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  })),
  ...[
    ['an evidence filter on a bad tenant id', 'tenant=Bad_Id'],
    ['an evidence filter on an unknown kind', 'kind=retention.shred'],
    ['an evidence filter on two kinds', 'kind=retention.delete&kind=erasure.delete'],
    ['an evidence filter from a day that is not a time', 'from=2026-12-01'],
    ['an evidence filter to a time with no zone', 'to=2026-12-01T00:00:00'],
    ['an evidence filter with a NUL in the tenant', 'tenant=acme%00'],
    ['an evidence filter with broken UTF-8 in the kind', 'kind=%C3%28'],
    ['an evidence page of 0', 'limit=0'],
    ['an evidence page of 501', 'limit=501'],
    ['an evidence page of 1.5', 'limit=1.5'],
    ['an evidence page after seq -1', 'afterSeq=-1'],
    ['an unknown evidence filter', 'subject=ann'],
  ].map(([name, query]): BadRequest => ({
    name: name!,
    method: 'GET',
    path: `/v1/evidence?${query}`,
    expectStatus: 400,
    expectType: VALIDATION,
  })),
  {
    name: 'a query on the ledger check',
    method: 'GET',
    path: '/v1/evidence/verify?from=2026-01-01T00:00:00Z',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  ...(['POST', 'DELETE'] as const).map((method): BadRequest => ({
    name: `${method} on the ledger`,
    method,
    path: '/v1/evidence',
    body: { kind: 'retention.delete' },
    expectStatus: 405,
    expectType: problem('method-not-allowed'),
  })),

  // --- ending a wedged tenant workflow ------------------------------------------------------------
  {
    name: 'operator ending a tenant workflow',
    method: 'DELETE',
    path: `/v1/tenants/${ABSENT_TENANT}/workflow`,
    role: 'operator',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'sales ending a tenant workflow',
    method: 'DELETE',
    path: `/v1/tenants/${ABSENT_TENANT}/workflow`,
    role: 'sales',
    expectStatus: 403,
    expectType: problem('forbidden'),
  },
  {
    name: 'ending a tenant workflow without a key',
    method: 'DELETE',
    path: `/v1/tenants/${ABSENT_TENANT}/workflow`,
    role: 'none',
    expectStatus: 401,
    expectType: problem('unauthenticated'),
  },
  {
    name: 'ending the workflow of a bad tenant id',
    method: 'DELETE',
    path: '/v1/tenants/Bad_Id/workflow',
    expectStatus: 400,
    expectType: VALIDATION,
  },
  {
    name: 'ending a workflow that does not exist',
    method: 'DELETE',
    path: `/v1/tenants/${ABSENT_TENANT}/workflow`,
    expectStatus: 404,
    expectType: problem('not-found'),
  },
  {
    name: 'ending a tenant workflow with a body',
    method: 'DELETE',
    path: `/v1/tenants/${ABSENT_TENANT}/workflow`,
    body: { force: true },
    expectStatus: 400,
    expectType: VALIDATION,
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
    payload =
      badRequest.body instanceof Uint8Array
        ? Buffer.from(badRequest.body)
        : Buffer.from(
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
