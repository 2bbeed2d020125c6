import { randomBytes } from 'node:crypto';
import { LandlordError, REGION_FAILOVER_TENANT_PREFIX, regionFailoverOperation } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition, RouteDeps } from '../route.js';
import { RegionFailoverRequest, RegionIdParams } from '../schemas.js';
import { ACCEPTED, acceptedOperation } from './tenant-routes.js';

/** Refuses a region failover while another of the same region runs, naming it. */
async function refuseWhileRunning(deps: RouteDeps, region: string): Promise<void> {
  const running = await deps.store.operations.list({
    kind: 'region-failover',
    status: 'running',
    tenantId: `${REGION_FAILOVER_TENANT_PREFIX}${region}`,
    limit: 10,
  });
  const other = running.find((op) => op.input.region === region);
  if (other)
    throw new LandlordError(
      'InvalidTransition',
      `a failover of region ${region} is already running: operation ${other.id} ` +
        `(GET /v1/operations/${other.id})`,
    );
}

/**
 * Region-wide disaster recovery (docs/disaster-recovery.md): every DR tenant homed in a region
 * failed over to its standby, in waves, under one approval.
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
      'promises (they are recovered by restores from backup, not by this operation); `approval` (it ' +
      'waits, `waiting-approval`, for `POST /v1/operations/{id}/approve` by someone other than the ' +
      'requester; a rejection or the timeout changes nothing), the one approval for every tenant; ' +
      "`fail-over` runs each DR tenant's own `failover` operation, pre-approved, in waves of at most " +
      '`waveSize` at once. A tenant whose failover fails does not stop the others: its own operation ' +
      'can be retried from its failed step. `GET /v1/operations/{id}` shows the progress and, at the ' +
      "end, the result: each tenant's failover operation and outcome. A region with no DR partner " +
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
      const region = deps.catalog.regions.find((r) => r.id === params.id);
      if (!region)
        throw new LandlordError(
          'NotFound',
          `unknown region "${params.id}"; known regions: ${deps.catalog.regions.map((r) => r.id).join(', ')}`,
        );
      if (!region.drPartner)
        throw new LandlordError(
          'InvalidTransition',
          `region ${region.id} has no DR partner, so no tenant homed there has a standby to fail over ` +
            'to: its tenants are recovered by restores from their latest backups ' +
            '(POST /v1/tenants/{id}/restore)',
        );
      await refuseWhileRunning(deps, region.id);
      const operation = regionFailoverOperation({
        id: `rfo-${randomBytes(8).toString('hex')}`,
        region: region.id,
        ...(body.reason ? { reason: body.reason } : {}),
        waveSize: body.waveSize,
        actor,
        at: new Date().toISOString(),
      });
      await deps.store.operations.upsert(operation);
      try {
        await deps.lifecycle.startRegionFailover(operation);
      } catch (err) {
        // Not left running with no workflow behind it: asking again starts a new one.
        const at = new Date().toISOString();
        await deps.store.operations
          .upsert({
            ...operation,
            status: 'failed',
            error: { type: 'ServiceUnavailable', message: 'the region failover could not be started' },
            updatedAt: at,
            finishedAt: at,
            version: operation.version + 1,
          })
          .catch(() => undefined);
        throw err;
      }
      await deps.store.audit.append({
        eventKey: `api:${actor.requestId}:region.failover`,
        operationId: operation.id,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: 'region.failover',
        outcome: 'accepted',
        detail: { region: region.id, waveSize: body.waveSize },
      });
      return acceptedOperation(operation);
    },
  }),
];
