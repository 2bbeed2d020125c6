import { servedPlacement } from '../domain/served.js';
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type {
  OperationSnapshot,
  RetentionRequest,
  RetentionTableReport,
  TenantRecord,
  TenantRetention,
} from '../domain/index.js';
import { dataOn, policy, registry } from './activities.js';
import { errorInfoOf, handBack, OperationTracker } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface ApplyRetentionInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  dataQueue: string;
}

/**
 * A tenant's part of a retention run (kind `apply-retention`): its expired rows deleted in
 * batches on the data queue (or counted, in a dry run), then the batches' evidence forwarded from
 * its database's outbox to the ledger. What it found per table is the operation's result.
 */
export async function applyRetention(input: ApplyRetentionInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const data = dataOn(input.dataQueue);
  const { retention } = input.operation.input as { retention: RetentionRequest };
  const { id, tier, region, deploymentModel } = servedPlacement(input.tenant);
  const tenant = {
    id,
    tier,
    region,
    deploymentModel,
    ...(input.tenant.retention ? { retention: input.tenant.retention } : {}),
  };
  let tables: RetentionTableReport[] = [];
  try {
    tables = await op.run('delete-expired', (stepRef) =>
      data.applyTenantRetention({ stepRef, operationId: input.operation.id, tenant, retention }),
    );
    const forwarded = await op.run('record-evidence', () => data.forwardDeletionEvidence({ tenant }), {
      skipped: (n) => n === 0,
    });
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result: { tables, forwarded } } });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () =>
      op.finish(isCancellation(err) ? 'cancelled' : 'failed', error),
    );
    return handBack({ snapshot });
  }
}

export interface SetRetentionInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  tenantVersion: number;
}

/**
 * A tenant's own retention choices (kind `set-retention`): checked against its tier as it is when
 * the operation's turn comes (a tier move may have run first), then recorded on the tenant.
 */
export async function setRetention(input: SetRetentionInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const { dataClasses } = input.operation.input as { dataClasses: TenantRetention };
  try {
    const effective = await op.run(
      'validate',
      () => policy.checkTenantRetention({ tier: input.tenant.tier, choices: dataClasses }),
      { quick: true },
    );
    const tenant: TenantRecord = {
      ...input.tenant,
      retention: dataClasses,
      updatedAt: new Date().toISOString(),
      version: input.tenantVersion + 1,
    };
    await op.run('record-retention', () => registry.projectTenant(tenant), { quick: true });
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result: { effective } }, tenant });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () =>
      op.finish(isCancellation(err) ? 'cancelled' : 'failed', error),
    );
    return handBack({ snapshot, tenant: input.tenant });
  }
}
