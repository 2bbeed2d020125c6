import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord, TenantSpec } from '../domain/index.js';
import { notifications, policy, pool, poolCompensation, registry } from './activities.js';
import { errorInfoOf, OperationTracker, operationFailure } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface OnboardInput {
  operation: OperationSnapshot;
  spec: TenantSpec;
  /** Tenant projection writes of this run use versions above this. */
  tenantVersion: number;
  /** When the tenant was first requested (kept across retries). */
  createdAt: string;
}

/**
 * Onboards a pool-tier tenant as a saga: validate → record → partition → admin user → notify →
 * active. On failure or cancellation the completed steps are undone in reverse and the tenant is
 * left `failed` with the reason on the operation.
 */
export async function onboardPoolTenant(input: OnboardInput): Promise<OperationOutcome> {
  const { spec } = input;
  const op = new OperationTracker(input.operation);
  let tenantVersion = input.tenantVersion;
  let tenant: TenantRecord | undefined;
  const project = async (patch: Partial<TenantRecord>) => {
    tenant = { ...tenant!, ...patch, updatedAt: new Date().toISOString(), version: ++tenantVersion };
    if (!patch.statusReason) delete tenant.statusReason;
    await registry.projectTenant(tenant);
  };
  const compensations: { step: string; undo: () => Promise<void> }[] = [];
  const where = { tenantId: spec.id, region: spec.region };

  try {
    const placement = await op.run('validate', (stepRef) => policy.validatePlacement({ stepRef, spec }));
    await op.run('record-tenant', async () => {
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
    });
    // Each compensation is registered before its step runs: a step can take effect and still fail
    // (a lost reply, a timeout), and the undo activities are idempotent.
    compensations.push({ step: 'create-partition', undo: () => poolCompensation.dropPartition(where) });
    const partition = await op.run('create-partition', (stepRef) =>
      pool.createPartition({ stepRef, ...where }),
    );
    compensations.push({
      step: 'create-admin-user',
      undo: () => poolCompensation.deleteAdminUser({ ...where, email: spec.adminEmail }),
    });
    const admin = await op.run('create-admin-user', (stepRef) =>
      pool.createAdminUser({ stepRef, ...where, email: spec.adminEmail }),
    );
    // Recorded with the next tenant write (active, or failed).
    tenant!.resources = {
      pool: {
        region: placement.region,
        database: partition.database,
        role: partition.roleName,
        adminUserId: admin.userId,
      },
    };

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
    await notify('notify-invite', 'tenant.invite', {
      email: spec.adminEmail,
      tenantName: spec.name,
      userId: admin.userId,
    });
    await notify('notify-ready', 'tenant.ready', {
      tenantName: spec.name,
      tier: spec.tier,
      region: placement.region,
    });
    await op.run('activate', () => project({ status: 'active' }));
    return { snapshot: op.finish('succeeded'), ...(tenant ? { tenant } : {}) };
  } catch (err) {
    const error = errorInfoOf(err);
    const outcome = await CancellationScope.nonCancellable(async () => {
      for (const { step, undo } of compensations.reverse()) {
        await undo();
        op.compensated(step);
      }
      if (tenant) await project({ status: 'failed', statusReason: error.message });
      const snapshot = op.finish(isCancellation(err) ? 'cancelled' : 'failed', error);
      return { snapshot, ...(tenant ? { tenant } : {}) };
    });
    throw operationFailure(outcome);
  }
}
