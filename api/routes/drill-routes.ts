import { LandlordError } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { TenantIdParams } from '../schemas.js';
import { servedTenant } from './failover-routes.js';
import { existingTenant } from './legal-hold-routes.js';
import { ACCEPTED, acceptedOperation, tenantInPath } from './tenant-routes.js';

/**
 * DR drills of one tenant (docs/disaster-recovery.md): its recovery rehearsed on a copy, measured
 * against its tier's RTO and RPO, without touching what it serves from. A region's drill is in
 * region-routes.ts.
 */
export const drillRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/drills',
    operationId: 'drillTenant',
    summary:
      "Drill a tenant's recovery: its latest backup restored into a copy, verified, measured and dropped",
    description:
      "A tenant operation (kind `drill`), run in the tenant's turn like every other: `pick-backup` (its " +
      'latest available backup), `restore-copy` (restored into a drill copy, a closed scratch database ' +
      "named for the drill, on the server of its home region's DR partner, or of its home region when " +
      'that has no partner, and verified as a restore verification does: rows and SHA-256 per table ' +
      'against the catalog), `destroy-copy` (every copy the drill made dropped, whatever happened ' +
      'before). Its result holds the RTO measured (from its start to the copy verified ready) and the ' +
      "RPO (the age of the backup's data), against the tier's targets; `GET /v1/tenants/{id}/dr` " +
      'shows them as its last recovery. Production is not touched, so no approval. A tenant not active ' +
      'or suspended, with no available backup, or with a drill queued or running already is refused (409).',
    tag: 'dr',
    permission: 'drillTenant',
    action: 'tenant.drill',
    errors: ['TenantNotFound', 'InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      servedTenant(tenant, 'drilled');
      if (!(await deps.store.backups.latest(tenant.id, new Date().toISOString())))
        throw new LandlordError(
          'InvalidTransition',
          `tenant "${tenant.id}" has no available backup to drill a recovery from; ` +
            `take one first (POST /v1/tenants/${tenant.id}/backups)`,
        );
      return acceptedOperation(await deps.lifecycle.drillTenant(tenant.id, actor));
    },
  }),
];
