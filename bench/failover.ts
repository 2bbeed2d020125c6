/**
 * The failover benchmark (`npm run bench -- failover`), the disaster-recovery benchmark's second
 * part: a region failover of enterprise tenants homed in local-a, with their measured RTO, each
 * and in all, and their RPO (replication lag, and rows lost) under a steady write load; against the
 * same number of standbys promoted by hand in the same run (bench/failover-baseline.ts).
 *
 * - Landlord as `npm start` runs it: the API and the lifecycle worker in this process, the
 *   provisioning and data workers in processes of their own.
 * - Landlord's set: enterprise tenants onboarded through the API (a silo in local-a, a standby in
 *   local-b, logical replication between them); a writer per tenant in a process of its own
 *   (bench/failover-writer-main.ts) inserting a row into its home silo every 20 ms as the tenant's
 *   role; the replication lag measured every few seconds meanwhile; then
 *   `POST /v1/regions/local-a/failover` as an operator, approved by an admin, followed to its end.
 * - The baseline's set: as many other enterprise tenants, onboarded after Landlord's run (a region
 *   failover takes every DR tenant of the region along), with the same write load and lag
 *   measurement, promoted by hand in waves of the same size.
 * - After each run: every row a writer had acknowledged looked up in the promoted standby.
 * - Profile: each tenant's failover operation's steps, the Temporal histories of it and of the
 *   region's operation, and the lifecycle worker's activities timed where they run
 *   (bench/failover-trace.ts): where its RTO went beyond the data work.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { withClient, withDatabase } from '../dataplane/connection.js';
import { measureReplication } from '../dataplane/replication.js';
import type { ReplicationLink } from '../dataplane/replication.js';
import { siloNames } from '../domain/index.js';
import type { OperationSnapshot } from '../domain/index.js';
import { machineBusyCpuSeconds } from './cpu-time.js';
import { bareFailover, siloLink } from './failover-baseline.js';
import type { BareFailover } from './failover-baseline.js';
import { timedActivities, traceWorkflow } from './failover-trace.js';
import type { ActivityCall, ActivitySpan, WorkflowTrace } from './failover-trace.js';
import { FAILOVER_WRITER_ACTION, FailoverWriter } from './failover-writer.js';
import type { TenantWrites } from './failover-writer-main.js';
import { benchStart, startLandlordWithSink } from './landlord.js';
import type { Landlord } from './landlord.js';
import { percentile, runLevel } from './load.js';
import { currentLoad, machineFacts } from './report.js';
import type { BenchStack } from './stack.js';
import { WorkerProcess } from './worker-process.js';

const HOME = 'local-a';
const STANDBY = 'local-b';
const TIER = 'enterprise';
const ONBOARDING_TIMEOUT_MS = 600_000;
/** The steps of a tenant's failover inside its RTO, in order. */
export const FAILOVER_STEPS = ['fence-primary', 'promote-standby', 'switch-routing', 'verify'] as const;

export interface FailoverPlan {
  /** A smoke run: 3 tenants a side, one wave, a shorter lag window; the docs left alone. */
  quick: boolean;
  /** Tenants failed over by Landlord, and as many promoted by hand. */
  tenants: number;
  waveSize: number;
  /** Onboardings at once (the provisioning worker's slots). */
  onboardConcurrency: number;
  /** Between one insert and the next, per tenant. */
  writeIntervalMs: number;
  /** How long the replication lag is measured under the write load, and how often. */
  lagWindowMs: number;
  lagEveryMs: number;
}

/** BENCH_QUICK=1: 3 tenants a side in one wave of 3, 10 s of lag measurement. */
export function failoverPlanFrom(env: NodeJS.ProcessEnv): FailoverPlan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  return {
    quick,
    tenants: quick ? 3 : 10,
    waveSize: quick ? 3 : 5,
    onboardConcurrency: 4,
    writeIntervalMs: 20,
    lagWindowMs: quick ? 10_000 : 30_000,
    lagEveryMs: 3_000,
  };
}

/** One measurement of a tenant's replication under the write load. */
export interface LagSample {
  tenantId: string;
  round: number;
  state: string;
  lagMs?: number;
  lagBytes?: number;
}

/** One tenant's writes, and what of them its promoted standby holds. */
export interface WriteCheck {
  tenantId: string;
  rowsWritten: number;
  lastId?: number;
  /** Rows whose INSERT was acknowledged that the promoted standby does not hold. */
  rowsLost: number;
  /** The writer's rows the promoted standby holds, acknowledged or not (an insert cut off by the fence may have committed). */
  standbyRows: number;
  insertP50Ms: number;
  insertP99Ms: number;
  lastCommitAt?: number;
  /** The failed insert that stopped the writer; absent: it was still writing at the end. */
  stopped?: { at: number; code?: string; message: string };
}

/** Part of a tenant's RTO: a step of its failover, or the time between or after them. */
export interface RtoSegment {
  name: string;
  ms: number;
  /** Activities scheduled in it: their running time, their wait for a worker, their names. */
  activityRunMs: number;
  activityQueueMs: number;
  activities: string[];
}

/** One tenant's failover by Landlord. */
export interface LandlordTenantFailover {
  tenantId: string;
  wave: number;
  operationId: string;
  status: string;
  measured: { rtoMs: number; rpoMs: number; rtoMet: boolean; rpoMet: boolean };
  rtoTargetMs: number;
  rpoTargetMs: number;
  caughtUp: boolean;
  segments: RtoSegment[];
  /** The region's activity for it scheduled → its RTO's start (the update, the child workflow, the pre-approval). */
  dispatchMs: number;
  /** Of which its pre-approved `approval` step. */
  approvalStepMs: number;
  /** Its RTO's end → the region's activity for it closed (the operation's end, the registry's long poll). */
  noticeMs: number;
  workflowTasks: WorkflowTrace['workflowTasks'];
  localActivities: string[];
}

/** Landlord's region failover. */
export interface LandlordFailover {
  operationId: string;
  status: string;
  waveSize: number;
  waves: number;
  /** The region operation's own figure: approval to the last wave's end. */
  totalRtoMs: number;
  /** From sending the approval to reading the operation's end (long poll). */
  approveToEndMs: number;
  /** From the POST to the operation waiting for its approval (the `plan` step). */
  requestToWaitingMs: number;
  failed: string[];
  tenants: LandlordTenantFailover[];
  /** The region workflow's time outside its waves: before the first, between them, after the last. */
  outsideWaves: { beforeFirstMs: number; betweenMs: number[]; afterLastMs: number };
  /** Each wave: from its first activity scheduled to its last closed. */
  waveMs: number[];
  /** The machine's CPUs' busy share from the approval to the end. */
  machineBusy: number;
  /** The lifecycle worker's activities from the approval to the end, by name, timed where they ran. */
  lifecycleCalls: { name: string; local: boolean; count: number; medianMs: number; maxMs: number }[];
}

export interface FailoverReport {
  date: string;
  plan: FailoverPlan;
  /** Tenants a side: as planned, unless the standby's server cannot take that many subscriptions. */
  tenants: number;
  /** The standby server's `max_active_replication_origins` (Postgres 18 on; absent before). */
  standbyOrigins?: number;
  standbyServerVersion: string;
  onboarding: { landlordSetMs: number; bareSetMs: number };
  lag: { landlord: LagSample[]; bare: LagSample[] };
  landlord: LandlordFailover;
  bare: BareFailover & { machineBusy: number };
  writes: { landlord: WriteCheck[]; bare: WriteCheck[] };
  durationMs: number;
  loadAtStart: number[];
  loadAtEnd: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const at = (iso?: string) => (iso ? Date.parse(iso) : Number.NaN);

/** Follows an operation by long poll until it ends, whichever way. */
async function operationEnd(
  landlord: Landlord,
  operationId: string,
  timeoutMs = 900_000,
): Promise<OperationSnapshot> {
  const started = performance.now();
  for (;;) {
    const op = await operationNow(landlord, operationId, '?wait=30s');
    if (op.status !== 'running') return op;
    if (performance.now() - started > timeoutMs) throw new Error(`operation ${operationId} still running`);
  }
}

async function operationNow(landlord: Landlord, operationId: string, query = ''): Promise<OperationSnapshot> {
  const { status, body } = await landlord.api(
    'GET',
    `/v1/operations/${encodeURIComponent(operationId)}${query}`,
  );
  if (status !== 200)
    throw new Error(`GET /v1/operations/${operationId} answered ${status}: ${JSON.stringify(body)}`);
  return body as unknown as OperationSnapshot;
}

/**
 * The standby server's cap on replication origins (`max_active_replication_origins`, from Postgres
 * 18 on; undefined before, where `max_replication_slots` caps them). Each subscription's apply
 * worker holds one and each table being copied in its first sync another, so a server of N holds
 * N - 1 subscriptions: with N - 1 streaming, the N-th's apply worker takes the last origin and its
 * first copy never starts.
 */
async function replicationOrigins(serverUrl: string): Promise<{ origins?: number; version: string }> {
  return withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    const { rows } = await c.query<{ origins: string | null; version: string }>(
      "SELECT current_setting('max_active_replication_origins', true) AS origins, current_setting('server_version') AS version",
    );
    const { origins, version } = rows[0]!;
    return { ...(origins ? { origins: Number(origins) } : {}), version };
  });
}

/** Busy share of the machine's CPUs while `work` runs. */
async function metered<T>(work: () => Promise<T>): Promise<{ value: T; machineBusy: number }> {
  const before = machineBusyCpuSeconds();
  const started = performance.now();
  const value = await work();
  const seconds = (performance.now() - started) / 1000;
  return { value, machineBusy: (machineBusyCpuSeconds() - before) / seconds / machineFacts().cpus };
}

/** Measures every link at once, every `lagEveryMs`, for `lagWindowMs`. */
async function measureLag(links: ReplicationLink[], plan: FailoverPlan): Promise<LagSample[]> {
  const samples: LagSample[] = [];
  const started = performance.now();
  for (let round = 1; performance.now() - started < plan.lagWindowMs; round++) {
    const roundStarted = performance.now();
    const measured = await Promise.all(links.map((link) => measureReplication(link, { waitMs: 30_000 })));
    measured.forEach((m, i) =>
      samples.push({
        tenantId: links[i]!.tenantId,
        round,
        state: m.state,
        ...(m.lagMs !== undefined ? { lagMs: m.lagMs } : {}),
        ...(m.lagBytes !== undefined ? { lagBytes: m.lagBytes } : {}),
      }),
    );
    await sleep(plan.lagEveryMs - (performance.now() - roundStarted));
  }
  return samples;
}

/** Each tenant's acknowledged rows looked up in its promoted standby. */
async function checkWrites(writes: TenantWrites[], standbyUrl: string): Promise<WriteCheck[]> {
  return Promise.all(
    writes.map(async (w) => {
      const found = await withClient(withDatabase(standbyUrl, siloNames(w.tenantId).database), async (c) => {
        const { rows } = await c.query<{ present: number; total: number }>(
          `SELECT count(*) FILTER (WHERE id = ANY ($2::bigint[]))::int AS present, count(*)::int AS total
             FROM activity_log WHERE tenant_id = $1 AND action = $3`,
          [w.tenantId, w.ids, FAILOVER_WRITER_ACTION],
        );
        return rows[0]!;
      });
      const latencies = [...w.latencies].sort((a, b) => a - b);
      return {
        tenantId: w.tenantId,
        rowsWritten: w.ids.length,
        ...(w.ids.length ? { lastId: w.ids.at(-1)! } : {}),
        rowsLost: w.ids.length - found.present,
        standbyRows: found.total,
        insertP50Ms: percentile(latencies, 50),
        insertP99Ms: percentile(latencies, 99),
        ...(w.lastCommitAt !== undefined ? { lastCommitAt: w.lastCommitAt } : {}),
        ...(w.stopped ? { stopped: w.stopped } : {}),
      };
    }),
  );
}

/** The spans of a tenant's RTO, from its operation's steps and the activities in its history. */
function rtoSegments(
  op: OperationSnapshot,
  trace: WorkflowTrace,
  rtoStart: number,
  rtoEnd: number,
): RtoSegment[] {
  const segment = (name: string, from: number, to: number): RtoSegment => {
    const inside = trace.activities.filter((a) => a.scheduledAt >= from && a.scheduledAt <= to);
    return {
      name,
      ms: to - from,
      activityRunMs: inside.reduce((n, a) => n + (a.closedAt - a.startedAt), 0),
      activityQueueMs: inside.reduce((n, a) => n + (a.startedAt - a.scheduledAt), 0),
      activities: inside.map((a) => a.name),
    };
  };
  const steps = FAILOVER_STEPS.map((name) => {
    const step = op.steps.find((s) => s.name === name);
    if (!step?.startedAt || !step.finishedAt)
      throw new Error(`operation ${op.id} has no finished ${name} step`);
    return { name, from: at(step.startedAt), to: at(step.finishedAt) };
  });
  let between = steps[0]!.from - rtoStart;
  for (let i = 1; i < steps.length; i++) between += steps[i]!.from - steps[i - 1]!.to;
  const last = steps.at(-1)!;
  return [
    ...steps.map((s) => segment(s.name, s.from, s.to)),
    {
      name: 'between steps',
      ms: between,
      activityRunMs: 0,
      activityQueueMs: 0,
      activities: [],
    },
    segment('after verify', last.to, rtoEnd),
  ];
}

interface RegionPart {
  tenantId: string;
  status: string;
  operationId?: string;
  reason?: string;
}

/** Landlord's region failover: asked by an operator, approved by an admin, followed to its end. */
async function regionFailover(
  landlord: Landlord,
  client: Client,
  { operatorKey, waveSize, calls }: { operatorKey: string; waveSize: number; calls: ActivityCall[] },
): Promise<LandlordFailover> {
  const requested = performance.now();
  const asked = await landlord.api(
    'POST',
    `/v1/regions/${HOME}/failover`,
    { waveSize, reason: 'failover benchmark' },
    { key: operatorKey },
  );
  if (asked.status !== 202)
    throw new Error(
      `POST /v1/regions/${HOME}/failover answered ${asked.status}: ${JSON.stringify(asked.body)}`,
    );
  const id = String(asked.body.id);
  for (;;) {
    const op = await operationNow(landlord, id);
    if (op.steps.find((s) => s.name === 'approval')?.status === 'waiting-approval') break;
    if (op.status !== 'running')
      throw new Error(`region failover ${id} ended ${op.status} before its approval`);
    if (performance.now() - requested > 120_000)
      throw new Error(`region failover ${id} is not waiting for approval`);
    await sleep(100);
  }
  const requestToWaitingMs = performance.now() - requested;

  log(`approving region failover ${id}`);
  const approvedFrom = Date.now();
  const { value: run, machineBusy } = await metered(async () => {
    const approving = performance.now();
    const approved = await landlord.api('POST', `/v1/operations/${id}/approve`, {
      comment: 'failover benchmark',
    });
    if (approved.status !== 200)
      throw new Error(
        `POST /v1/operations/${id}/approve answered ${approved.status}: ${JSON.stringify(approved.body)}`,
      );
    const done = await operationEnd(landlord, id);
    return { done, approveToEndMs: performance.now() - approving };
  });
  const { done, approveToEndMs } = run;
  const byName = new Map<string, number[]>();
  for (const c of calls.filter((c) => c.at >= approvedFrom))
    byName.set(c.name, [...(byName.get(c.name) ?? []), c.ms]);
  const regionTrace = await traceWorkflow(client, id);
  const result = done.result as {
    waves: number;
    parts: (RegionPart & { measured?: LandlordTenantFailover['measured'] })[];
    failed: string[];
    totalRtoMs: number;
  };
  if (done.status !== 'succeeded')
    throw new Error(
      `region failover ${id} ended ${done.status}: ${JSON.stringify(done.error)} ${JSON.stringify(result?.parts)}`,
    );

  const regionSpans = regionTrace.activities.filter((a) => a.name === 'failOverTenantOfRegion');
  const spanOf = (tenantId: string) => regionSpans.find((a) => a.input?.tenantId === tenantId);
  const tenants = await Promise.all(
    result.parts.map(async (part, index): Promise<LandlordTenantFailover> => {
      const operationId = part.operationId!;
      const [op, trace] = await Promise.all([
        operationNow(landlord, operationId),
        traceWorkflow(client, operationId),
      ]);
      const own = op.result as {
        caughtUp: boolean;
        measured: LandlordTenantFailover['measured'] & { rtoTargetMs: number; rpoTargetMs: number };
      };
      const approval = op.steps.find((s) => s.name === 'approval')!;
      const rtoStart = at(approval.finishedAt);
      const rtoEnd = rtoStart + own.measured.rtoMs;
      const span: ActivitySpan | undefined = spanOf(part.tenantId);
      return {
        tenantId: part.tenantId,
        wave: Math.floor(index / waveSize) + 1,
        operationId,
        status: part.status,
        measured: part.measured!,
        rtoTargetMs: own.measured.rtoTargetMs,
        rpoTargetMs: own.measured.rpoTargetMs,
        caughtUp: own.caughtUp,
        segments: rtoSegments(op, trace, rtoStart, rtoEnd),
        dispatchMs: span ? rtoStart - span.scheduledAt : Number.NaN,
        approvalStepMs: at(approval.finishedAt) - at(approval.startedAt),
        noticeMs: span ? span.closedAt - rtoEnd : Number.NaN,
        workflowTasks: trace.workflowTasks,
        localActivities: trace.localActivities,
      };
    }),
  );

  const local = new Set([...regionTrace.localActivities, ...tenants.flatMap((t) => t.localActivities)]);
  const lifecycleCalls = [...byName].map(([name, ms]) => {
    const sortedMs = ms.sort((a, b) => a - b);
    return {
      name,
      local: local.has(name),
      count: ms.length,
      medianMs: percentile(sortedMs, 50),
      maxMs: sortedMs.at(-1)!,
    };
  });

  // The region workflow's time outside its waves, from its approval to totalRtoMs.
  const approvedAt = at(done.steps.find((s) => s.name === 'approval')?.finishedAt);
  const waves = Array.from({ length: result.waves }, (_, w) =>
    regionSpans.filter((s) => tenants.find((t) => t.tenantId === s.input?.tenantId)?.wave === w + 1),
  );
  const first = (spans: ActivitySpan[]) => Math.min(...spans.map((s) => s.scheduledAt));
  const lastClosed = (spans: ActivitySpan[]) => Math.max(...spans.map((s) => s.closedAt));
  return {
    operationId: id,
    status: done.status,
    waveSize,
    waves: result.waves,
    totalRtoMs: result.totalRtoMs,
    approveToEndMs,
    requestToWaitingMs,
    failed: result.failed,
    tenants,
    outsideWaves: {
      beforeFirstMs: first(waves[0]!) - approvedAt,
      betweenMs: waves.slice(1).map((w, i) => first(w) - lastClosed(waves[i]!)),
      afterLastMs: approvedAt + result.totalRtoMs - lastClosed(waves.at(-1)!),
    },
    waveMs: waves.map((w) => lastClosed(w) - first(w)),
    machineBusy,
    lifecycleCalls,
  };
}

export async function runFailoverBenchmark(
  plan: FailoverPlan,
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<FailoverReport> {
  const { loadAtStart, benchStarted, run, workerEnv, config } = benchStart(stack);
  const serverUrls = config.postgres.regionUrls;
  const homeUrl = serverUrls[HOME];
  const standbyUrl = serverUrls[STANDBY];
  if (!homeUrl || !standbyUrl) throw new Error(`no Postgres server for ${HOME} or ${STANDBY}`);

  const calls: ActivityCall[] = [];
  const { landlord } = await startLandlordWithSink(stack, cleanup, {
    decorateActivities: timedActivities(calls),
  });
  log('starting the provisioning and data worker processes');
  const provisioning = await WorkerProcess.start('provisioning', workerEnv);
  cleanup(() => provisioning.stop());
  const data = await WorkerProcess.start('data', workerEnv);
  cleanup(() => data.stop());
  const client = new Client({
    connection: await Connection.connect({ address: stack.infra.temporalAddress }),
  });
  cleanup(() => client.connection.close());
  const operatorKey = await landlord.apiKey(`failover benchmark ${run}`, 'operator');

  const linkOf = (tenantId: string) =>
    siloLink({ tenantId, serverUrls, secret: stack.secret, home: HOME, standby: STANDBY });
  const onboard = async (ids: string[]) => {
    log(`onboarding ${ids.length} ${TIER} tenants in ${HOME}, ${plan.onboardConcurrency} at once`);
    const level = await runLevel(plan.onboardConcurrency, ids.length, async (i) => {
      const sample = await landlord.onboard(ids[i]!, { tier: TIER, timeoutMs: ONBOARDING_TIMEOUT_MS });
      log(`  ${ids[i]}: ${(sample.latencyMs / 1000).toFixed(1)} s`);
      return sample.latencyMs;
    });
    return level.wallMs;
  };
  // The application's connection: the tenant's own role, with a password of the benchmark's
  // (the application would use the one the silo stack generated, which only the stack keeps).
  const password = `bench-${randomBytes(18).toString('base64url')}`;
  const startWriter = async (ids: string[]) => {
    const targets = await Promise.all(
      ids.map(async (tenantId) => {
        const { database, role } = siloNames(tenantId);
        await withClient(withDatabase(homeUrl, 'postgres'), (c) =>
          c.query(`ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(password)}`),
        );
        const url = new URL(withDatabase(homeUrl, database));
        url.username = role;
        url.password = password;
        return { tenantId, url: url.toString() };
      }),
    );
    const writer = await FailoverWriter.start({ targets, intervalMs: plan.writeIntervalMs });
    cleanup(() => writer.stop());
    return writer;
  };
  const lagUnderLoad = async (ids: string[]) => {
    log(`measuring replication lag for ${plan.lagWindowMs / 1000} s under the write load`);
    const samples = await measureLag(ids.map(linkOf), plan);
    const lags = samples.flatMap((s) => (s.lagMs !== undefined ? [s.lagMs] : [])).sort((a, b) => a - b);
    log(`  ${samples.length} samples, median ${percentile(lags, 50)} ms, p95 ${percentile(lags, 95)} ms`);
    return samples;
  };
  /** The writer's figures once every tenant's writer has been stopped by its fence (or a few seconds more). */
  const writesAfterFence = async (writer: FailoverWriter) => {
    let writes = await writer.report();
    for (let waited = 0; writes.some((w) => !w.stopped) && waited < 5_000; waited += 250) {
      await sleep(250);
      writes = await writer.report();
    }
    await writer.stop();
    return checkWrites(writes, standbyUrl);
  };

  const { origins: standbyOrigins, version: standbyServerVersion } = await replicationOrigins(standbyUrl);
  const tenants = standbyOrigins === undefined ? plan.tenants : Math.min(plan.tenants, standbyOrigins - 1);
  if (tenants < plan.tenants)
    log(
      `${STANDBY}'s server tracks at most ${standbyOrigins} replication origins (max_active_replication_origins): ` +
        `${tenants} DR tenants a side, not ${plan.tenants}`,
    );
  const ids = (side: string) => Array.from({ length: tenants }, (_, i) => `fo-${run}-${side}${i}`);
  const landlordIds = ids('l');
  const bareIds = ids('b');

  const landlordSetMs = await onboard(landlordIds);
  const landlordWriter = await startWriter(landlordIds);
  const landlordLag = await lagUnderLoad(landlordIds);
  log(`region failover of ${HOME} by Landlord, waves of ${plan.waveSize}`);
  const landlordRun = await regionFailover(landlord, client, { operatorKey, waveSize: plan.waveSize, calls });
  log(`  total RTO ${(landlordRun.totalRtoMs / 1000).toFixed(2)} s`);
  const landlordWrites = await writesAfterFence(landlordWriter);

  // A region failover takes every DR tenant of the region: the baseline's tenants come after it.
  const bareSetMs = await onboard(bareIds);
  const bareWriter = await startWriter(bareIds);
  const bareLag = await lagUnderLoad(bareIds);
  log(`promoting ${bareIds.length} standbys by hand, waves of ${plan.waveSize}`);
  const bare = await metered(() => bareFailover(bareIds.map(linkOf), plan.waveSize));
  log(`  total ${(bare.value.totalMs / 1000).toFixed(2)} s`);
  const bareWrites = await writesAfterFence(bareWriter);

  return {
    date: new Date().toISOString(),
    plan,
    tenants,
    ...(standbyOrigins !== undefined ? { standbyOrigins } : {}),
    standbyServerVersion,
    onboarding: { landlordSetMs, bareSetMs },
    lag: { landlord: landlordLag, bare: bareLag },
    landlord: landlordRun,
    bare: { ...bare.value, machineBusy: bare.machineBusy },
    writes: { landlord: landlordWrites, bare: bareWrites },
    durationMs: performance.now() - benchStarted,
    loadAtStart,
    loadAtEnd: currentLoad(),
  };
}
