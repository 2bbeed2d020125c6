/**
 * The silo-onboarding benchmark: premium-tier tenants (a silo of their own, no DR) onboarded in
 * local-a through the API, with the provisioning worker in a process of its own; against the same
 * Pulumi program run by the Automation API from a plain process (bench/bare-pulumi.ts) in the same
 * run; one onboarding at a time against several at once on that one worker; and the worker's peak
 * memory, with and without the processes it starts.
 */
import { localStackConfig } from '../activities/provisioning/index.js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { createPolicyActivities } from '../activities/policy/index.js';
import { CreateTenantRequest, SILO_PROJECT, siloStackName, tenantSpecFrom } from '../domain/index.js';
import type { SiloSpec } from '../domain/index.js';
import { pulumiEnvironment } from '../workers/provisioning.js';
import { runBarePulumi } from './bare-pulumi.js';
import type { BareStackRequest, BareStackRun } from './bare-pulumi.js';
import { BENCH_TASK_QUEUE_PREFIX, createTenantBody, startLandlordWithSink } from './landlord.js';
import type { OnboardingSample } from './landlord.js';
import { runLevel } from './load.js';
import type { LevelResult } from './load.js';
import { WorkerProcess } from './worker-process.js';
import { machineBusyCpuSeconds, processCpuSeconds } from './cpu-time.js';
import { currentLoad } from './report.js';
import { highWaterMark, maxPeaks, TreeRssSampler } from './rss-sampler.js';
import type { RssPeaks } from './rss-sampler.js';
import type { BenchStack } from './stack.js';

export const SILO_TIER = 'premium';
const REGION = 'local-a';
const ONBOARDING_TIMEOUT_MS = 300_000;

export interface SiloPlan {
  /** A smoke run or other counts than the defaults: the docs are left alone. */
  quick: boolean;
  warmup: number;
  /** Landlord onboardings and bare runs, one at a time, alternating. */
  sequential: number;
  /** Callers onboarding at once on the one provisioning worker. */
  concurrency: number;
  /** Onboardings in the concurrent level. */
  concurrentCount: number;
  /** Interval of the memory sampler. */
  rssIntervalMs: number;
}

function positiveInteger(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const value = env[key] === undefined ? fallback : Number(env[key]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${key} must be a positive integer`);
  return value;
}

/**
 * BENCH_QUICK=1: a smoke run. BENCH_SILO_SEQUENTIAL, BENCH_SILO_CONCURRENCY and
 * BENCH_SILO_CONCURRENT (onboardings at that concurrency) change the counts, and then the docs stay
 * as they are; BENCH_RSS_INTERVAL_MS the sampler's interval.
 */
export function siloPlanFrom(env: NodeJS.ProcessEnv): SiloPlan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const custom = ['BENCH_SILO_SEQUENTIAL', 'BENCH_SILO_CONCURRENCY', 'BENCH_SILO_CONCURRENT'].some(
    (key) => env[key] !== undefined,
  );
  const concurrency = positiveInteger(env, 'BENCH_SILO_CONCURRENCY', 4);
  return {
    quick: quick || custom,
    warmup: 1,
    sequential: positiveInteger(env, 'BENCH_SILO_SEQUENTIAL', quick ? 2 : 5),
    concurrency,
    concurrentCount: positiveInteger(env, 'BENCH_SILO_CONCURRENT', concurrency),
    rssIntervalMs: positiveInteger(env, 'BENCH_RSS_INTERVAL_MS', 50),
  };
}

export interface SiloOnboardingReport {
  date: string;
  plan: SiloPlan;
  /** Activity slots of the provisioning worker. */
  workerSlots: number;
  pulumiVersion: string;
  /** Landlord onboardings one at a time, in the order they ran (ms). */
  sequential: OnboardingSample[];
  /** Bare runs, each right before or after a Landlord onboarding. */
  bare: BareStackRun[];
  /** Onboardings at `plan.concurrency` on the one worker. */
  concurrent: LevelResult;
  memory: {
    /** The worker's first seconds after it reported polling, before any onboarding. */
    idle: RssPeaks;
    /** While onboardings ran one at a time (the bare runs are not in the worker's tree). */
    sequential: RssPeaks;
    concurrent: RssPeaks;
    /** VmHWM of the worker process at the end of the run: its peak RSS as the kernel kept it. */
    workerHighWaterBytes: number;
    /** A bare run's process, the Pulumi CLI and the dynamic-provider host under it. */
    bare: RssPeaks;
  };
  /** CPU seconds spent, summed over the runs of each kind. */
  cpu: { sequential: CpuSpent; bare: CpuSpent; concurrent: CpuSpent };
  /** Destroying the bare stacks afterwards (untimed): how many. */
  bareDestroyed: number;
  /** From the worker's start to the bare stacks' removal (the servers' start and stop not counted). */
  durationMs: number;
  /** Load averages when the benchmark started and ended, to judge how quiet the machine was. */
  loadAtStart: number[];
  loadAtEnd: number[];
}

/** CPU seconds spent over some runs, and their count and summed wall time. */
export interface CpuSpent {
  runs: number;
  wallMs: number;
  /** The whole machine (every process, the servers included). */
  machine: number;
  /** The provisioning worker and the processes under it that finished. */
  worker: number;
  /** This process: the API, the lifecycle worker, the load generator and the samplers. */
  landlord: number;
  /** This process's children that finished: the bare runs' processes and theirs. */
  bare: number;
}

const noCpu = (): CpuSpent => ({ runs: 0, wallMs: 0, machine: 0, worker: 0, landlord: 0, bare: 0 });

const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The silo spec Landlord's policy settles for a benchmark tenant's request body. */
async function siloSpecFor(
  policy: ReturnType<typeof createPolicyActivities>,
  tenantId: string,
): Promise<SiloSpec> {
  const request = CreateTenantRequest.parse(createTenantBody(tenantId, SILO_TIER));
  const placement = await policy.validatePlacement({ spec: tenantSpecFrom(request, tenantId) });
  if (!placement.silo) throw new Error(`tier ${SILO_TIER} is not a silo tier`);
  if (placement.silo.standby) throw new Error(`tier ${SILO_TIER} has DR on; the benchmark wants one stack`);
  return placement.silo.primary;
}

export async function runSiloBenchmark(
  plan: SiloPlan,
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<SiloOnboardingReport> {
  const loadAtStart = currentLoad();
  const benchStarted = performance.now();
  const run = randomBytes(3).toString('hex');
  const config = loadConfig({ ...stack.env, PATH: process.env.PATH });
  const workerSlots = Math.max(config.pulumi.concurrency, plan.concurrency);

  const { landlord } = await startLandlordWithSink(stack, cleanup);
  log('starting the provisioning worker process');
  const worker = await WorkerProcess.start('provisioning', {
    ...stack.env,
    LANDLORD_TASK_QUEUE_PREFIX: BENCH_TASK_QUEUE_PREFIX,
    LANDLORD_LOG_LEVEL: 'silent',
    LANDLORD_PROVISIONING_CONCURRENCY: String(workerSlots),
  });
  cleanup(() => worker.stop());
  const sampler = new TreeRssSampler(worker.pid, plan.rssIntervalMs).start();
  cleanup(async () => sampler.stop());
  // Let it settle into polling before its idle memory is read.
  await new Promise((r) => setTimeout(r, 2000));
  const idle = sampler.take();

  const cpuNow = () => {
    const self = processCpuSeconds('self')!;
    const w = processCpuSeconds(worker.pid);
    return {
      machine: machineBusyCpuSeconds(),
      worker: w ? w.own + w.children : 0,
      landlord: self.own,
      bare: self.children,
    };
  };
  /** Runs `work` (that many runs) and adds the CPU it took and its wall time to `into`. */
  const metered = async <T>(into: CpuSpent, work: () => Promise<T>, runs = 1): Promise<T> => {
    const before = cpuNow();
    const started = performance.now();
    const result = await work();
    const after = cpuNow();
    into.runs += runs;
    into.wallMs += performance.now() - started;
    into.machine += after.machine - before.machine;
    into.worker += after.worker - before.worker;
    into.landlord += after.landlord - before.landlord;
    into.bare += after.bare - before.bare;
    return result;
  };

  let tenants = 0;
  const onboard = async (): Promise<OnboardingSample> => {
    const tenantId = `silo-${run}-${(tenants++).toString(36)}`;
    const sample = await landlord.onboard(tenantId, { tier: SILO_TIER, timeoutMs: ONBOARDING_TIMEOUT_MS });
    // Succeeded means active; checked outside the timing.
    const status = await landlord.tenantStatus(tenantId);
    if (status !== 'active') throw new Error(`tenant ${tenantId} is ${status} after its onboarding`);
    return sample;
  };

  const policy = createPolicyActivities({
    catalog: config.catalog,
    localRegions: new Set(Object.keys(config.postgres.regionUrls)),
  });
  const pulumiEnv = pulumiEnvironment(config, stack.secret);
  const serverUrl = config.postgres.regionUrls[REGION];
  if (!serverUrl) throw new Error(`no Postgres server for ${REGION}`);
  // The stack config the provisioning activity sets for a local region, from the same function.
  const settings = {
    regionServerUrls: config.postgres.regionUrls,
    secret: stack.secret,
    dataDir: config.dataDir,
    migrationsDir: config.migrationsDir,
  };
  const bareStacks: BareStackRequest[] = [];
  let barePeaks: RssPeaks = { rootBytes: 0, treeBytes: 0, processes: 0, samples: 0 };
  const bareUp = async (): Promise<BareStackRun> => {
    const tenantId = `bare-${run}-${bareStacks.length.toString(36)}`;
    const name = siloStackName(tenantId, REGION);
    const spec = await siloSpecFor(policy, tenantId);
    const request: BareStackRequest = {
      action: 'up',
      project: SILO_PROJECT,
      stack: name,
      spec,
      config: localStackConfig(settings, spec),
      workDir: join(config.dataDir, 'pulumi', 'work', SILO_PROJECT, name),
    };
    bareStacks.push(request);
    let bareSampler: TreeRssSampler | undefined;
    try {
      return await runBarePulumi(pulumiEnv, request, {
        onStarted: (pid) => (bareSampler = new TreeRssSampler(pid, plan.rssIntervalMs).start()),
      });
    } finally {
      if (bareSampler) barePeaks = maxPeaks(barePeaks, bareSampler.stop());
    }
  };

  log(`warming up (${plan.warmup} onboarding and ${plan.warmup} bare run)`);
  for (let i = 0; i < plan.warmup; i++) {
    log(`  onboarding: ${seconds((await onboard()).latencyMs)}`);
    log(`  bare run:   ${seconds((await bareUp()).wallMs)}`);
  }
  sampler.take();
  barePeaks = { rootBytes: 0, treeBytes: 0, processes: 0, samples: 0 };

  log(`one at a time: ${plan.sequential} onboardings and ${plan.sequential} bare runs, alternating`);
  const sequential: OnboardingSample[] = [];
  const bare: BareStackRun[] = [];
  const cpu = { sequential: noCpu(), bare: noCpu(), concurrent: noCpu() };
  const meteredOnboard = async () => sequential.push(await metered(cpu.sequential, onboard));
  const meteredBareUp = async () => bare.push(await metered(cpu.bare, bareUp));
  for (let i = 0; i < plan.sequential; i++) {
    // Alternate which goes first, so that neither always runs right after the other.
    for (const step of i % 2 === 0 ? [meteredOnboard, meteredBareUp] : [meteredBareUp, meteredOnboard])
      await step();
    const o = sequential.at(-1)!;
    const b = bare.at(-1)!;
    log(
      `  onboarding ${seconds(o.latencyMs)}, bare run ${seconds(b.wallMs)} (up alone ${seconds(b.actionMs)})`,
    );
  }
  const sequentialPeaks = sampler.take();

  log(`${plan.concurrency} at once: ${plan.concurrentCount} onboardings`);
  const concurrent = await metered(
    cpu.concurrent,
    () => runLevel(plan.concurrency, plan.concurrentCount, async () => (await onboard()).latencyMs),
    plan.concurrentCount,
  );
  log(`  ${seconds(concurrent.wallMs)} in all`);
  const concurrentPeaks = sampler.take();
  const workerHighWaterBytes = highWaterMark(worker.pid) ?? 0;

  log(`destroying the ${bareStacks.length} bare stacks`);
  for (const request of bareStacks) await runBarePulumi(pulumiEnv, { ...request, action: 'destroy' });

  return {
    date: new Date().toISOString(),
    plan,
    workerSlots,
    pulumiVersion: execFileSync(pulumiEnv.cliPath, ['version'], {
      encoding: 'utf8',
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: 'true', PULUMI_HOME: pulumiEnv.home },
    }).trim(),
    sequential,
    bare,
    concurrent,
    memory: {
      idle,
      sequential: sequentialPeaks,
      concurrent: concurrentPeaks,
      workerHighWaterBytes,
      bare: barePeaks,
    },
    cpu,
    bareDestroyed: bareStacks.length,
    durationMs: performance.now() - benchStarted,
    loadAtStart,
    loadAtEnd: currentLoad(),
  };
}
