import { LandlordError } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { ApiKeyIdParams, ApiKeyList, CreateApiKeyRequest, CreatedApiKey } from '../schemas.js';

/** The API key routes (admin only): create (the secret is shown once), list, revoke. */
export const apiKeyRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create an API key; the response is the only time its secret is shown',
    tag: 'api-keys',
    permission: 'manageKeys',
    action: 'api-key.create',
    idempotent: true,
    body: CreateApiKeyRequest,
    responses: {
      201: {
        description: 'The key and its secret',
        schema: CreatedApiKey,
        links: {
          revokeApiKey: { operationId: 'revokeApiKey', parameters: { id: '$response.body#/key/id' } },
        },
      },
    },
    // The idempotency store must never hold a usable secret: a replay shows the key without it.
    replayable: (body) => ({ key: (body as { key: unknown }).key }),
    async handle({ body }, { actor, deps }) {
      const created = await deps.store.apiKeys.create({
        name: body.name,
        role: body.role,
        createdBy: actor.principal,
      });
      await deps.store.audit.append({
        eventKey: `api:${actor.requestId}:api-key.create`,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: 'api-key.create',
        outcome: 'succeeded',
        detail: { keyId: created.key.id, name: created.key.name, role: created.key.role },
      });
      return { status: 201, body: created };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/api-keys',
    operationId: 'listApiKeys',
    summary: 'List API keys (never their secrets)',
    tag: 'api-keys',
    permission: 'manageKeys',
    responses: { 200: { description: 'Every key, revoked ones included', schema: ApiKeyList } },
    async handle(_input, { deps }) {
      return { status: 200, body: { items: await deps.store.apiKeys.list() } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/api-keys/{id}',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key (revoking a revoked key again changes nothing and answers 204)',
    tag: 'api-keys',
    permission: 'manageKeys',
    action: 'api-key.revoke',
    params: ApiKeyIdParams,
    responses: { 204: { description: 'Revoked (now, or before)' } },
    async handle({ params }, { actor, deps }) {
      const revoked = await deps.store.apiKeys.revoke(params.id);
      if (revoked === 'unknown') throw new LandlordError('NotFound', `no API key "${params.id}"`);
      if (revoked === 'already') return { status: 204 };
      await deps.store.audit.append({
        eventKey: `api:${actor.requestId}:api-key.revoke`,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: 'api-key.revoke',
        outcome: 'succeeded',
        detail: { keyId: params.id },
      });
      return { status: 204 };
    },
  }),
];
