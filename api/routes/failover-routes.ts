import { activeRegionOf, LandlordError } from '../../domain/index.js';
import type { PolicyCatalog, TenantRecord } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { FailoverRequest, TenantIdParams } from '../schemas.js';
import { existingTenant } from './legal-hold-routes.js';
import { ACCEPTED, acceptedOperation, tenantInPath } from './tenant-routes.js';

/** The approval step both kinds begin with, as their descriptions name it. */
const APPROVAL =
  '`approval` (it waits, `waiting-approval`, for `POST /v1/operations/{id}/approve` by someone ' +
  'other than the requester; a rejection or the timeout changes nothing)';

/** What the operation is asked with: the reason, when one was given. */
const reasonOf = ({ reason }: { reason?: string | undefined }) => (reason ? { reason } : {});

/** Refuses a tenant neither active nor suspended: only a tenant being served moves, or is drilled. */
export function servedTenant(tenant: TenantRecord, verb: string): void {
  if (tenant.status !== 'active' && tenant.status !== 'suspended')
    throw new LandlordError(
      'InvalidTransition',
      `a ${tenant.status} tenant cannot be ${verb}; it must be active or suspended`,
    );
}

/**
 * Refuses a failover of a tenant with no standby to take over (a pool tenant, or a silo on a tier
 * without DR), naming what recovers it instead: a restore in its home region's DR partner.
 */
function refuseWithoutStandby(tenant: TenantRecord, catalog: PolicyCatalog): void {
  if (tenant.deploymentModel === 'silo' && tenant.drRegion) return;
  const partner = catalog.regions.find((r) => r.id === tenant.region)?.drPartner ?? 'the partner region';
  const why =
    tenant.deploymentModel === 'pool'
      ? 'it is a pool tenant'
      : `its tier, ${tenant.tier}, keeps no DR standby`;
  throw new LandlordError(
    'InvalidTransition',
    `tenant "${tenant.id}" has no standby to fail over to (${why}); it is recovered in the partner ` +
      `region by a restore from its latest backup: POST /v1/tenants/${tenant.id}/restore with ` +
      `"region": "${partner}"`,
  );
}

/**
 * Regional failover and failback (docs/disaster-recovery.md): a DR tenant served from its standby
 * in the partner region, and back home once that is healthy; each waits for another's approval.
 */
export const failoverRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/failover',
    operationId: 'failoverTenant',
    summary: 'Fail a tenant over to its DR standby, once another principal approves',
    description:
      `A tenant operation (kind \`failover\`) of a silo on a DR tier: ${APPROVAL}, \`fence-primary\` ` +
      "(the home silo's login off), `promote-standby` (the standby caught up with the home silo " +
      'where that answers, replication ended, sequences moved on, erasures applied again, its login ' +
      'on), `switch-routing`, `verify`. The tenant then shows `activeRegion`, its DR region, until ' +
      '`POST /v1/tenants/{id}/failback`. A tenant with no standby (a pool tenant, or a silo on a tier ' +
      'without DR) is refused (409), naming the restore into the partner region that recovers it ' +
      'instead; so is one failed over already.',
    tag: 'dr',
    permission: 'failoverTenant',
    action: 'tenant.failover',
    errors: ['TenantNotFound', 'InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    body: FailoverRequest,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      servedTenant(tenant, 'failed over');
      refuseWithoutStandby(tenant, deps.catalog);
      const active = activeRegionOf(tenant);
      if (active !== tenant.region)
        throw new LandlordError(
          'InvalidTransition',
          `tenant "${tenant.id}" is already served from ${active}; ` +
            `fail back first (POST /v1/tenants/${tenant.id}/failback)`,
        );
      return acceptedOperation(await deps.lifecycle.failoverTenant(tenant.id, reasonOf(body), actor));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/failback',
    operationId: 'failbackTenant',
    summary: 'Fail a tenant back to its home region, once another principal approves',
    description:
      `A tenant operation (kind \`failback\`) of a tenant failed over, once its home region is healthy: ` +
      `${APPROVAL}, \`reseed-home\` (the home silo seeded again from the serving one), ` +
      "`fence-standby` (the serving silo's login off), `promote-home` (caught up and promoted as in " +
      'a failover), `switch-routing`, `verify`, `resume-replication` (to the DR standby again). The ' +
      'tenant then shows no `activeRegion`. A tenant served from its home region is refused (409).',
    tag: 'dr',
    permission: 'failoverTenant',
    action: 'tenant.failback',
    errors: ['TenantNotFound', 'InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    body: FailoverRequest,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      servedTenant(tenant, 'failed back');
      if (activeRegionOf(tenant) === tenant.region)
        throw new LandlordError(
          'InvalidTransition',
          `tenant "${tenant.id}" is served from its home region ${tenant.region}; there is nothing to fail back`,
        );
      return acceptedOperation(await deps.lifecycle.failbackTenant(tenant.id, reasonOf(body), actor));
    },
  }),
];
