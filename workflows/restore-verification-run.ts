import {
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import {
  DEFAULT_VERIFICATION_SHARE,
  NO_BACKUP_TO_VERIFY,
  VERIFICATION_SCHEDULE_PRINCIPAL,
} from '../domain/dr-verification.js';
import type { VerificationResult, VerificationRunRequest } from '../domain/dr-verification.js';
import type { RestoreVerificationActivities } from '../activities/restore-verification/index.js';
import { dataOn, notifications } from './activities.js';
import { errorInfoOf } from './operation-tracker.js';

/** The run's bookkeeping: short registry work. */
const runs = proxyActivities<RestoreVerificationActivities>({
  startToCloseTimeout: '5m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** Restores at once: each holds a scratch database on a region server and reads a whole backup. */
const CONCURRENCY = 2;
/** Tenants verified in one run of the workflow before it continues as new, keeping its history bounded. */
const TENANTS_PER_HISTORY = 200;
/**
 * Scratch databases older than this are a crashed verification's: a live one is younger than its
 * activity's start-to-close bound (dataOn: 2h), with room to spare.
 */
const STALE_SCRATCH_MS = 6 * 3_600_000;

export interface RestoreVerificationRunInput {
  /** Absent when the Schedule starts the run: it then samples the fleet with `share`. */
  request?: VerificationRunRequest;
  /** The Schedule's share (LANDLORD_DR_VERIFY_SHARE); absent: the default. */
  share?: number;
  /** The data workers' task queue, where backups are restored. */
  dataQueue: string;
  /** Carried across continue-as-new: the sample's tenants not yet verified. */
  state?: { remaining: string[] };
}

/**
 * One restore verification run (docs/disaster-recovery.md): the sample drawn (every tenant on a
 * DR tier, each other active or suspended tenant with probability `share`, or exactly the tenants
 * named), then each tenant's latest backup restored into a scratch database on the data queue and
 * compared with the catalog, two at a time (a backup that expired meanwhile gives way to the
 * tenant's newer one). Each result is recorded with the run; each failure is a
 * `dr.verification.failed` webhook. A backup found damaged is a failed result, not a failed run:
 * the run fails only when it cannot go on. Every couple of hundred tenants it continues as new.
 * First, the scratch databases crashed verifications left on the region servers are dropped.
 */
export async function restoreVerificationRun(input: RestoreVerificationRunInput): Promise<void> {
  const request: VerificationRunRequest = input.request ?? {
    id: workflowInfo().workflowId,
    trigger: 'schedule',
    requestedBy: VERIFICATION_SCHEDULE_PRINCIPAL,
    share: input.share ?? DEFAULT_VERIFICATION_SHARE,
  };
  const data = dataOn(input.dataQueue);

  /** Verifies one tenant's latest backup and records the result; a failure is told to the webhooks. */
  async function verify(tenantId: string): Promise<void> {
    const startedAt = new Date().toISOString();
    let { backupId } = await runs.latestBackupToVerify({ tenantId });
    let result: VerificationResult;
    if (!backupId)
      result = {
        runId: request.id,
        tenantId,
        ok: false,
        problems: [NO_BACKUP_TO_VERIFY],
        startedAt,
        finishedAt: startedAt,
      };
    else
      try {
        let found = await data.verifyBackupRestore({ tenantId, backupId });
        // Its file gone because a backup taken meanwhile expired it: the newer one is verified instead.
        if (!found.ok && patched('verify-after-expiry')) {
          const recheck = await runs.expiredWhileVerified({ tenantId, backupId });
          if (recheck.expired && recheck.latestBackupId && recheck.latestBackupId !== backupId) {
            backupId = recheck.latestBackupId;
            found = await data.verifyBackupRestore({ tenantId, backupId });
          }
        }
        result = {
          runId: request.id,
          tenantId,
          backupId,
          ok: found.ok,
          problems: found.problems,
          ...(found.restoreMs > 0 ? { restoreMs: found.restoreMs } : {}),
          tables: found.tables,
          startedAt: found.startedAt,
          finishedAt: found.finishedAt,
        };
      } catch (err) {
        if (isCancellation(err)) throw err;
        // Retries spent (a region server or the data workers down): this backup is not shown to restore.
        const { type, message } = errorInfoOf(err);
        result = {
          runId: request.id,
          tenantId,
          backupId,
          ok: false,
          problems: [`the verification could not run: ${type}: ${message}`],
          startedAt,
          finishedAt: new Date().toISOString(),
        };
      }
    await runs.recordVerificationResult(result);
    if (!result.ok)
      await notifications
        .deliverNotification({
          deliveryId: `dr.verification.failed:${request.id}:${tenantId}`,
          event: 'dr.verification.failed',
          tenantId,
          operationId: request.id,
          occurredAt: result.finishedAt,
          data: {
            runId: request.id,
            ...(result.backupId ? { backupId: result.backupId } : {}),
            problems: result.problems,
          },
        })
        // A receiver down for an hour loses the event; the result and the failing gauge keep it.
        .catch(() => undefined);
  }

  let remaining: string[] = [];
  try {
    const sample = input.state?.remaining ?? (await runs.sampleRestoreVerification(request)).tenantIds;
    // Once per run, before anything is restored: what crashed verifications left on the servers.
    if (!input.state && patched('sweep-scratch-databases'))
      await data.sweepScratchDatabasesEverywhere({ olderThanMs: STALE_SCRATCH_MS }).catch((err: unknown) => {
        // A sweep that cannot run stops no verification: the next run sweeps.
        if (isCancellation(err)) throw err;
      });
    const window = new Set<Promise<void>>();
    let next = 0;
    for (; next < sample.length; next++) {
      if (next >= TENANTS_PER_HISTORY || workflowInfo().continueAsNewSuggested) break;
      while (window.size >= CONCURRENCY) await Promise.race(window);
      const one: Promise<void> = verify(sample[next]!).finally(() => window.delete(one));
      window.add(one);
    }
    await Promise.all(window);
    remaining = sample.slice(next);
    if (remaining.length === 0)
      await runs.finishRestoreVerification({ runId: request.id, status: 'succeeded' });
  } catch (err) {
    await CancellationScope.nonCancellable(() =>
      runs.finishRestoreVerification({ runId: request.id, status: 'failed', error: errorInfoOf(err) }),
    );
    throw err;
  }
  if (remaining.length > 0)
    await continueAsNew<typeof restoreVerificationRun>({
      request,
      dataQueue: input.dataQueue,
      state: { remaining },
    });
}
