import { activeRegionOf, backupRestoreRefusal, holdActive, LandlordError } from '../../domain/index.js';
import type { TenantBackup, TenantRecord } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteContext, RouteDefinition } from '../route.js';
import {
  BackupList,
  BackupListQuery,
  BackupParams,
  BackupSchema,
  RestoreRequest,
  TenantIdParams,
} from '../schemas.js';
import { existingTenant } from './legal-hold-routes.js';
import { ACCEPTED, acceptedOperation, tenantInPath } from './tenant-routes.js';

/**
 * A tenant's backups (docs/disaster-recovery.md): taken on the tier's cadence by the Schedule
 * `landlord-backups`, or now on request; listed from the registry's catalog.
 */
export const backupRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/backups',
    operationId: 'backupTenant',
    summary: "Take a tenant's backup now",
    description:
      "A tenant operation (kind `backup`), run in the tenant's turn like every other: its rows read " +
      "in one snapshot, sealed with its data key and stored (`snapshot`), then its backups past the tier's " +
      '`backup.retentionDays` deleted with a `backup.expire` ledger record each, unless a legal hold of ' +
      'the tenant is in force (`expire-backups`). The result names the backup. One backup of a tenant ' +
      'is queued at a time: 409 while another is.',
    tag: 'backups',
    permission: 'backupTenant',
    action: 'tenant.backup',
    errors: ['TenantNotFound', 'InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      return acceptedOperation(await deps.lifecycle.requestTenantOperation(tenant.id, 'backup', actor));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/backups',
    operationId: 'listBackups',
    summary: "List a tenant's backups, newest first",
    description:
      "The catalog: each backup's time, size, SHA-256, key id, each table's rows and SHA-256, when it " +
      'expires, and `verifiedAt` once a restore verification found it whole. Expired backups stay ' +
      'listed (`status: expired`) with when their file was deleted.',
    tag: 'backups',
    permission: 'read',
    params: TenantIdParams,
    query: BackupListQuery,
    responses: { 200: { description: "The tenant's backups", schema: BackupList } },
    async handle({ params, query }, { deps }) {
      await existingTenant(deps.store, params.id);
      const all = await deps.store.backups.list(params.id);
      const items = all.filter((b) => !query.status || b.status === query.status).slice(0, query.limit);
      return { status: 200, body: { items } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/backups/{backupId}',
    operationId: 'getBackup',
    summary: 'Show one backup of a tenant',
    tag: 'backups',
    permission: 'read',
    errors: ['NotFound'],
    params: BackupParams,
    responses: { 200: { description: 'The backup', schema: BackupSchema } },
    async handle({ params }, { deps }) {
      await existingTenant(deps.store, params.id);
      const backup = await deps.store.backups.get(params.id, params.backupId);
      if (!backup)
        throw new LandlordError('NotFound', `tenant "${params.id}" has no backup ${params.backupId}`);
      return { status: 200, body: backup };
    },
  }),
];

/** The holds in force that a restore of the tenant would overwrite rows under (all of them do). */
async function holdsInForce(store: RouteContext['deps']['store'], tenantId: string, at: string) {
  return (await store.legalHolds.list(tenantId)).filter((h) => holdActive(h, at));
}

/**
 * The region a restore with `"region"` moves the tenant into, or undefined when that is where it is
 * served from already (an ordinary restore). Only its home region and the home region's DR partner
 * qualify, and only for a tenant without a standby: one with a standby fails over instead.
 */
function relocationTarget(
  deps: RouteContext['deps'],
  tenant: TenantRecord,
  region: string,
): string | undefined {
  const home = deps.catalog.regions.find((r) => r.id === tenant.region);
  const allowed = [tenant.region, ...(home?.drPartner ? [home.drPartner] : [])];
  if (!deps.catalog.regions.some((r) => r.id === region))
    throw new LandlordError(
      'PolicyViolation',
      `unknown region "${region}"; known regions: ${deps.catalog.regions.map((r) => r.id).join(', ')}`,
    );
  if (!allowed.includes(region))
    throw new LandlordError(
      'PolicyViolation',
      `tenant "${tenant.id}" is restored only into its home region ${tenant.region}` +
        (home?.drPartner ? ` or its DR partner ${home.drPartner}` : ', which has no DR partner') +
        `, not into ${region}`,
    );
  if (region === activeRegionOf(tenant)) return undefined;
  if (tenant.drRegion)
    throw new LandlordError(
      'InvalidTransition',
      `tenant "${tenant.id}" has a standby in ${tenant.drRegion}: it moves there by a failover ` +
        `(POST /v1/tenants/${tenant.id}/${region === tenant.region ? 'failback' : 'failover'}), not by a restore`,
    );
  return region;
}

backupRoutes.push(
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/restore',
    operationId: 'restoreTenant',
    summary: 'Restore a tenant from a backup, once another principal approves',
    description:
      'A tenant operation (kind `restore`): `approval` (it waits, `waiting-approval`, for ' +
      '`POST /v1/operations/{id}/approve` by someone other than the requester), `freeze-writes`, ' +
      '`stage-restore` (the backup restored beside the live data, every erasure made since it was ' +
      'taken re-applied, and checked), `switch`, `record-evidence`, `thaw`. The result names the ' +
      "erasures re-applied. Everything written after the backup was taken is replaced by the backup's " +
      'data. `pointInTime` picks the latest available backup taken at or before it. `region` restores ' +
      "into another region than the serving one: the home region's DR partner, which recovers a tenant " +
      'without a standby there (a pool partition or a silo stack built for it, `prepare-region`), or ' +
      'its home region, which brings it back; the serving store is fenced (login off) rather than ' +
      'frozen and stays so, and `switch-routing` gives the tenant its new `activeRegion`. Given alone, ' +
      'it restores the latest available backup. A tenant with a standby is refused (409): it fails ' +
      'over instead (`POST /v1/tenants/{id}/failover`). A restore never ' +
      'overwrites rows under a legal hold: while one of the tenant is in force it is refused (422), ' +
      'naming it.',
    tag: 'backups',
    permission: 'restoreTenant',
    action: 'tenant.restore',
    errors: ['TenantNotFound', 'NotFound', 'InvalidTransition', 'PolicyViolation'],
    idempotent: true,
    params: TenantIdParams,
    body: RestoreRequest,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      if (tenant.status !== 'active' && tenant.status !== 'suspended')
        throw new LandlordError(
          'InvalidTransition',
          `a ${tenant.status} tenant cannot be restored; it must be active or suspended`,
        );
      const now = new Date().toISOString();
      const region = body.region === undefined ? undefined : relocationTarget(deps, tenant, body.region);
      let backup: TenantBackup | undefined;
      if (body.backupId) {
        backup = await deps.store.backups.get(tenant.id, body.backupId);
        if (!backup)
          throw new LandlordError('NotFound', `tenant "${tenant.id}" has no backup ${body.backupId}`);
        if (backup.status === 'expired')
          throw new LandlordError(
            'NotFound',
            `backup ${backup.id} of tenant "${tenant.id}" expired at ${backup.expiredAt}: its file is gone`,
          );
      } else {
        const at = new Date(body.pointInTime ?? now).toISOString();
        backup = await deps.store.backups.latest(tenant.id, at);
        if (!backup) {
          const first = (await deps.store.backups.list(tenant.id))
            .filter((b) => b.status === 'available')
            .at(-1);
          throw new LandlordError(
            'NotFound',
            `tenant "${tenant.id}" has no available backup taken at or before ${at}` +
              (first ? `; its first was taken at ${first.takenAt}` : '; it has none available'),
          );
        }
      }
      // A tier move since (pool into a silo) leaves backups of the other model: they restore elsewhere.
      const holds = await holdsInForce(deps.store, tenant.id, now);
      const refused = backupRestoreRefusal(
        tenant,
        backup,
        holds.map((h) => h.id),
      );
      if (refused) throw new LandlordError('PolicyViolation', refused);
      const op = await deps.lifecycle.restoreTenant(
        tenant.id,
        {
          backupId: backup.id,
          ...(body.pointInTime ? { pointInTime: body.pointInTime } : {}),
          ...(region ? { region } : {}),
        },
        actor,
      );
      return acceptedOperation(op);
    },
  }),
);
