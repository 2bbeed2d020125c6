import { randomBytes } from 'node:crypto';
import { LandlordError, REGION_FAILOVER_TENANT_PREFIX, regionFailoverOperation } from '../../domain/index.js';
import type { Actor, Region, RegionOperationKind } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition, RouteDeps, RouteResult } from '../route.js';
import { RegionDrillRequest, RegionFailoverRequest, RegionIdParams } from '../schemas.js';
import { ACCEPTED, acceptedOperation } from './tenant-routes.js';

/** How each region-wide operation is named in its ids, refusals and audit events. */
const REGION_OPERATIONS = {
  'region-failover': { idPrefix: 'rfo', noun: 'failover', action: 'region.failover' },
  'region-drill': { idPrefix: 'rdr', noun: 'drill', action: 'region.drill' },
} as const satisfies Record<RegionOperationKind, { idPrefix: string; noun: string; action: string }>;

/** The region a route's path names, or NotFound naming the known ones. */
function knownRegion(deps: RouteDeps, id: string): Region {
  const region = deps.catalog.regions.find((r) => r.id === id);
  if (!region)
    throw new LandlordError(
      'NotFound',
      `unknown region "${id}"; known regions: ${deps.catalog.regions.map((r) => r.id).join(', ')}`,
    );
  return region;
}

/** Refuses a region operation while another of the same kind and region runs, naming it. */
async function refuseWhileRunning(deps: RouteDeps, kind: RegionOperationKind, region: string): Promise<void> {
  const running = await deps.store.operations.list({
    kind,
    status: 'running',
    tenantId: `${REGION_FAILOVER_TENANT_PREFIX}${region}`,
    limit: 10,
  });
  const other = running.find((op) => op.input.region === region);
  if (other)
    throw new LandlordError(
      'InvalidTransition',
      `a ${REGION_OPERATIONS[kind].noun} of region ${region} is already running: operation ${other.id} ` +
        `(GET /v1/operations/${other.id}; POST /v1/operations/${other.id}/cancel ends it)`,
    );
}

/**
 * Records a region operation, starts the `regionFailover` workflow that runs both kinds and audits
 * the request. When the start fails the record stays `running` (the workflow may have started all
 * the same); `POST /v1/operations/{id}/cancel` ends one whose workflow is not there.
 */
async function startRegionOperation(
  deps: RouteDeps,
  actor: Actor,
  kind: RegionOperationKind,
  region: string,
  {
    reason,
    waveSize,
    includeBackupRestores = false,
  }: { reason?: string | undefined; waveSize: number; includeBackupRestores?: boolean },
): Promise<RouteResult> {
  const { idPrefix, action } = REGION_OPERATIONS[kind];
  await refuseWhileRunning(deps, kind, region);
  const operation = regionFailoverOperation({
    id: `${idPrefix}-${randomBytes(8).toString('hex')}`,
    kind,
    region,
    ...(reason ? { reason } : {}),
    waveSize,
    includeBackupRestores,
    actor,
    at: new Date().toISOString(),
  });
  await deps.store.operations.upsert(operation);
  // A failed start may still have started the workflow (a lost answer), so the record stays
  // running: a region with no workflow behind its record is freed by cancelling it.
  await deps.lifecycle.startRegionFailover(operation);
  await deps.store.audit.append({
    eventKey: `api:${actor.requestId}:${action}`,
    operationId: operation.id,
    actor: actor.principal,
    actorRole: actor.role,
    requestId: actor.requestId,
    action,
    outcome: 'accepted',
    detail: { region, waveSize, ...(includeBackupRestores ? { includeBackupRestores } : {}) },
  });
  return acceptedOperation(operation);
}

/**
 * Region-wide disaster recovery (docs/disaster-recovery.md): every DR tenant homed in a region
 * failed over to its standby, in waves, under one approval; or every tenant homed there drilled.
 */
export const regionRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/regions/{id}/failover',
    operationId: 'failoverRegion',
    summary: 'Fail every DR tenant homed in a region over to its standby, once another principal approves',
    description:
      'An operation (kind `region-failover`, `tenantId` `region:<id>`) of the region, not of a tenant: ' +
      '`plan` lists the DR tenants homed there, and the tenants without DR with the RTO their tier ' +
      'promises (they are recovered by restores from backup); `approval` (it ' +
      'waits, `waiting-approval`, for `POST /v1/operations/{id}/approve` by someone other than the ' +
      'requester; a rejection or the timeout changes nothing), the one approval for every tenant; ' +
      "`fail-over` runs each DR tenant's own `failover` operation, pre-approved, in waves of at most " +
      '`waveSize` at once. A tenant whose failover fails does not stop the others: its own operation ' +
      'can be retried from its failed step. `GET /v1/operations/{id}` shows the progress and, at the ' +
      "end, the result: each tenant's failover operation and outcome. With `includeBackupRestores`, a " +
      'last step `restore-from-backup` then recovers each tenant without DR in the partner region: its ' +
      'own `restore` operation with `"region"`, of its latest available backup, pre-approved, in waves ' +
      'too. A region with no DR partner ' +
      '(its tenants are recovered by restores) is refused (409), and so is one whose failover is ' +
      'running already.',
    tag: 'dr',
    permission: 'failoverTenant',
    action: 'region.failover',
    errors: ['NotFound', 'InvalidTransition'],
    idempotent: true,
    params: RegionIdParams,
    body: RegionFailoverRequest,
    responses: { 202: ACCEPTED },
    async handle({ params, body }, { actor, deps }) {
      const region = knownRegion(deps, params.id);
      if (!region.drPartner)
        throw new LandlordError(
          'InvalidTransition',
          `region ${region.id} has no DR partner, so no tenant homed there has a standby to fail over ` +
            'to: its tenants are recovered by restores from their latest backups ' +
            '(POST /v1/tenants/{id}/restore)',
        );
      return startRegionOperation(deps, actor, 'region-failover', region.id, body);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/regions/{id}/drills',
    operationId: 'drillRegion',
    summary:
      'Drill every tenant homed in a region: restore copies verified and dropped, RTO and RPO measured',
    description:
      'An operation (kind `region-drill`, `tenantId` `region:<id>`) of the region, not of a tenant: ' +
      "`plan` lists the active and suspended tenants homed there; `drill` runs each one's own `drill` " +
      'operation (`POST /v1/tenants/{id}/drills`) in waves of at most `waveSize` at once. No approval: ' +
      'production is not touched. A tenant whose drill fails does not stop the others. ' +
      "`GET /v1/operations/{id}` shows the progress and, at the end, the result: each tenant's drill " +
      'operation and outcome, whose result holds the RTO and RPO measured. A region without a DR ' +
      'partner is drilled too, its copies made in the region itself. One whose drill is running ' +
      'already is refused (409).',
    tag: 'dr',
    permission: 'drillTenant',
    action: 'region.drill',
    errors: ['NotFound', 'InvalidTransition'],
    idempotent: true,
    params: RegionIdParams,
    body: RegionDrillRequest,
    responses: { 202: ACCEPTED },
    async handle({ params, body }, { actor, deps }) {
      const region = knownRegion(deps, params.id);
      return startRegionOperation(deps, actor, 'region-drill', region.id, body);
    },
  }),
];
