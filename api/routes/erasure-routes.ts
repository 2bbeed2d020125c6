import { LandlordError } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import {
  EraseSubjectRequest,
  ErasureAccepted,
  ErasureList,
  ErasureListQuery,
  ErasureParams,
  ErasureSchema,
  TenantIdParams,
} from '../schemas.js';
import { existingTenant } from './legal-hold-routes.js';
import { acceptedOperation, OPERATION_LINKS, tenantInPath } from './tenant-routes.js';

const DAY_MS = 86_400_000;
/** How far ahead of this server's clock a `receivedAt` may be (the caller's clock may run fast). */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Data-subject erasure (docs/erasure-and-offboarding.md): a request is recorded, then carried out
 * by an `erase-subject` operation of the tenant. Its subject is never shown again, only its HMAC.
 */
export const erasureRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/erasures',
    operationId: 'eraseSubject',
    summary: "Erase a data subject's data from a tenant (GDPR Art. 17)",
    description:
      'A tenant operation (kind `erase-subject`). In every manifest table with a subject key, in the ' +
      "tenant's pool partition or silo database and its DR standby, the subject's rows are deleted, or " +
      "anonymized where the manifest says the rows must stay; objects in the subject's storage folders go " +
      "too. Each table and prefix gets a ledger record, and the tenant's erasure list the subject's HMAC. " +
      'While a legal hold covers the subject or a data class the erasure touches, the request waits ' +
      '(`blocked-by-hold`) and goes on once the hold is released. A subject with no data is erased with zero counts.',
    tag: 'erasure',
    permission: 'eraseSubject',
    action: 'tenant.erase-subject',
    errors: ['TenantNotFound', 'InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    body: EraseSubjectRequest,
    auditSubject: tenantInPath,
    responses: {
      202: {
        description: 'Accepted: the operation as first recorded, with the erasure request',
        schema: ErasureAccepted,
        headers: { Location: { description: 'URL of the operation' } },
        links: {
          ...OPERATION_LINKS,
          getErasure: {
            operationId: 'getErasure',
            parameters: { id: '$response.body#/tenantId', erasureId: '$response.body#/erasure/id' },
          },
        },
      },
    },
    async handle({ params, body }, { actor, deps }) {
      const now = Date.now();
      const receivedAt = body.receivedAt ? Date.parse(body.receivedAt) : now;
      if (receivedAt > now + CLOCK_SKEW_MS)
        throw new LandlordError('ValidationFailed', 'receivedAt: must not be in the future');
      const tenant = await existingTenant(deps.store, params.id);
      // Refused before anything is recorded; the workflow judges it again with what it has queued.
      if (tenant.status !== 'active' && tenant.status !== 'suspended')
        throw new LandlordError(
          'InvalidTransition',
          `a ${tenant.status} tenant's subjects cannot be erased; it must be active or suspended`,
        );
      const erasure = await deps.store.erasures.create({
        tenantId: tenant.id,
        subject: body.subject,
        reason: body.reason,
        receivedAt: new Date(receivedAt).toISOString(),
        dueBy: new Date(receivedAt + deps.retention.erasureDueDays * DAY_MS).toISOString(),
        requestedBy: actor.principal,
      });
      let op;
      try {
        op = await deps.lifecycle.eraseSubject(tenant.id, erasure.id, actor);
      } catch (err) {
        // Refused, or not answered: nothing keeps the subject. A workflow that did take it finds
        // no request when it begins, and fails saying so (discard spares a request it has begun).
        await deps.store.erasures.discard(tenant.id, erasure.id);
        throw err;
      }
      await deps.store.erasures.attach(tenant.id, erasure.id, op.id);
      const accepted = acceptedOperation(op);
      return { ...accepted, body: { ...op, erasure: { ...erasure, operationId: op.id } } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/erasures',
    operationId: 'listErasures',
    summary: "List a tenant's erasure requests, newest first",
    description:
      'Each with its status, counts per store and table, and `dueBy` (received plus the configured ' +
      'period, 30 days by default); `overdue` flags one past it and not erased.',
    tag: 'erasure',
    permission: 'eraseSubject',
    errors: ['TenantNotFound'],
    params: TenantIdParams,
    query: ErasureListQuery,
    responses: { 200: { description: 'A page of requests', schema: ErasureList } },
    async handle({ params, query }, { deps }) {
      await existingTenant(deps.store, params.id);
      const items = await deps.store.erasures.list(params.id, {
        limit: query.limit,
        ...(query.before ? { before: query.before } : {}),
      });
      const last = items.length === query.limit ? items.at(-1) : undefined;
      return { status: 200, body: last ? { items, nextBefore: last.id } : { items } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/erasures/{erasureId}',
    operationId: 'getErasure',
    summary: 'Show one erasure request',
    tag: 'erasure',
    permission: 'eraseSubject',
    errors: ['TenantNotFound', 'NotFound'],
    params: ErasureParams,
    responses: { 200: { description: 'The request', schema: ErasureSchema } },
    async handle({ params }, { deps }) {
      await existingTenant(deps.store, params.id);
      const erasure = await deps.store.erasures.get(params.id, params.erasureId);
      if (!erasure)
        throw new LandlordError('NotFound', `tenant "${params.id}" has no erasure "${params.erasureId}"`);
      return { status: 200, body: erasure };
    },
  }),
];
