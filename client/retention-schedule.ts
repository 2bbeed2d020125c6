/**
 * The Temporal Schedule `landlord-retention` (docs/retention.md): created or brought up to date by
 * the lifecycle worker at start from config/retention.json, read and steered by the API.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import { LandlordError, RETENTION_SCHEDULE_ID } from '../domain/index.js';
import type { RetentionPolicyFile } from '../domain/index.js';
import type { RetentionScheduleView } from './lifecycle.js';
import { ensureSchedule, everySpec } from './schedules.js';

/** Workflow id prefix of the runs the Schedule starts (Temporal appends the scheduled time). */
export const SCHEDULED_RUN_PREFIX = 'landlord-retention-run';

type RetentionSchedule = Pick<RetentionPolicyFile, 'schedule' | 'catchupWindow'>;

function specOf({ schedule }: RetentionSchedule): ScheduleSpec {
  return 'cron' in schedule
    ? { cronExpressions: [schedule.cron], timezone: 'UTC' }
    : everySpec(schedule.every);
}

/**
 * Creates the Schedule, or, when it exists, sets its spec, action and policies to the config's
 * (a pause and its note are kept: an operator's pause survives a worker restart). Idempotent;
 * several workers starting at once are fine.
 */
export async function ensureRetentionSchedule(
  client: Client,
  retention: RetentionSchedule,
  taskQueue: string,
): Promise<'created' | 'updated'> {
  const spec = specOf(retention);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'retentionRun',
    workflowId: SCHEDULED_RUN_PREFIX,
    taskQueue,
    args: [{}],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: retention.catchupWindow };
  const memo = { retention: retention.schedule };
  return ensureSchedule(client, { scheduleId: RETENTION_SCHEDULE_ID, spec, action, policies, memo });
}

export async function describeRetentionSchedule(client: Client): Promise<RetentionScheduleView | undefined> {
  try {
    const d = await client.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
    const configured = (d.memo?.retention ?? {}) as { cron?: string; every?: string };
    return {
      id: d.scheduleId,
      paused: d.state.paused,
      ...(d.state.note ? { note: d.state.note } : {}),
      spec: configured,
      overlap: String(d.policies.overlap),
      catchupWindow: `${Math.round(d.policies.catchupWindow / 1000)}s`,
      nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
      recentActions: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        runId: a.action.workflow.workflowId,
      })),
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

export async function changeRetentionSchedule(
  client: Client,
  change: 'pause' | 'unpause' | 'trigger',
  note: string,
): Promise<void> {
  const handle = client.schedule.getHandle(RETENTION_SCHEDULE_ID);
  try {
    if (change === 'pause') await handle.pause(note);
    else if (change === 'unpause') await handle.unpause(note);
    // Overlap policy skip: a firing while a run is under way is skipped, as a scheduled one would be.
    else await handle.trigger(ScheduleOverlapPolicy.SKIP);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new LandlordError(
        'NotFound',
        `the schedule ${RETENTION_SCHEDULE_ID} does not exist yet; the lifecycle worker creates it when it starts`,
      );
    throw err;
  }
}
