/**
 * Landlord's Temporal Schedules (retention runs, backups, restore verification) are made by the
 * lifecycle worker at start: created, or, when one exists, given the config's spec, action and
 * policies. A pause and its note are kept: an operator's pause survives a worker restart.
 */
import { ScheduleAlreadyRunning } from '@temporalio/client';
import type { Client, ScheduleOptions } from '@temporalio/client';

/** Creates the Schedule or brings it up to date; idempotent, and several workers may race. */
export async function ensureSchedule(
  client: Client,
  options: ScheduleOptions,
): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const { spec, action, policies } = options;
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    ...previous,
    spec,
    action,
    policies: { ...previous.policies, ...policies },
  }));
  // The memo is not part of an update; it says what the spec was made from.
  return 'updated';
}

/** A spec of one fixed interval (`5m`, `1h`, `1d`). */
export const everySpec = (every: string) => ({
  intervals: [{ every: every as `${number}${'m' | 'h' | 'd'}` }],
});
