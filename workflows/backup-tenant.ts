import { servedPlacement } from '../domain/served.js';
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord } from '../domain/index.js';
import { dataOn, policy } from './activities.js';
import { errorInfoOf, handBack, OperationTracker } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface BackupTenantInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  dataQueue: string;
}

/**
 * Takes a tenant's backup (kind `backup`, docs/disaster-recovery.md): its rows read in one
 * snapshot on the data queue, sealed with its data key, stored and recorded in the catalog; then
 * its backups past the tier's retention expired (each with a ledger record) unless a legal hold
 * of the tenant is in force. The tenant workflow runs it in the tenant's turn, so a backup never
 * overlaps a tier move, a restore or an offboarding of the same tenant. Both steps are safe to run
 * again: the backup's id comes from the operation and its run.
 */
export async function backupTenant(input: BackupTenantInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const data = dataOn(input.dataQueue);
  // After a failover the tenant's rows are in its DR region: the served store is backed up.
  const { id, tier, region, deploymentModel } = servedPlacement(input.tenant);
  try {
    const { retentionDays } = await policy.backupPolicy({ tier });
    const backup = await op.run('snapshot', (stepRef) =>
      data.takeTenantBackup({
        stepRef,
        operationId: input.operation.id,
        run: input.operation.run,
        tenant: { id, tier, region, deploymentModel },
        retentionDays,
      }),
    );
    const expiry = await op.run('expire-backups', (stepRef) =>
      data.expireTenantBackups({ stepRef, tenantId: id }),
    );
    const result = {
      backupId: backup.id,
      takenAt: backup.takenAt,
      bytes: backup.bytes,
      rows: backup.tables.reduce((n, t) => n + t.rows, 0),
      expiresAt: backup.expiresAt,
      expired: expiry.expired,
      ...(expiry.keptByHolds.length > 0 ? { expiryHeldBy: expiry.keptByHolds } : {}),
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
