import { activeRegionOf } from '../domain/served.js';
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord } from '../domain/index.js';
import { databases, databaseCompensation, registry } from './activities.js';
import { errorInfoOf, OperationTracker, handBack } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface ChangeAccessInput {
  operation: OperationSnapshot & { kind: 'suspend' | 'resume' };
  tenant: TenantRecord;
  tenantVersion: number;
}

/**
 * Suspends or resumes a tenant: turns its database role's login off or on (its pool role, or its
 * silo's login role), then records the new status. If recording fails, the role is put back as it was.
 */
export async function changeTenantAccess(input: ChangeAccessInput): Promise<OperationOutcome> {
  const suspend = input.operation.kind === 'suspend';
  const op = new OperationTracker(input.operation);
  // The served store's role: after a failover the home one stays fenced whatever the status.
  const where = { tenantId: input.tenant.id, region: activeRegionOf(input.tenant) };
  // A pool tenant's role is in its region's pool database; a silo tenant's is its stack's login role.
  const setLogin = input.tenant.deploymentModel === 'silo' ? 'setSiloLogin' : 'setTenantLogin';
  try {
    await op.run(suspend ? 'disable-role' : 'enable-role', (stepRef) =>
      databases[setLogin]({ stepRef, ...where, enabled: !suspend }),
    );
    const tenant: TenantRecord = {
      ...input.tenant,
      status: suspend ? 'suspended' : 'active',
      updatedAt: new Date().toISOString(),
      version: input.tenantVersion + 1,
    };
    delete tenant.statusReason;
    await op.run('record-status', () => registry.projectTenant(tenant), { quick: true });
    return op.succeeded({ snapshot: op.finish('succeeded'), tenant });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () => {
      // Put the role back even if the step reported failure: it may have taken effect regardless.
      if (error.type !== 'TenantNotFound') {
        await databaseCompensation[setLogin]({ ...where, enabled: suspend });
        op.compensated(suspend ? 'disable-role' : 'enable-role');
      }
      return op.finish(isCancellation(err) ? 'cancelled' : 'failed', error);
    });
    return handBack({ snapshot, tenant: input.tenant });
  }
}
