/**
 * `npx tsx bench/trace-onboarding.ts`: onboards a few tenants one at a time and prints where the
 * time of the last one went, from the POST to `succeeded`, using its workflow histories.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { tenantWorkflowId } from '../workflows/definitions.js';
import { installQuietRuntime } from '../workers/lifecycle.js';
import type { LifecycleActivities } from '../workers/lifecycle.js';
import { Landlord } from './landlord.js';
import { startBenchStack } from './stack.js';
import { WebhookSink } from './webhook-sink.js';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

const millis = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor(Number(e.eventTime?.nanos ?? 0) / 1e6);

function describe(e: HistoryEvent): string {
  const type =
    Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]) ??
    'unknown';
  const name =
    e.activityTaskScheduledEventAttributes?.activityType?.name ??
    (e.markerRecordedEventAttributes ? 'local activity' : undefined) ??
    e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ??
    '';
  return `${type.replace('EventAttributes', '')} ${name}`.trim();
}

/** Wraps every activity to record how long each call took, by activity name. */
function timed(durations: Map<string, number[]>) {
  return (activities: LifecycleActivities): LifecycleActivities =>
    Object.fromEntries(
      Object.entries(activities).map(([name, fn]) => [
        name,
        async (...args: unknown[]) => {
          const started = performance.now();
          try {
            return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          } finally {
            durations.set(name, [...(durations.get(name) ?? []), performance.now() - started]);
          }
        },
      ]),
    ) as LifecycleActivities;
}

async function main(): Promise<void> {
  installQuietRuntime();
  const durations = new Map<string, number[]>();
  const stack = await startBenchStack();
  const sink = await new WebhookSink().start();
  const connection = await NativeConnection.connect({ address: stack.infra.temporalAddress });
  const landlord = await Landlord.start({
    stack,
    connection,
    webhook: { url: sink.url, secret: stack.secret.slice(0, 32) },
    decorateActivities: timed(durations),
  });
  const client = new Client({
    connection: await Connection.connect({ address: stack.infra.temporalAddress }),
  });
  try {
    const run = randomBytes(3).toString('hex');
    let last = { tenantId: '', operationId: '', postedAt: 0, latencyMs: 0, acceptMs: 0 };
    for (let i = 0; i < Number(process.env.BENCH_TRACE_COUNT ?? 6); i++) {
      const tenantId = `t${run}-${i}`;
      const postedAt = Date.now();
      const sample = await landlord.onboard(tenantId);
      last = { tenantId, postedAt, ...sample };
      process.stderr.write(
        `${tenantId}: ${sample.latencyMs.toFixed(0)} ms (POST ${sample.acceptMs.toFixed(0)} ms)\n`,
      );
    }
    await landlord.activityCounts(last.tenantId, last.operationId);
    const [parent, child] = await Promise.all([
      client.workflow.getHandle(tenantWorkflowId(last.tenantId)).fetchHistory(),
      client.workflow.getHandle(last.operationId).fetchHistory(),
    ]);
    const events = [
      ...(parent.events ?? []).map((e) => ({ at: millis(e), who: 'tenant', what: describe(e) })),
      ...(child.events ?? []).map((e) => ({ at: millis(e), who: 'child ', what: describe(e) })),
    ].sort((a, b) => a.at - b.at);
    console.log('activity durations over all onboardings (median ms, calls):');
    for (const [name, list] of durations) {
      const sorted = [...list].sort((a, b) => a - b);
      console.log(
        `  ${name.padEnd(24)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1).padStart(6)}  ${sorted.length}`,
      );
    }
    console.log(
      `POST at 0 ms, 202 at ${last.acceptMs.toFixed(0)} ms, succeeded seen at ${last.latencyMs.toFixed(0)} ms`,
    );
    let previous = last.postedAt;
    for (const e of events) {
      console.log(
        `${String(e.at - last.postedAt).padStart(6)} ms  +${String(e.at - previous).padStart(4)}  ${e.who}  ${e.what}`,
      );
      previous = e.at;
    }
  } finally {
    await client.connection.close();
    await landlord.close();
    await connection.close();
    await sink.stop();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
