import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { OperationSnapshot } from '../domain/index.js';
import type { RegionFailoverActivities, RegionFailoverPart } from '../activities/region-failover/index.js';
import { policy, registry } from './activities.js';
import { errorInfoOf, OperationTracker } from './operation-tracker.js';

const planning = proxyActivities<RegionFailoverActivities>({
  startToCloseTimeout: '5m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** Each tenant's failover is asked for once and waited for, as long as it takes (heartbeating). */
const tenants = proxyActivities<RegionFailoverActivities>({
  startToCloseTimeout: '24h',
  heartbeatTimeout: '1m',
  retry: {
    initialInterval: '5s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

export interface RegionFailoverInput {
  /** Its record, written by the API before the workflow starts; the workflow's id is its id. */
  operation: OperationSnapshot;
  dataQueue: string;
}

/**
 * Fails over every DR tenant homed in a region (kind `region-failover`, docs/disaster-recovery.md):
 * - `plan`: the DR tenants to fail over, those already failed over, and those without a standby,
 *   with the RTO their tier promises (they are recovered by restores from backup);
 * - `approval`: one approval for the whole runbook, four eyes, the most any of its tiers needs;
 * - `fail-over`: waves of at most `waveSize` tenants, each wave's failovers at once, each a
 *   tenant operation of its own pre-approved by this one; a wave waits for the one before. A
 *   tenant whose failover fails does not stop the others; its own operation is retried from its
 *   failed step (POST /v1/operations/{id}/retry);
 * - `restore-from-backup` (asked for with `includeBackupRestores`): the tenants without DR, each
 *   restored from its latest available backup into the partner region, in waves, pre-approved too.
 * The result lists every tenant's part with its measured RTO and RPO, and the total RTO.
 */
export async function regionFailover(input: RegionFailoverInput): Promise<OperationSnapshot> {
  const op = new OperationTracker(input.operation);
  // A region drill runs the same runbook: every tenant drilled, no approval (nothing changes).
  const drill = input.operation.kind === 'region-drill';
  const partStep = drill ? 'drill' : 'fail-over';
  const { region, waveSize, reason, requestedBy, includeBackupRestores } = input.operation.input as {
    region: string;
    waveSize: number;
    reason?: string;
    requestedBy: string;
    includeBackupRestores?: boolean;
  };
  // Only a failover that asked for them restores the tenants without DR (and only then has the step).
  const restoring = !drill && includeBackupRestores === true && op.has('restore-from-backup');
  let result: Record<string, unknown> = {};
  const finish = async (snapshot: OperationSnapshot) => {
    const final = { ...snapshot, result };
    await CancellationScope.nonCancellable(() => registry.projectOperation(final));
    return final;
  };
  try {
    const plan = await op.run('plan', () => planning.planRegionFailover({ region, everyone: drill }));
    result = {
      plan: {
        failover: plan.failover.map((t) => t.tenantId),
        alreadyFailedOver: plan.alreadyFailedOver,
        ...(plan.drPartner ? { drPartner: plan.drPartner } : {}),
      },
      withoutDr: plan.withoutDr,
    };
    // The approver sees the plan while the approval waits.
    await op.showProgress(partStep, { done: 0, total: plan.failover.length }, result);
    const restores = restoring ? plan.withoutDr : [];
    // Nothing to fail over or restore: nothing to approve.
    if (!drill && !op.kept('approval') && plan.failover.length === 0 && restores.length === 0)
      await op.run('approval', () => Promise.resolve({ nothingToApprove: true }), {
        skipped: () => true,
        quick: true,
      });
    else if (!drill && !op.kept('approval')) {
      const policies = await Promise.all(
        [...new Set([...plan.failover, ...restores].map((t) => t.tier))].map((tier) =>
          policy.approvalPolicy({ tier }),
        ),
      );
      const fallback = await policy.approvalPolicy({ tier: '' });
      await op.awaitApproval('approval', {
        required: Math.max(fallback.required, ...policies.map((p) => p.required)),
        timeoutMs: fallback.timeoutMs,
      });
    }
    const approvedAt = Date.now();
    // Written before any tenant's failover reads it (registry.regionApproval) to take it as its own.
    if (!drill) await op.showProgress(partStep, { done: 0, total: plan.failover.length });
    /** Runs `kind`'s part for each of `group` in waves, showing them on `step` and in `result[key]`. */
    const inWaves = async (
      step: string,
      key: 'parts' | 'restores',
      group: readonly { tenantId: string }[],
      kind: 'failover' | 'drill' | 'restore',
    ): Promise<RegionFailoverPart[]> => {
      const parts: RegionFailoverPart[] = [];
      await op.run(step, async () => {
        for (let i = 0; i < group.length; i += waveSize) {
          const wave = group.slice(i, i + waveSize);
          const settled = await Promise.allSettled(
            wave.map((t) =>
              tenants.failOverTenantOfRegion({
                regionOperationId: input.operation.id,
                tenantId: t.tenantId,
                requestedBy,
                ...(reason ? { reason } : {}),
                ...(kind !== 'failover' ? { kind } : {}),
                ...(kind === 'restore' && plan.drPartner ? { region: plan.drPartner } : {}),
              }),
            ),
          );
          settled.forEach((s, n) =>
            parts.push(
              s.status === 'fulfilled'
                ? s.value
                : { tenantId: wave[n]!.tenantId, status: 'failed', reason: errorInfoOf(s.reason).message },
            ),
          );
          result = {
            ...result,
            ...(key === 'parts' ? { waves: Math.ceil(parts.length / waveSize) } : {}),
            [key]: parts,
          };
          await op.showProgress(
            step,
            {
              done: parts.length,
              total: group.length,
              ...(i + waveSize < group.length ? { current: `wave ${i / waveSize + 2}` } : {}),
            },
            result,
          );
        }
      });
      return parts;
    };
    const parts = await inWaves(partStep, 'parts', plan.failover, drill ? 'drill' : 'failover');
    // The tenants without DR, once the DR tenants are served again: a restore takes longer.
    const restored = restoring ? await inWaves('restore-from-backup', 'restores', restores, 'restore') : [];
    // A tenant whose workflow refused its part (skipped) was not failed over, restored or drilled either.
    const failed = [...parts, ...restored].filter((p) => p.status !== 'succeeded').map((p) => p.tenantId);
    result = {
      ...result,
      waves: Math.ceil(parts.length / waveSize),
      parts,
      ...(restoring ? { restores: restored } : {}),
      failed,
      totalRtoMs: Date.now() - approvedAt,
    };
    if (failed.length > 0)
      return await finish(
        op.finish('failed', {
          type: 'RegionFailoverIncomplete',
          message:
            `${failed.length} of ${parts.length + restored.length} tenants of ${region} were not ` +
            `${drill ? 'drilled' : restoring ? 'failed over or restored' : 'failed over'} ` +
            `(${failed.join(', ')}); retry their own operations, listed in the result`,
        }),
      );
    return await finish(op.finish('succeeded'));
  } catch (err) {
    const error = errorInfoOf(err);
    return finish(op.finish(isCancellation(err) ? 'cancelled' : 'failed', error));
  }
}
