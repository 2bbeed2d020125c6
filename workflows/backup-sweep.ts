import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { BackupSweepActivities } from '../activities/backups/sweep.js';
import { dataOn } from './activities.js';

const sweep = proxyActivities<BackupSweepActivities>({
  startToCloseTimeout: '5m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** Pages gone over in one run of the workflow before it continues as new, keeping its history small. */
const PAGES_PER_HISTORY = 100;

export interface BackupSweepInput {
  /** How often the Schedule starts a sweep, in milliseconds: backups are asked for a sweep early. */
  sweepMs: number;
  /** The data workers' queue: DR standbys' replication is measured there after the backups are asked for. */
  dataQueue?: string;
  /** Carried across continue-as-new. */
  state?: { sweepId: string; at: string; after: string; requested: number; skipped: number };
}

/** What a sweep asked for. */
export interface BackupSweepResult {
  requested: number;
  skipped: number;
  /** DR tenants whose replication was measured, and of them the ones not streaming. */
  replication?: { measured: number; notStreaming: number };
}

/**
 * One backup sweep (the Schedule `landlord-backups`, docs/disaster-recovery.md): over every tenant,
 * page by page, the ones due for a backup on their tier's cadence are each asked for a `backup`
 * operation, which their own workflow runs in its turn. The sweep does not wait for them. Then
 * every DR standby's replication is measured (a heartbeat, and the time until the standby holds it).
 */
export async function backupSweep(input: BackupSweepInput): Promise<BackupSweepResult> {
  const sweepId = input.state?.sweepId ?? workflowInfo().workflowId;
  const at = input.state?.at ?? new Date().toISOString();
  let { requested = 0, skipped = 0 } = input.state ?? {};
  let after = input.state?.after;
  for (let pages = 0; ; pages++) {
    const page = await sweep.dueForBackupPage({ at, sweepMs: input.sweepMs, ...(after ? { after } : {}) });
    if (page.tenantIds.length > 0) {
      const asked = await sweep.requestBackups({ sweepId, tenantIds: page.tenantIds });
      requested += asked.requested;
      skipped += asked.skipped;
    }
    after = page.next;
    if (!after) {
      if (!input.dataQueue) return { requested, skipped };
      // Best effort: a measurement that fails leaves the last one standing, and never the backups.
      const replication = await dataOn(input.dataQueue)
        .measureReplications({})
        .catch(() => undefined);
      return { requested, skipped, ...(replication ? { replication } : {}) };
    }
    if (pages + 1 >= PAGES_PER_HISTORY || workflowInfo().continueAsNewSuggested)
      return continueAsNew<typeof backupSweep>({
        sweepMs: input.sweepMs,
        ...(input.dataQueue ? { dataQueue: input.dataQueue } : {}),
        state: { sweepId, at, after, requested, skipped },
      });
  }
}
