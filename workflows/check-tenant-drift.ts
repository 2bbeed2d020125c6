import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { DriftedResource, OperationSnapshot, TenantRecord, TenantSpec } from '../domain/index.js';
import { policy, registry } from './activities.js';
import { provisioningOn } from './silo-stacks.js';
import { errorInfoOf, OperationTracker, handBack } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface DriftCheckInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  spec: TenantSpec;
  tenantVersion: number;
  provisioningQueue: string;
}

/**
 * Checks a silo tenant's stacks for drift: a refresh preview of each (nothing is changed), then the
 * drifted resources recorded on the tenant and as the operation's result.
 */
export async function checkTenantDrift(input: DriftCheckInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const provisioning = provisioningOn(input.provisioningQueue);
  try {
    const drift = await op.run('check-drift', async (stepRef) => {
      const { silo } = await policy.validatePlacement({ spec: input.spec });
      const specs = silo ? [silo.standby, silo.primary].filter((s) => s !== undefined) : [];
      const found: DriftedResource[] = [];
      for (const spec of specs) found.push(...(await provisioning.checkSiloDrift({ stepRef, spec })));
      return found;
    });
    const tenant: TenantRecord = {
      ...input.tenant,
      drift: { checkedAt: new Date().toISOString(), operationId: input.operation.id, resources: drift },
      updatedAt: new Date().toISOString(),
      version: input.tenantVersion + 1,
    };
    await op.run('record-drift', () => registry.projectTenant(tenant), { quick: true });
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result: { drift } }, tenant });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () =>
      op.finish(isCancellation(err) ? 'cancelled' : 'failed', error),
    );
    return handBack({ snapshot, tenant: input.tenant });
  }
}
