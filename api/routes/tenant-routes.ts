import {
  LandlordError,
  TENANT_ID_PATTERN,
  checkPlacement,
  slugFromName,
  tenantSpecFrom,
} from '../../domain/index.js';
import { decodeCursor } from '../../registry/index.js';
import { HttpProblem } from '../http-problem.js';
import { defineRoute, seqPage } from '../route.js';
import type { RouteDefinition, RouteLink, RouteResult } from '../route.js';
import {
  AuditEventPage,
  ChangeTenantRequest,
  CreateTenantRequest,
  ListEventsQuery,
  ListTenantsQuery,
  Operation,
  TenantDetail,
  TenantIdParams,
  TenantPage,
} from '../schemas.js';
import type { OperationSnapshot } from '../../domain/index.js';

const byTenant = { id: '$response.body#/tenantId' };
const byOperation = { id: '$response.body#/id' };

/** Where an accepted operation leads: the operation itself and its tenant's routes. */
export const OPERATION_LINKS: Record<string, RouteLink> = {
  getOperation: { operationId: 'getOperation', parameters: byOperation },
  cancelOperation: { operationId: 'cancelOperation', parameters: byOperation },
  retryOperation: { operationId: 'retryOperation', parameters: byOperation },
  getTenant: { operationId: 'getTenant', parameters: byTenant },
  listTenantEvents: { operationId: 'listTenantEvents', parameters: byTenant },
  suspendTenant: { operationId: 'suspendTenant', parameters: byTenant },
  resumeTenant: { operationId: 'resumeTenant', parameters: byTenant },
  checkTenantDrift: { operationId: 'checkTenantDrift', parameters: byTenant },
  changeTenant: { operationId: 'changeTenant', parameters: byTenant },
};

export const ACCEPTED = {
  description: 'Accepted: the operation as first recorded; follow Location for its progress.',
  schema: Operation,
  headers: { Location: { description: 'URL of the operation' } },
  links: OPERATION_LINKS,
};

/** A 202 answer pointing at the operation. */
export function acceptedOperation(op: OperationSnapshot): RouteResult {
  return { status: 202, body: op, headers: { Location: `/v1/operations/${encodeURIComponent(op.id)}` } };
}

const saneTenantId = (value: unknown) =>
  typeof value === 'string' && TENANT_ID_PATTERN.test(value) ? value : undefined;

/** The tenant a tenant-scoped request names, when it is a well-formed id. */
export function tenantInPath({ params }: { params: Record<string, string> }): { tenantId?: string } {
  const tenantId = saneTenantId(params.id);
  return tenantId ? { tenantId } : {};
}

/**
 * The tenant routes: onboard, list, show, change tier, audit trail, end a wedged workflow, suspend,
 * resume and drift check.
 */
export const tenantRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants',
    operationId: 'createTenant',
    errors: ['TenantExists', 'PolicyViolation'],
    summary: 'Onboard a tenant',
    tag: 'tenants',
    permission: 'createTenant',
    action: 'tenant.create',
    idempotent: true,
    body: CreateTenantRequest,
    responses: { 202: ACCEPTED },
    auditSubject: (request) => {
      const body = request.body as { id?: unknown; name?: unknown } | undefined;
      const tenantId =
        saneTenantId(body?.id) ?? (typeof body?.name === 'string' ? slugFromName(body.name) : undefined);
      return tenantId ? { tenantId } : {};
    },
    async handle({ body }, { actor, deps }) {
      const id = body.id ?? slugFromName(body.name);
      if (id === undefined) {
        throw new HttpProblem(
          'ValidationFailed',
          'no tenant id can be derived from the name; pass an explicit "id"',
          {
            errors: [
              {
                in: 'body',
                path: ['id'],
                code: 'custom',
                message: 'required when the name yields no slug (^[a-z][a-z0-9-]{2,39}$)',
              },
            ],
          },
        );
      }
      const spec = tenantSpecFrom(body, id);
      checkPlacement(deps.catalog, spec);
      const existing = await deps.store.tenants.get(id);
      if (existing?.status === 'deleted')
        throw new LandlordError(
          'TenantExists',
          `tenant "${id}" was offboarded and deleted at ${existing.offboarding?.deletedAt ?? existing.updatedAt} ` +
            `(operation ${existing.offboarding?.operationId ?? 'unknown'}); its tombstone keeps the id reserved`,
        );
      if (existing) throw new LandlordError('TenantExists', `tenant "${id}" already exists`);
      return acceptedOperation(await deps.lifecycle.createTenant(spec, actor));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants',
    operationId: 'listTenants',
    summary: 'List tenants, oldest first, filtered by tier, region and status',
    tag: 'tenants',
    permission: 'read',
    query: ListTenantsQuery,
    responses: {
      200: {
        description: 'One page of tenants; pass nextCursor as cursor for the next.',
        schema: TenantPage,
      },
    },
    async handle({ query }, { deps }) {
      if (query.cursor !== undefined && decodeCursor(query.cursor) === undefined) {
        throw new HttpProblem('ValidationFailed', 'the cursor is not one this API issued', {
          errors: [
            {
              in: 'query',
              path: ['cursor'],
              code: 'custom',
              message: 'pass nextCursor from a previous page',
            },
          ],
        });
      }
      return { status: 200, body: await deps.store.tenants.list(query) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}',
    operationId: 'getTenant',
    summary: 'Show a tenant and its operations',
    tag: 'tenants',
    permission: 'read',
    params: TenantIdParams,
    responses: { 200: { description: 'The tenant', schema: TenantDetail } },
    async handle({ params }, { deps }) {
      const tenant = await deps.store.tenants.get(params.id);
      if (!tenant) throw new LandlordError('TenantNotFound', `no tenant "${params.id}"`);
      const operations = (await deps.store.operations.listForTenant(params.id)).map((op) => ({
        id: op.id,
        kind: op.kind,
        status: op.status,
        run: op.run,
        createdAt: op.createdAt,
        updatedAt: op.updatedAt,
        ...(op.finishedAt ? { finishedAt: op.finishedAt } : {}),
      }));
      return { status: 200, body: { ...tenant, operations } };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/tenants/{id}',
    operationId: 'changeTenant',
    errors: ['InvalidTransition', 'PolicyViolation'],
    summary: 'Move a tenant to another tier; from a pool tier to a silo tier its data moves with it',
    description:
      'Pool to silo: the silo is provisioned, the tenant is read-only while its rows are copied and ' +
      'counted, then the registry routes it to the silo, its pool rows are removed and it is writable ' +
      'again. A failure before the switch leaves it on the pool, writable, with the silo destroyed. ' +
      'Silo to pool (and between silo tiers) is refused with 422 for now.',
    tag: 'tenants',
    permission: 'operateTenant',
    action: 'tenant.change-tier',
    idempotent: true,
    params: TenantIdParams,
    body: ChangeTenantRequest,
    responses: { 202: ACCEPTED },
    auditSubject: tenantInPath,
    async handle({ params, body }, { actor, deps }) {
      const tenant = await deps.store.tenants.get(params.id);
      if (!tenant) throw new LandlordError('TenantNotFound', `no tenant "${params.id}"`);
      return acceptedOperation(await deps.lifecycle.changeTenantTier(tenant, body.tier, actor));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/events',
    operationId: 'listTenantEvents',
    summary: "Page through a tenant's audit trail",
    tag: 'tenants',
    permission: 'read',
    params: TenantIdParams,
    query: ListEventsQuery,
    responses: {
      200: {
        description: 'Audit events in order; pass nextAfterSeq as afterSeq for the next page.',
        schema: AuditEventPage,
      },
    },
    async handle({ params, query }, { deps }) {
      if (!(await deps.store.tenants.get(params.id)))
        throw new LandlordError('TenantNotFound', `no tenant "${params.id}"`);
      const items = await deps.store.audit.list({
        tenantId: params.id,
        limit: query.limit,
        afterSeq: query.afterSeq,
      });
      return seqPage(items, query.limit);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{id}/workflow',
    operationId: 'endTenantWorkflow',
    errors: ['NotFound', 'InvalidTransition'],
    summary: 'End the lifecycle workflow of a tenant that was never recorded',
    description:
      'The way out for a tenant workflow left stuck before its tenant or its operation reached the ' +
      'registry (by an earlier version that let text the registry cannot store through): the ' +
      'workflow `tenant:<id>` is terminated and the id is free again. A tenant the registry knows, ' +
      'or one with an operation running in the registry (an onboarding on its way), is refused with ' +
      '409: cancel the operation instead.',
    tag: 'tenants',
    permission: 'repair',
    action: 'tenant.end-workflow',
    params: TenantIdParams,
    responses: { 204: { description: 'The workflow was ended' } },
    auditSubject: tenantInPath,
    async handle({ params }, { actor, deps }) {
      if (await deps.store.tenants.get(params.id))
        throw new LandlordError(
          'InvalidTransition',
          `tenant "${params.id}" is recorded; its workflow is its lifecycle and is not ended by hand`,
        );
      const running = (await deps.store.operations.listForTenant(params.id)).find(
        (op) => op.status === 'running',
      );
      if (running)
        throw new LandlordError(
          'InvalidTransition',
          `operation ${running.id} of tenant "${params.id}" is running; cancel it instead`,
        );
      // Recorded before it happens: an end that is not in the audit trail must not happen.
      const audit = (outcome: string) =>
        deps.store.audit.append({
          eventKey: `api:${actor.requestId}:tenant.end-workflow:${outcome}`,
          tenantId: params.id,
          actor: actor.principal,
          actorRole: actor.role,
          requestId: actor.requestId,
          action: 'tenant.end-workflow',
          outcome,
          detail: {},
        });
      await audit('requested');
      const ended = await deps.lifecycle.endTenantWorkflow(
        params.id,
        actor,
        'ended by an operator: the tenant was never recorded',
      );
      if (!ended) throw new LandlordError('NotFound', `no running workflow for tenant "${params.id}"`);
      await audit('succeeded').catch(() => undefined);
      return { status: 204 };
    },
  }),
  ...(
    [
      ['suspend', 'suspendTenant', "Suspend a tenant's access"],
      ['resume', 'resumeTenant', "Resume a suspended tenant's access"],
      ['drift-check', 'checkTenantDrift', "Check a silo tenant's stacks for drift (changes nothing)"],
    ] as const
  ).map(([kind, operationId, summary]) =>
    defineRoute({
      method: 'post',
      path: `/v1/tenants/{id}/${kind}`,
      operationId,
      summary,
      errors: ['InvalidTransition'],
      tag: 'tenants',
      permission: 'operateTenant',
      action: `tenant.${kind}`,
      idempotent: true,
      params: TenantIdParams,
      responses: { 202: ACCEPTED },
      auditSubject: tenantInPath,
      async handle({ params }, { actor, deps }) {
        if (!(await deps.store.tenants.get(params.id)))
          throw new LandlordError('TenantNotFound', `no tenant "${params.id}"`);
        return acceptedOperation(await deps.lifecycle.requestTenantOperation(params.id, kind, actor));
      },
    }),
  ),
];
