import { holdActive, LandlordError } from '../../domain/index.js';
import type { Actor } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { tenantInPath } from './tenant-routes.js';
import {
  LegalHoldList,
  LegalHoldParams,
  LegalHoldSchema,
  PlaceLegalHoldRequest,
  ReleaseLegalHoldRequest,
  TenantIdParams,
} from '../schemas.js';

async function existingTenant(store: Registry, id: string): Promise<void> {
  if (!(await store.tenants.get(id))) throw new LandlordError('TenantNotFound', `no tenant "${id}"`);
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
      await existingTenant(deps.store, params.id);
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
        body: hold,
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
      await existingTenant(deps.store, params.id);
      const released = await deps.store.legalHolds.release(params.id, params.holdId, {
        releasedBy: actor.principal,
        reason: body.reason,
      });
      if (released.outcome === 'unknown')
        throw new LandlordError('NotFound', `tenant "${params.id}" has no legal hold "${params.holdId}"`);
      if (released.outcome === 'released')
        await audit(deps.store, actor, params.id, 'legal-hold.release', {
          holdId: params.holdId,
          reason: body.reason,
        });
      return { status: 200, body: released.hold };
    },
  }),
];
