/**
 * Where a failover's time goes, read from Temporal's workflow histories: each activity's time
 * waiting for a worker (scheduled → started) and running (started → closed), with its first
 * argument, and the workflow tasks (local activities, such as the registry's writes, run in them).
 * Times are the Temporal server's, in epoch ms. And the lifecycle worker's activities, local ones
 * (the registry's writes) included, timed where they run.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { LifecycleActivities } from '../workers/lifecycle.js';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
type Payloads = { payloads?: { data?: Uint8Array | null }[] | null } | null | undefined;

export interface ActivitySpan {
  name: string;
  /** The first argument, as JSON (undefined when it does not decode). */
  input?: Record<string, unknown>;
  scheduledAt: number;
  startedAt: number;
  closedAt: number;
}

export interface WorkflowTrace {
  workflowId: string;
  activities: ActivitySpan[];
  /** Workflow tasks: how many, their time from scheduled to completed, and of it their wait to be started, summed. */
  workflowTasks: { count: number; ms: number; queueMs: number };
  /** Local activities by name, in the order their markers were recorded. */
  localActivities: string[];
}

const millis = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor(Number(e.eventTime?.nanos ?? 0) / 1e6);

function firstJson(payloads: Payloads): Record<string, unknown> | undefined {
  const data = payloads?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(data));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A local activity's type, from its marker (the SDK's marker data), or a generic name. */
function localActivityName(e: HistoryEvent): string {
  const details = e.markerRecordedEventAttributes?.details as Record<string, Payloads> | null | undefined;
  const data = firstJson(details?.data);
  const name = data?.activity_type ?? data?.activityType;
  return typeof name === 'string' ? name : 'local activity';
}

/** The trace of one workflow (an operation's child workflow has the operation's id). */
export async function traceWorkflow(client: Client, workflowId: string): Promise<WorkflowTrace> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const activities: ActivitySpan[] = [];
  const started = new Map<number, number>();
  let workflowTasks = 0;
  let workflowTaskMs = 0;
  let workflowTaskQueueMs = 0;
  const localActivities: string[] = [];
  for (const e of events) {
    if (e.activityTaskStartedEventAttributes)
      started.set(Number(e.activityTaskStartedEventAttributes.scheduledEventId), millis(e));
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (closed) {
      const scheduledId = Number(closed.scheduledEventId);
      const scheduled = byId.get(scheduledId);
      const attributes = scheduled?.activityTaskScheduledEventAttributes;
      if (scheduled && attributes) {
        const input = firstJson(attributes.input);
        activities.push({
          name: attributes.activityType?.name ?? 'unknown',
          ...(input ? { input } : {}),
          scheduledAt: millis(scheduled),
          startedAt: started.get(scheduledId) ?? millis(scheduled),
          closedAt: millis(e),
        });
      }
    }
    const completed = e.workflowTaskCompletedEventAttributes;
    if (completed) {
      const scheduled = byId.get(Number(completed.scheduledEventId));
      const taskStarted = byId.get(Number(completed.startedEventId));
      workflowTasks += 1;
      if (scheduled) workflowTaskMs += millis(e) - millis(scheduled);
      if (scheduled && taskStarted) workflowTaskQueueMs += millis(taskStarted) - millis(scheduled);
    }
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      localActivities.push(localActivityName(e));
  }
  return {
    workflowId,
    activities,
    workflowTasks: { count: workflowTasks, ms: workflowTaskMs, queueMs: workflowTaskQueueMs },
    localActivities,
  };
}

/** One call of a lifecycle worker's activity: its name, when it began (epoch ms), how long it took. */
export interface ActivityCall {
  name: string;
  at: number;
  ms: number;
}

/** Wraps every lifecycle activity to push each call's time onto `calls`. */
export function timedActivities(calls: ActivityCall[]) {
  return (activities: LifecycleActivities): LifecycleActivities =>
    Object.fromEntries(
      Object.entries(activities).map(([name, fn]) => [
        name,
        async (...args: unknown[]) => {
          const at = Date.now();
          const started = performance.now();
          try {
            return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          } finally {
            calls.push({ name, at, ms: performance.now() - started });
          }
        },
      ]),
    ) as LifecycleActivities;
}
