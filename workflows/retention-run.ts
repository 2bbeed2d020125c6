import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { RETENTION_SCHEDULE_PRINCIPAL } from '../domain/retention-run.js';
import type { RetentionRunRequest } from '../domain/retention-run.js';
import type { RetentionRunActivities } from '../activities/retention-runs/index.js';
import { errorInfoOf } from './operation-tracker.js';

/** The run's bookkeeping: short registry work. */
const runs = proxyActivities<RetentionRunActivities>({
  startToCloseTimeout: '5m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** A tenant's part: it waits for the tenant's operation, which may queue behind a tier move. */
const parts = proxyActivities<RetentionRunActivities>({
  startToCloseTimeout: '24h',
  heartbeatTimeout: '2m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** Parts started in one run of the workflow before it continues as new, keeping its history bounded. */
const PARTS_PER_HISTORY = 500;

export interface RetentionRunInput {
  /** Absent when the Schedule starts the run: it is then a real run over every tenant. */
  request?: RetentionRunRequest;
  /** Carried across continue-as-new. */
  state?: { after?: string; concurrency: number };
}

/**
 * One retention run (docs/retention.md): over the tenants it names, or every active and suspended
 * one, page by page, with at most `concurrency` tenants' parts running at once (a sliding window);
 * each part is an `apply-retention` operation of the tenant's workflow. Every few hundred parts it
 * continues as new, so a run over 10,000 tenants keeps a small history. What the parts found is
 * recorded with the run in the registry, not in the workflow.
 */
export async function retentionRun(input: RetentionRunInput = {}): Promise<void> {
  const request: RetentionRunRequest = input.request ?? {
    id: workflowInfo().workflowId,
    trigger: 'schedule',
    requestedBy: RETENTION_SCHEDULE_PRINCIPAL,
    dryRun: false,
    force: false,
  };
  let carried: RetentionRunInput['state'];
  try {
    const concurrency = input.state?.concurrency ?? (await runs.startRetentionRun(request)).concurrency;
    let after = input.state?.after;
    let started = 0;
    const window = new Set<Promise<void>>();
    for (;;) {
      const page = await runs.retentionTenantsPage({ request, ...(after ? { after } : {}) });
      for (const tenantId of page.tenantIds) {
        while (window.size >= concurrency) await Promise.race(window);
        const part: Promise<void> = parts
          .applyRetentionToTenant({ request, tenantId })
          .then(
            () => undefined,
            (err: unknown) =>
              runs.recordFailedPart({ runId: request.id, tenantId, reason: errorInfoOf(err).message }),
          )
          .finally(() => window.delete(part));
        window.add(part);
        started += 1;
      }
      after = page.next;
      if (!after) break;
      if (started >= PARTS_PER_HISTORY || workflowInfo().continueAsNewSuggested) {
        carried = { after, concurrency };
        break;
      }
    }
    await Promise.all(window);
    if (!carried) await runs.finishRetentionRun({ runId: request.id, status: 'succeeded' });
  } catch (err) {
    await runs.finishRetentionRun({ runId: request.id, status: 'failed', error: errorInfoOf(err) });
    throw err;
  }
  if (carried) await continueAsNew<typeof retentionRun>({ request, state: carried });
}
