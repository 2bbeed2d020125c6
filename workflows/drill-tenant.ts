import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord } from '../domain/index.js';
import { dataCleanup, dataOn, policy } from './activities.js';
import { errorInfoOf, handBack, OperationTracker } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface DrillTenantInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  dataQueue: string;
}

/**
 * A DR drill of one tenant (kind `drill`, docs/disaster-recovery.md): its latest available backup
 * restored into a drill copy on the DR partner region's server — a closed scratch database named
 * for the drill, which no tenant role can reach — and verified as a restore verification does
 * (rows and SHA-256 per table against the catalog). Measured: RTO, from the drill's start to the
 * copy verified ready; RPO, the age of the newest data the copy holds (the backup's snapshot) when
 * the drill began. The tenant's own databases and stacks are only read from the catalog, never
 * touched. `destroy-copy` drops every copy the drill made, on every server, whatever happened
 * before (failure, cancel); a worker killed mid-copy leaves one that this step, or the restore
 * verification's sweep of old scratch databases, drops.
 */
export async function drillTenant(input: DrillTenantInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const data = dataOn(input.dataQueue);
  const cleanup = dataCleanup(input.dataQueue);
  const { id: tenantId, tier } = input.tenant;
  const startedAt = Date.now();
  let result: Record<string, unknown> | undefined;
  let failure: unknown;
  // The copy is made where the tenant would be recovered: its home region's DR partner.
  const drillRegion = await policy.recoveryRegion({ region: input.tenant.region });
  try {
    const backup = await op.run('pick-backup', () => data.latestDrillBackup({ tenantId }), { quick: true });
    const verified = await op.run('restore-copy', (stepRef) =>
      data.verifyBackupRestore({
        stepRef,
        tenantId,
        backupId: backup.id,
        region: drillRegion,
        drillOperationId: input.operation.id,
      }),
    );
    const readyAt = Date.now();
    if (!verified.ok)
      throw ApplicationFailure.nonRetryable(
        `the drill copy did not verify: ${verified.problems.join('; ')}`,
        'DataVerificationFailed',
      );
    const targets = await policy.recoveryTargets({ tier });
    const rtoMs = readyAt - startedAt;
    const rpoMs = Math.max(0, startedAt - Date.parse(backup.takenAt));
    result = {
      region: drillRegion,
      backupId: backup.id,
      copyRestoreMs: verified.restoreMs,
      tables: verified.tables.map((t) => ({ name: t.name, rows: t.rows })),
      measured: {
        rtoMs,
        rpoMs,
        rtoTargetMs: targets.rtoMs,
        rpoTargetMs: targets.rpoMs,
        rtoMet: rtoMs <= targets.rtoMs,
        rpoMet: rpoMs <= targets.rpoMs,
      },
    };
  } catch (err) {
    failure = err;
  }
  // Whatever happened, and even when cancelled: no copy outlives the drill.
  const dropped = await CancellationScope.nonCancellable(async () => {
    try {
      return await op.run('destroy-copy', () =>
        cleanup.dropDrillCopies({ operationId: input.operation.id, region: drillRegion }),
      );
    } catch (err) {
      failure ??= err;
      return undefined;
    }
  });
  if (failure === undefined && result) {
    return op.succeeded({
      snapshot: {
        ...op.finish('succeeded'),
        result: { ...result, copiesDropped: dropped?.dropped.length ?? 0 },
      },
    });
  }
  const error = errorInfoOf(failure);
  const snapshot = op.finish(isCancellation(failure) ? 'cancelled' : 'failed', error);
  return handBack({ snapshot });
}
