/**
 * `npm run bench [-- pool|silo|retention|erasure|backup|failover|dr]`: each benchmark on servers of its own, one after the other, each
 * printing its tables and writing its section of docs/benchmarks.md. `BENCH_QUICK=1` runs short
 * smoke versions that leave the docs alone.
 * - pool: pool onboarding end to end through the API, against a bare workflow running the same
 *   activities as no-ops on the same Temporal server.
 * - silo: silo onboarding through the API with the provisioning worker in its own process, against
 *   the same Pulumi program run without Landlord; 1 against 4 at once; the worker's peak memory.
 * - retention: a retention run deleting half of a million rows against a plain ctid-batch script on
 *   an identical copy, with a concurrent writer's latency; and a run over 10,000 tenants with
 *   nothing to delete (bench/retention.ts).
 * - erasure: one data subject erased from a pool tenant holding a million rows of other people,
 *   against a bare SQL script on an identical copy, and the fixed cost of an erasure (bench/erasure.ts).
 * - backup: backup and restore of a pool tenant holding a million rows by Landlord's data activities,
 *   against the same COPY out and in run bare on the same database (bench/dr.ts).
 * - failover: a region failover of enterprise tenants under a steady write load (RTO per tenant
 *   and in all, replication lag, rows lost), against as many standbys promoted by hand with the
 *   same dataplane functions (bench/failover.ts).
 * - dr: both of the last two, the disaster-recovery benchmarks.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { installQuietRuntime } from '../workers/lifecycle.js';
import { createBaselineWorker } from './baseline-worker.js';
import type { baselineWorkflow, BaselineInput } from './baseline-workflows.js';
import { startLandlordWithSink } from './landlord.js';
import type { ActivityCounts } from './landlord.js';
import { runLevel } from './load.js';
import { consoleTable, currentLoad, targetVerdict, writeDocsSection } from './report.js';
import type { LevelComparison, PoolOnboardingReport } from './report.js';
import { erasurePlanFrom, runErasureBenchmark } from './erasure.js';
import { erasureConsoleSummary, writeErasureDocsSection } from './erasure-report.js';
import { drPlanFrom, runDrBenchmark } from './dr.js';
import { drConsoleSummary, writeDrDocsSection } from './dr-report.js';
import { failoverPlanFrom, runFailoverBenchmark } from './failover.js';
import { failoverConsoleSummary, writeFailoverDocsSection } from './failover-report.js';
import { retentionPlanFrom, runRetentionBenchmark } from './retention.js';
import { retentionConsoleSummary, writeRetentionDocsSection } from './retention-report.js';
import { runSiloBenchmark, siloPlanFrom } from './silo.js';
import { siloConsoleSummary, writeSiloDocsSection } from './silo-report.js';
import { startBenchStack } from './stack.js';
import type { BenchStack } from './stack.js';

const DOCS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const BASELINE_TASK_QUEUE = 'bench-baseline';

interface Plan {
  quick: boolean;
  warmup: number;
  levels: { concurrency: number; count: number }[];
}

function planFrom(env: NodeJS.ProcessEnv): Plan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const plan = quick
    ? {
        quick,
        warmup: 3,
        levels: [
          { concurrency: 1, count: 10 },
          { concurrency: 8, count: 24 },
          { concurrency: 32, count: 64 },
        ],
      }
    : {
        quick,
        warmup: 10,
        levels: [
          { concurrency: 1, count: 40 },
          { concurrency: 8, count: 120 },
          { concurrency: 32, count: 256 },
        ],
      };
  // BENCH_LEVELS=concurrency:count,... runs other levels (for investigating; the docs stay as they are).
  if (env.BENCH_LEVELS) {
    plan.levels = env.BENCH_LEVELS.split(',').map((level) => {
      const [concurrency, count] = level.split(':').map(Number);
      if (!concurrency || !count) throw new Error(`BENCH_LEVELS: "${level}" is not concurrency:count`);
      return { concurrency, count };
    });
    plan.quick = true;
  }
  return plan;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function benchmark(
  plan: Plan,
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<PoolOnboardingReport> {
  const loadAtStart = currentLoad();
  const run = randomBytes(3).toString('hex');
  const { sink, connection, landlord } = await startLandlordWithSink(stack, cleanup);
  const baselineWorker = await createBaselineWorker({ connection, taskQueue: BASELINE_TASK_QUEUE });
  const baselineRun = baselineWorker.run();
  cleanup(async () => {
    baselineWorker.shutdown();
    await baselineRun;
  });
  const client = new Client({
    connection: await Connection.connect({ address: stack.infra.temporalAddress }),
  });
  cleanup(() => client.connection.close());

  let tenants = 0;
  const onboard = () => landlord.onboard(`b${run}-${(tenants++).toString(36)}`);
  let baselines = 0;
  const runBaseline = async (input: BaselineInput) => {
    const started = performance.now();
    await client.workflow.execute<typeof baselineWorkflow>('baselineWorkflow', {
      taskQueue: BASELINE_TASK_QUEUE,
      workflowId: `baseline-${run}-${(baselines++).toString(36)}`,
      args: [input],
    });
    return performance.now() - started;
  };

  log('counting the activities of one onboarding');
  const tenantId = `b${run}-${(tenants++).toString(36)}`;
  const first = await landlord.onboard(tenantId);
  const counts: ActivityCounts = await landlord.activityCounts(tenantId, first.operationId);
  const input: BaselineInput = { activities: counts.activities, localActivities: counts.localActivities };
  log(
    `  ${counts.activities} activities, ${counts.localActivities} local activities, ${counts.workflowTasks} workflow tasks`,
  );
  const baselineId = `baseline-${run}-${baselines.toString(36)}`;
  await runBaseline(input);
  const baselineHistory = await client.workflow.getHandle(baselineId).fetchHistory();
  const baselineWorkflowTasks = (baselineHistory.events ?? []).filter(
    (e) => e.workflowTaskCompletedEventAttributes,
  ).length;

  log(`warming up (${plan.warmup} of each)`);
  for (let i = 0; i < plan.warmup; i++) await onboard();
  for (let i = 0; i < plan.warmup; i++) await runBaseline(input);
  const deliveriesBefore = sink.deliveries;

  const levels: LevelComparison[] = [];
  for (const { concurrency, count } of plan.levels) {
    log(`concurrency ${concurrency}: ${count} onboardings`);
    const acceptLatencies: number[] = [];
    let polls = 0;
    const onboarding = await runLevel(concurrency, count, async () => {
      const sample = await onboard();
      acceptLatencies.push(sample.acceptMs);
      polls += sample.polls;
      return sample.latencyMs;
    });
    log(`  ${(polls / count).toFixed(1)} GET /v1/operations/{id} per onboarding`);
    log(`concurrency ${concurrency}: ${count} baseline workflows`);
    const baseline = await runLevel(concurrency, count, () => runBaseline(input));
    levels.push({ onboarding, acceptLatencies: acceptLatencies.sort((a, b) => a - b), baseline });
  }

  const measured = plan.levels.reduce((n, l) => n + l.count, 0);
  // Both notifications are delivered before an onboarding succeeds, so every one is already here.
  const expected = deliveriesBefore + 2 * measured;
  if (sink.deliveries !== expected)
    throw new Error(`the webhook receiver got ${sink.deliveries} deliveries, expected ${expected}`);

  return {
    date: new Date().toISOString(),
    warmup: plan.warmup,
    counts,
    baselineWorkflowTasks,
    levels,
    loadAtStart,
  };
}

type Teardown = (fn: () => Promise<unknown>) => void;

async function poolBenchmark(stack: BenchStack, cleanup: Teardown): Promise<void> {
  const plan = planFrom(process.env);
  const report = await benchmark(plan, stack, cleanup);
  console.log(
    `\nPool onboarding vs. bare workflow (${report.counts.activities} activities + ${report.counts.localActivities} local activities)\n`,
  );
  console.log(consoleTable(report));
  console.log(`\nTarget: ${targetVerdict(report).text}`);
  if (plan.quick) {
    console.log('\n(BENCH_QUICK or BENCH_LEVELS: docs/benchmarks.md not updated)');
  } else {
    writeDocsSection(DOCS_FILE, report);
    console.log(`\nwrote the pool-onboarding section of ${DOCS_FILE}`);
  }
}

async function siloBenchmark(stack: BenchStack, cleanup: Teardown): Promise<void> {
  const plan = siloPlanFrom(process.env);
  const report = await runSiloBenchmark(plan, stack, cleanup);
  console.log(`\n${siloConsoleSummary(report)}`);
  if (plan.quick) {
    console.log('\n(BENCH_QUICK or other counts: docs/benchmarks.md not updated)');
  } else {
    writeSiloDocsSection(DOCS_FILE, report);
    console.log(`\nwrote the silo-onboarding section of ${DOCS_FILE}`);
  }
}

async function retentionBenchmark(stack: BenchStack, cleanup: Teardown): Promise<void> {
  const plan = retentionPlanFrom(process.env);
  const report = await runRetentionBenchmark(plan, stack, cleanup);
  // The raw figures, for a closer look than the tables give.
  if (process.env.BENCH_RETENTION_JSON)
    writeFileSync(process.env.BENCH_RETENTION_JSON, JSON.stringify(report));
  console.log(`\n${retentionConsoleSummary(report)}`);
  if (plan.quick) {
    console.log('\n(BENCH_QUICK or BENCH_RETENTION_*: docs/benchmarks.md not updated)');
  } else {
    writeRetentionDocsSection(DOCS_FILE, report);
    console.log(`\nwrote the retention section of ${DOCS_FILE}`);
  }
}

async function erasureBenchmark(stack: BenchStack, cleanup: Teardown): Promise<void> {
  const plan = erasurePlanFrom(process.env);
  const report = await runErasureBenchmark(plan, stack, cleanup);
  if (process.env.BENCH_ERASURE_JSON) writeFileSync(process.env.BENCH_ERASURE_JSON, JSON.stringify(report));
  console.log(`\n${erasureConsoleSummary(report)}`);
  if (plan.quick) {
    console.log('\n(BENCH_QUICK: docs/benchmarks.md not updated)');
  } else {
    writeErasureDocsSection(DOCS_FILE, report);
    console.log(`\nwrote the erasure section of ${DOCS_FILE}`);
  }
}

async function drBenchmark(stack: BenchStack, cleanup: Teardown): Promise<void> {
  const plan = drPlanFrom(process.env);
  const report = await runDrBenchmark(plan, stack, cleanup);
  if (process.env.BENCH_DR_JSON) writeFileSync(process.env.BENCH_DR_JSON, JSON.stringify(report));
  console.log(`\n${drConsoleSummary(report)}`);
  if (plan.quick) {
    console.log('\n(BENCH_QUICK: docs/benchmarks.md not updated)');
  } else {
    writeDrDocsSection(DOCS_FILE, report);
    console.log(`\nwrote the disaster-recovery section of ${DOCS_FILE}`);
  }
}

async function failoverBenchmark(stack: BenchStack, cleanup: Teardown): Promise<void> {
  const plan = failoverPlanFrom(process.env);
  const report = await runFailoverBenchmark(plan, stack, cleanup);
  if (process.env.BENCH_FAILOVER_JSON) writeFileSync(process.env.BENCH_FAILOVER_JSON, JSON.stringify(report));
  console.log(`\n${failoverConsoleSummary(report)}`);
  if (plan.quick) {
    console.log('\n(BENCH_QUICK: docs/benchmarks.md not updated)');
  } else {
    writeFailoverDocsSection(DOCS_FILE, report);
    console.log(`\nwrote the failover subsection of ${DOCS_FILE}`);
  }
}

const BENCHMARKS = {
  pool: poolBenchmark,
  silo: siloBenchmark,
  retention: retentionBenchmark,
  erasure: erasureBenchmark,
  backup: drBenchmark,
  failover: failoverBenchmark,
} as const;
type BenchmarkName = keyof typeof BENCHMARKS;

/** Names that stand for several benchmarks. */
const GROUPS: Record<string, BenchmarkName[]> = { dr: ['backup', 'failover'] };

function selected(args: string[]): BenchmarkName[] {
  if (args.length === 0) return Object.keys(BENCHMARKS) as BenchmarkName[];
  const names: BenchmarkName[] = [];
  for (const arg of args) {
    const group = GROUPS[arg] ?? (arg in BENCHMARKS ? [arg as BenchmarkName] : undefined);
    if (!group)
      throw new Error(
        `unknown benchmark "${arg}"; choose from ${[...Object.keys(BENCHMARKS), ...Object.keys(GROUPS)].join(', ')}`,
      );
    for (const name of group) if (!names.includes(name)) names.push(name);
  }
  return names;
}

async function main(): Promise<number> {
  const names = selected(process.argv.slice(2));
  installQuietRuntime();
  for (const name of names) {
    const started = performance.now();
    await runOnFreshStack(name, BENCHMARKS[name]);
    log(`${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  return 0;
}

/** Starts the servers, runs one benchmark, and stops everything it started, also when interrupted. */
async function runOnFreshStack(
  name: string,
  bench: (stack: BenchStack, cleanup: Teardown) => Promise<void>,
): Promise<void> {
  log(`${name}: starting Temporal and Postgres`);
  const stack = await startBenchStack();
  const teardown: (() => Promise<unknown>)[] = [];
  let stopped: Promise<void> | undefined;
  // Once only, whether the run ends or is interrupted.
  const stopAll = () =>
    (stopped ??= (async () => {
      for (const fn of teardown.splice(0).reverse())
        await fn().catch((err: unknown) => log(`teardown: ${String(err)}`));
      await stack.stop();
    })());
  const interrupted = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await bench(stack, (fn) => teardown.push(fn));
  } finally {
    await stopAll();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
