import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';

type RouteParameter = NonNullable<RouteConfig['request']>['params'];
import { z } from 'zod';
import { ERROR_KINDS, PERMISSIONS } from '../domain/index.js';
import type { ErrorKind, PolicyCatalog, RetentionPolicyFile } from '../domain/index.js';
import { problemType } from './http-problem.js';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency.js';
import type { RouteDefinition } from './route.js';
import { Problem } from './schemas.js';

const IdempotencyHeaders = z.object({
  'Idempotency-Key': z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN)
    .optional()
    .describe(
      'Replays the first answer for the same key and request; 409 for the same key with another request.',
    ),
});

const problemResponse = (kinds: ErrorKind[]): ResponseConfig => ({
  description: kinds.map((k) => `${ERROR_KINDS[k].title} (${problemType(k)})`).join('; '),
  content: { 'application/problem+json': { schema: Problem } },
});

/** The error answers a route can give, by status, from what the route does. */
function problemResponses(route: RouteDefinition): Record<number, ErrorKind[]> {
  const byStatus: Record<number, ErrorKind[]> = {};
  const add = (...kinds: ErrorKind[]) => {
    for (const kind of kinds) (byStatus[ERROR_KINDS[kind].status] ??= []).push(kind);
  };
  const mutating = route.method !== 'get';
  if (route.params || route.query || route.body || mutating) add('ValidationFailed');
  if (mutating) add('MalformedBody', 'PayloadTooLarge', 'UnsupportedMediaType');
  if (route.permission) add('Unauthenticated', 'Forbidden');
  if (route.path.startsWith('/v1/tenants/')) add('TenantNotFound');
  if (route.path.startsWith('/v1/operations/')) add('OperationNotFound');
  if (route.path.startsWith('/v1/api-keys/')) add('NotFound');
  add(...(route.errors ?? []));
  if (route.idempotent) add('IdempotencyKeyReused', 'IdempotencyKeyInFlight');
  if (route.permission || route.operationId === 'readiness') add('ServiceUnavailable');
  // What Node's HTTP parser refuses before any route runs.
  add('MalformedRequest', 'RequestTimeout', 'HeaderFieldsTooLarge');
  add('InternalError');
  return byStatus;
}

function zodContent(schema: z.ZodType, contentType = 'application/json') {
  return { [contentType]: { schema } };
}

/**
 * Where a tenant may be placed is data (config/): the tiers and regions the code accepts become
 * enums of the request bodies that name them. Their combinations (residency, DR partners, tiers
 * per region) stay the 422 the document lists.
 */
function statePlacementPolicy(document: OpenApiDocument, catalog: PolicyCatalog): void {
  const tiers = catalog.tiers.map((t) => t.id);
  const regions = catalog.regions.map((r) => r.id);
  const schemas = document.components?.schemas ?? {};
  const create = schemas.CreateTenantRequest?.properties;
  if (create?.tier) create.tier.enum = tiers;
  if (create?.region) create.region.enum = regions;
  const change = schemas.ChangeTenantRequest?.properties;
  if (change?.tier) change.tier.enum = tiers;
}

/**
 * The data classes are data too (the manifest, checked against config/retention.json at start-up):
 * every request field that names one lists them, so a client learns them from the document.
 */
function stateDataClasses(document: OpenApiDocument, retention: RetentionPolicyFile): void {
  const classes = Object.keys(retention.dataClasses);
  const schemas = document.components?.schemas ?? {};
  for (const body of ['StartRetentionRunRequest', 'PlaceLegalHoldRequest']) {
    const items = schemas[body]?.properties?.dataClasses?.items;
    if (items) items.enum = classes;
  }
  const chosen = schemas.SetRetentionRequest?.properties?.dataClasses;
  if (chosen) chosen.propertyNames = { ...chosen.propertyNames, enum: classes };
}

interface OpenApiSchema {
  enum?: string[];
  items?: OpenApiSchema;
  propertyNames?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
}

interface OpenApiDocument {
  components?: { schemas?: Record<string, OpenApiSchema> };
}

/**
 * Builds the OpenAPI 3.1 document of `routes` from their zod schemas (and, where given, the
 * placement policy and the data classes).
 */
export function buildOpenApiDocument(
  routes: readonly RouteDefinition[],
  { catalog, retention }: { catalog?: PolicyCatalog; retention?: RetentionPolicyFile } = {},
): unknown {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key created with POST /v1/api-keys (or LANDLORD_ADMIN_KEY).',
  });
  for (const route of routes) {
    const responses: Record<string, ResponseConfig> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: zodContent(response.schema, response.contentType) } : {}),
        ...(response.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([h, d]) => [h, { ...d, schema: { type: 'string' } }]),
              ),
            }
          : {}),
        ...(response.links ? { links: response.links } : {}),
      };
    }
    for (const [status, kinds] of Object.entries(problemResponses(route)))
      responses[status] ??= problemResponse(kinds);
    const roles = route.permission ? PERMISSIONS[route.permission].join(', ') : undefined;
    const config: RouteConfig = {
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(roles || route.description
        ? { description: [route.description, roles && `Roles: ${roles}.`].filter(Boolean).join(' ') }
        : {}),
      ...(roles ? { security: [{ bearerAuth: [] }] } : { security: [] }),
      request: {
        ...(route.params ? { params: route.params as RouteParameter } : {}),
        ...(route.query ? { query: route.query as RouteParameter } : {}),
        ...(route.body ? { body: { required: true, content: zodContent(route.body) } } : {}),
        ...(route.idempotent ? { headers: IdempotencyHeaders } : {}),
      },
      responses,
    };
    registry.registerPath(config);
  }
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Landlord API',
      version: '1',
      description:
        'Tenant lifecycle orchestration. Mutations answer 202 with an operation; errors are RFC 9457 problem documents. ' +
        'Every string in a request (body, query, path) must be valid Unicode without the NUL character: a NUL or an ' +
        'unpaired UTF-16 surrogate anywhere answers 400, as does an object key "__proto__".',
    },
    servers: [{ url: '/' }],
  });
  if (catalog) statePlacementPolicy(document as OpenApiDocument, catalog);
  if (retention) stateDataClasses(document as OpenApiDocument, retention);
  return document;
}
