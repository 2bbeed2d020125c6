/**
 * The Temporal Schedule `landlord-restore-verification` (docs/disaster-recovery.md): created or
 * brought up to date by the lifecycle worker at start; each firing starts a restore verification
 * run over a sample of the fleet.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { VERIFICATION_SCHEDULE_ID } from '../domain/index.js';
import type { TaskQueues } from '../config/index.js';
import type { restoreVerificationRun } from '../workflows/restore-verification-run.js';
import { ensureSchedule, everySpec } from './schedules.js';

/** Workflow id prefix of the runs the Schedule starts (Temporal appends the scheduled time). */
export const SCHEDULED_VERIFICATION_PREFIX = 'landlord-restore-verification-run';

/**
 * Creates the Schedule (a run every `every`, e.g. `24h`, sampling `share` of the tenants on tiers
 * without DR), or sets its spec and action to these; a pause is kept.
 */
export async function ensureVerificationSchedule(
  client: Client,
  { every, share }: { every: string; share: number },
  taskQueues: Pick<TaskQueues, 'lifecycle' | 'data'>,
): Promise<'created' | 'updated'> {
  const args: Parameters<typeof restoreVerificationRun> = [{ share, dataQueue: taskQueues.data }];
  return ensureSchedule(client, {
    scheduleId: VERIFICATION_SCHEDULE_ID,
    spec: everySpec(every),
    action: {
      type: 'startWorkflow',
      workflowType: 'restoreVerificationRun',
      workflowId: SCHEDULED_VERIFICATION_PREFIX,
      taskQueue: taskQueues.lifecycle,
      args,
    },
    // A run still restoring when the next is due makes that one skip; one missed while Temporal
    // was down is made up within the hour, else the next firing samples afresh.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
    memo: { every, share },
  });
}
