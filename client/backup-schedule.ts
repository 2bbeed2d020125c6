/**
 * The Temporal Schedule `landlord-backups` (docs/disaster-recovery.md): created or brought up to
 * date by the lifecycle worker at start; each firing starts a backup sweep.
 */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { BACKUP_SCHEDULE_ID, durationMs } from '../domain/index.js';
import { ensureSchedule, everySpec } from './schedules.js';

/** Workflow id prefix of the sweeps the Schedule starts (Temporal appends the scheduled time). */
export const BACKUP_SWEEP_PREFIX = 'landlord-backup-sweep';

/** Creates the Schedule (a sweep every `every`, e.g. `5m`), or sets its spec and action to these. */
export async function ensureBackupSchedule(
  client: Client,
  every: string,
  taskQueue: string,
  /** The data workers' queue: each sweep also measures DR standbys' replication there. */
  dataQueue?: string,
): Promise<'created' | 'updated'> {
  return ensureSchedule(client, {
    scheduleId: BACKUP_SCHEDULE_ID,
    spec: everySpec(every),
    action: {
      type: 'startWorkflow',
      workflowType: 'backupSweep',
      workflowId: BACKUP_SWEEP_PREFIX,
      taskQueue,
      args: [{ sweepMs: durationMs(every), ...(dataQueue ? { dataQueue } : {}) }],
    },
    // A missed sweep needs no catching up: the next one finds every tenant that is due by then.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    memo: { every },
  });
}
