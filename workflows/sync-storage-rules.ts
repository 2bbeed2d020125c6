import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { OperationSnapshot, StorageRetention, TenantRecord, TenantSpec } from '../domain/index.js';
import { policy, registry } from './activities.js';
import { applySiloStacks } from './silo-stacks.js';
import { errorInfoOf, handBack, OperationTracker } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface SyncStorageRulesInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  spec: TenantSpec;
  provisioningQueue: string;
}

/**
 * Brings a cloud silo's bucket lifecycle rules in line with the tenant's retention and its legal
 * holds (kind `sync-storage-rules`, asked for when a hold is placed or released or the tenant's
 * retention changes): the holds in force are read, then the tenant's stacks are applied with them,
 * so a held prefix's native expiry is switched off. What the buckets now carry is the result.
 */
export async function syncStorageRules(input: SyncStorageRulesInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  try {
    const holds = await op.run('read-holds', () => registry.activeLegalHolds(input.tenant.id), {
      quick: true,
    });
    const rules = await op.run('apply-storage-rules', async (stepRef) => {
      const { silo } = await policy.validatePlacement({
        // Names a cloud never lets be reused (a final snapshot's) are this run's own.
        stepRef,
        spec: input.spec,
        holds,
        ...(input.tenant.retention ? { retention: input.tenant.retention } : {}),
      });
      if (!silo) return [];
      await applySiloStacks(input.provisioningQueue, stepRef, silo);
      return silo.primary.storageRetention ?? [];
    });
    const result: { holds: number; storageRetention: StorageRetention[] } = {
      holds: holds.length,
      storageRetention: rules,
    };
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result } });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () =>
      op.finish(isCancellation(err) ? 'cancelled' : 'failed', error),
    );
    return handBack({ snapshot });
  }
}
