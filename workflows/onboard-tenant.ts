import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord, TenantSpec } from '../domain/index.js';
import {
  dataOn,
  notifications,
  policy,
  databases,
  databaseCompensation,
  keys,
  registry,
} from './activities.js';
import { errorInfoOf, OperationTracker, handBack, withLeftovers } from './operation-tracker.js';
import type { Compensation, OperationOutcome } from './operation-tracker.js';
import { provisionSiloStacks } from './silo-stacks.js';

export interface OnboardInput {
  operation: OperationSnapshot;
  spec: TenantSpec;
  /** Tenant projection writes of this run use versions above this. */
  tenantVersion: number;
  /** When the tenant was first requested (kept across retries). */
  createdAt: string;
  /** Task queue of the provisioning workers (Pulumi). */
  provisioningQueue: string;
  /** Task queue of the data workers: a DR standby's replication starts there. Absent in older runs. */
  dataQueue?: string;
}

/**
 * Onboards a tenant as a saga: validate → record → data plane → admin user → notify → active.
 * The data plane is a partition of the region's pool database for pool tiers, and for silo tiers
 * the tenant's own Pulumi stacks (the DR partner's standby first, then the primary). On failure or
 * cancellation the completed steps are undone in reverse (stacks destroyed, unless the request
 * asked to retain them) and the tenant is left `failed` with the reason on the operation.
 */
export async function onboardTenant(input: OnboardInput): Promise<OperationOutcome> {
  const { spec } = input;
  const op = new OperationTracker(input.operation);
  let tenantVersion = input.tenantVersion;
  let tenant: TenantRecord | undefined;
  const project = async (patch: Partial<TenantRecord>) => {
    tenant = { ...tenant!, ...patch, updatedAt: new Date().toISOString(), version: ++tenantVersion };
    if (!patch.statusReason) delete tenant.statusReason;
    await registry.projectTenant(tenant);
  };
  // Each compensation is registered before its step runs: a step can take effect and still fail
  // (a lost reply, a timeout), and the undo activities are idempotent.
  const compensations: Compensation[] = [];
  const where = { tenantId: spec.id, region: spec.region };

  try {
    const placement = await op.run('validate', (stepRef) => policy.validatePlacement({ stepRef, spec }), {
      quick: true,
    });
    await op.run(
      'record-tenant',
      async () => {
        tenant = {
          id: spec.id,
          name: spec.name,
          tier: spec.tier,
          region: placement.region,
          ...(placement.drRegion ? { drRegion: placement.drRegion } : {}),
          residency: placement.residency,
          deploymentModel: placement.deploymentModel,
          status: 'provisioning',
          adminEmail: spec.adminEmail,
          features: spec.features,
          labels: spec.labels,
          resources: {},
          createdAt: input.createdAt,
          updatedAt: input.createdAt,
          version: tenantVersion,
        };
        await project({ status: 'provisioning' });
        // The tenant's data key, from its first day: exports and backups are sealed with it.
        // Tenants onboarded before it get theirs on first use (TenantKeyring.ensure).
        if (patched('tenant-data-key')) await keys.ensureTenantKey({ tenantId: spec.id });
      },
      { quick: true },
    );

    let adminUserId: string;
    if (!placement.silo) {
      compensations.push({ step: 'create-partition', undo: () => databaseCompensation.dropPartition(where) });
      const partition = await op.run('create-partition', (stepRef) =>
        databases.createPartition({ stepRef, ...where, connectionLimit: placement.connectionLimit }),
      );
      compensations.push({
        step: 'create-admin-user',
        undo: () => databaseCompensation.deleteAdminUser({ ...where, email: spec.adminEmail }),
      });
      adminUserId = (
        await op.run('create-admin-user', (stepRef) =>
          databases.createAdminUser({ stepRef, ...where, email: spec.adminEmail }),
        )
      ).userId;
      // Recorded with the next tenant write (active, or failed).
      tenant!.resources = {
        pool: {
          region: placement.region,
          database: partition.database,
          role: partition.roleName,
          adminUserId,
        },
      };
    } else {
      const stacks = await provisionSiloStacks(op, input.provisioningQueue, placement.silo, compensations, {
        retain: spec.retainOnFailure === true,
      });
      // The admin user lives in the silo database, which goes with the stack on rollback.
      adminUserId = (
        await op.run('create-admin-user', (stepRef) =>
          databases.createSiloAdminUser({
            stepRef,
            ...where,
            email: spec.adminEmail,
            outputs: stacks[spec.region],
          }),
        )
      ).userId;
      tenant!.resources = { silo: { stacks, adminUserId } };
      // The standby kept current from here on: on a local region by logical replication; a cloud's
      // programs replicate the database themselves (cross-region replicas).
      const standby = placement.silo.standby;
      if (standby && op.has('start-replication') && input.dataQueue) {
        const data = dataOn(input.dataQueue);
        const replicated = {
          id: spec.id,
          region: placement.region,
          drRegion: standby.region.id,
          deploymentModel: 'silo' as const,
        };
        await op.run(
          'start-replication',
          async () => {
            if (standby.region.provider !== 'local' || placement.silo!.primary.region.provider !== 'local')
              return { by: standby.region.provider };
            await data.startTenantReplication({ tenant: replicated });
            return {
              by: 'logical replication',
              ...(await data.awaitReplicationStreaming({ tenant: replicated })),
            };
          },
          { skipped: (r) => r.by !== 'logical replication' },
        );
      }
    }

    const notify = (
      step: 'notify-invite' | 'notify-ready',
      event: 'tenant.invite' | 'tenant.ready',
      data: Record<string, unknown>,
    ) =>
      op.kept(step)
        ? Promise.resolve()
        : op.run(
            step,
            (stepRef) =>
              notifications.deliverNotification({
                stepRef,
                deliveryId: `${input.operation.id}:${event}`,
                event,
                tenantId: spec.id,
                operationId: input.operation.id,
                occurredAt: new Date().toISOString(),
                data,
              }),
            { skipped: (r) => r.delivered === 0 },
          );
    const invite = () =>
      notify('notify-invite', 'tenant.invite', {
        email: spec.adminEmail,
        tenantName: spec.name,
        userId: adminUserId,
      });
    const ready = () =>
      notify('notify-ready', 'tenant.ready', {
        tenantName: spec.name,
        tier: spec.tier,
        region: placement.region,
      });
    if (patched('notifications-in-parallel')) {
      // Independent deliveries: both at once, both settled before a failure is handled, so that
      // no step is left running while the others are undone.
      const delivered = await Promise.allSettled([invite(), ready()]);
      const failed = delivered.find((d) => d.status === 'rejected');
      if (failed) throw failed.reason;
    } else {
      await invite();
      await ready();
    }
    await op.run('activate', () => project({ status: 'active' }), { quick: true });
    return op.succeeded({ snapshot: op.finish('succeeded'), ...(tenant ? { tenant } : {}) });
  } catch (err) {
    const error = errorInfoOf(err);
    const outcome = await CancellationScope.nonCancellable(async () => {
      const left = await op.compensate(compensations);
      if (tenant) await project({ status: 'failed', statusReason: error.message });
      const snapshot = op.finish(isCancellation(err) ? 'cancelled' : 'failed', withLeftovers(error, left));
      return { snapshot, ...(tenant ? { tenant } : {}) };
    });
    return handBack(outcome);
  }
}
