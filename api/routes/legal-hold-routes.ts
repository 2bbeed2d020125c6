import { holdActive, LandlordError } from '../../domain/index.js';
import type { Actor, TenantRecord } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition, RouteDeps } from '../route.js';
import { ACCEPTED, acceptedOperation, tenantInPath } from './tenant-routes.js';
import {
  LegalHoldList,
  LegalHoldParams,
  LegalHoldSchema,
  PlaceLegalHoldRequest,
  ReleaseLegalHoldRequest,
  TenantIdParams,
} from '../schemas.js';

/** The tenant a route names, or TenantNotFound. */
export async function existingTenant(store: Registry, id: string): Promise<TenantRecord> {
  const tenant = await store.tenants.get(id);
  if (!tenant) throw new LandlordError('TenantNotFound', `no tenant "${id}"`);
  return tenant;
}

/**
 * Whether the tenant lives in an AWS or GCP region, where a silo's buckets expire objects by
 * lifecycle rules of their own: a hold reaches those only when its stacks are applied again. A local
 * silo's folder is swept by the retention run, which reads the holds itself. A pool tenant there
 * has no bucket, unless a move into a silo is queued: its workflow knows, and refuses when not.
 */
function inCloudRegion(deps: RouteDeps, tenant: TenantRecord): boolean {
  const provider = deps.catalog.regions.find((r) => r.id === tenant.region)?.provider;
  return provider !== undefined && provider !== 'local';
}

/**
 * Asks the tenant's workflow to bring its buckets' rules in line with its holds. The hold stands
 * whatever the answer; one that could not be asked says so, and `POST …/storage-rules` asks again.
 */
export async function syncStorageRules(
  deps: RouteDeps,
  tenant: TenantRecord,
  actor: Actor,
): Promise<{ storageRules?: { operationId?: string; error?: string } }> {
  if (!inCloudRegion(deps, tenant)) return {};
  try {
    const op = await deps.lifecycle.requestTenantOperation(tenant.id, 'sync-storage-rules', actor);
    return { storageRules: { operationId: op.id } };
  } catch (err) {
    // A pool tenant with no move into a silo queued: it has no bucket, so nothing to bring in line.
    if (err instanceof LandlordError && err.kind === 'InvalidTransition' && tenant.deploymentModel === 'pool')
      return {};
    const message = err instanceof LandlordError ? err.message : 'the lifecycle service did not answer';
    deps.logger.warn({ tenantId: tenant.id, err: message }, 'storage rules sync not requested');
    return {
      storageRules: {
        error: `the buckets' lifecycle rules were not updated (${message}); ask again with POST /v1/tenants/${tenant.id}/storage-rules`,
      },
    };
  }
}

/** A date alone holds through the end of that day (UTC). */
const untilOf = (until: string) =>
  new Date(/^\d{4}-\d{2}-\d{2}$/.test(until) ? `${until}T23:59:59.999Z` : until).toISOString();

const audit = (
  store: Registry,
  actor: Actor,
  tenantId: string,
  action: string,
  detail: Record<string, unknown>,
) =>
  store.audit.append({
    eventKey: `api:${actor.requestId}:${action}`,
    tenantId,
    actor: actor.principal,
    actorRole: actor.role,
    requestId: actor.requestId,
    action,
    outcome: 'succeeded',
    detail,
  });

/**
 * Legal holds (docs/retention.md): while one covers data, no deletion path deletes it. Placed and
 * released by the legal role and admins, each with a reason, both audited; seen by operators too.
 */
export const legalHoldRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/legal-holds',
    operationId: 'placeLegalHold',
    summary: "Place a legal hold on a tenant's data",
    description:
      'No `dataClasses` and no `subjects`: the whole tenant is held. Otherwise rows of the named ' +
      'data classes, and rows about the named subjects, are held. Nothing a hold covers is deleted ' +
      '(retention runs, erasure, offboarding, backup expiry) until it is released or its `until` passes.',
    tag: 'legal-holds',
    permission: 'manageLegalHolds',
    action: 'legal-hold.place',
    idempotent: true,
    params: TenantIdParams,
    body: PlaceLegalHoldRequest,
    auditSubject: tenantInPath,
    responses: { 201: { description: 'The hold, in force', schema: LegalHoldSchema } },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      const known = Object.keys(deps.retention.dataClasses);
      const unknown = (body.dataClasses ?? []).filter((c) => !known.includes(c));
      if (unknown.length > 0)
        throw new LandlordError(
          'ValidationFailed',
          `dataClasses: unknown data class ${unknown.map((c) => `"${c}"`).join(', ')}; known: ${known.join(', ')}`,
        );
      const until = body.until === undefined ? undefined : untilOf(body.until);
      if (until !== undefined && until <= new Date().toISOString())
        throw new LandlordError('ValidationFailed', 'until: must be in the future');
      // A class or subject named twice is held once.
      const unique = (items: string[] | undefined) => (items ? [...new Set(items)] : undefined);
      const dataClasses = unique(body.dataClasses);
      const subjects = unique(body.subjects);
      const hold = await deps.store.legalHolds.place({
        tenantId: params.id,
        reason: body.reason,
        ...(dataClasses ? { dataClasses } : {}),
        ...(subjects ? { subjects } : {}),
        ...(until ? { until } : {}),
        createdBy: actor.principal,
      });
      // Subjects are counted, not named: the audit trail is read more widely than the hold.
      await audit(deps.store, actor, params.id, 'legal-hold.place', {
        holdId: hold.id,
        reason: hold.reason,
        ...(hold.dataClasses ? { dataClasses: hold.dataClasses } : {}),
        ...(hold.subjects ? { subjects: hold.subjects.length } : {}),
        ...(hold.until ? { until: hold.until } : {}),
      });
      return {
        status: 201,
        headers: { location: `/v1/tenants/${params.id}/legal-holds/${hold.id}` },
        body: { ...hold, ...(await syncStorageRules(deps, tenant, actor)) },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/legal-holds',
    operationId: 'listLegalHolds',
    summary: "List a tenant's legal holds, released ones included",
    tag: 'legal-holds',
    permission: 'readLegalHolds',
    params: TenantIdParams,
    responses: {
      200: { description: 'Holds, oldest first; `active` says which are in force', schema: LegalHoldList },
    },
    async handle({ params }, { deps }) {
      await existingTenant(deps.store, params.id);
      const at = new Date().toISOString();
      const items = (await deps.store.legalHolds.list(params.id)).map((h) => ({
        ...h,
        active: holdActive(h, at),
      }));
      return { status: 200, body: { items } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{id}/legal-holds/{holdId}',
    operationId: 'releaseLegalHold',
    errors: ['NotFound'],
    summary: 'Release a legal hold (releasing a released hold again changes nothing)',
    description:
      'What the hold kept back is deleted by the next run that finds it expired; erasures waiting ' +
      'on it continue.',
    tag: 'legal-holds',
    permission: 'manageLegalHolds',
    action: 'legal-hold.release',
    params: LegalHoldParams,
    body: ReleaseLegalHoldRequest,
    auditSubject: tenantInPath,
    responses: { 200: { description: 'The hold as released', schema: LegalHoldSchema } },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      const released = await deps.store.legalHolds.release(params.id, params.holdId, {
        releasedBy: actor.principal,
        reason: body.reason,
      });
      if (released.outcome === 'unknown')
        throw new LandlordError('NotFound', `tenant "${params.id}" has no legal hold "${params.holdId}"`);
      if (released.outcome !== 'released') return { status: 200, body: released.hold };
      await audit(deps.store, actor, params.id, 'legal-hold.release', {
        holdId: params.holdId,
        reason: body.reason,
      });
      // Erasures waiting for holds look again now rather than at their next hourly look.
      await deps.lifecycle.legalHoldsChanged(params.id);
      return { status: 200, body: { ...released.hold, ...(await syncStorageRules(deps, tenant, actor)) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/storage-rules',
    operationId: 'syncStorageRules',
    summary: "Bring a cloud silo's bucket lifecycle rules in line with its retention and legal holds",
    description:
      'A tenant operation (kind `sync-storage-rules`): the holds in force are read and the stacks ' +
      'applied again, so a held prefix has no native expiry. Placing and releasing a hold ask for it ' +
      'themselves; this asks again (after a hold whose answer said it could not, or a retention ' +
      'change). Only AWS and GCP silos have such rules: for a pool or local silo tenant it is 409.',
    tag: 'legal-holds',
    permission: 'syncStorageRules',
    action: 'tenant.sync-storage-rules',
    errors: ['InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      if (!inCloudRegion(deps, tenant))
        throw new LandlordError(
          'InvalidTransition',
          tenant.deploymentModel === 'silo'
            ? `tenant "${tenant.id}" is a silo on the local target: retention runs read its holds themselves`
            : `tenant "${tenant.id}" lives in its region's pool: it has no buckets of its own`,
        );
      return acceptedOperation(
        await deps.lifecycle.requestTenantOperation(tenant.id, 'sync-storage-rules', actor),
      );
    },
  }),
];
