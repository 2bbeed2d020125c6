/**
 * The retention benchmark (`npm run bench -- retention`):
 *
 * 1. Deletion. Pool tenants (basic) and silo tenants (premium) onboarded through the API; rows
 *    seeded into their databases as the application would have written them, half of them past
 *    their policy (bench/retention-data.ts). Landlord deletes them with a real retention run
 *    (`POST /v1/retention/runs`, through Temporal, the tenant workflows, the data worker in a process
 *    of its own, evidence in the outbox and the ledger). The rows are then written again, identically,
 *    and a plain script deletes the same rows by ctid in batches of the same sizes
 *    (bench/ctid-baseline.ts). A writer process inserts into the same tables throughout, and its
 *    latency is compared with a quiet period right before each deletion.
 * 2. Fleet. A run over many tenants that have nothing to delete (bench/retention-fleet.ts): its
 *    wall time and how large its histories grow.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { withDatabase } from '../dataplane/connection.js';
import { siloDatabaseName } from '../domain/index.js';
import type { LedgerRecord, OperationSnapshot, RetentionRun, RetentionTenantPart } from '../domain/index.js';
import { tenantRoleName, tenantRolePassword } from '../activities/pool/index.js';
import { POOL_DATABASE } from '../activities/pool/names.js';
import { connectRegistry } from '../registry/index.js';
import type { PostgresRegistry } from '../registry/index.js';
import { runCtidBaseline } from './ctid-baseline.js';
import type { BaselineResult } from './ctid-baseline.js';
import { CpuMeter } from './cpu-time.js';
import type { CpuSplit } from './cpu-time.js';
import { InsertWriter } from './insert-writer.js';
import type { PhaseSamples, WriterTarget } from './insert-writer-main.js';
import { benchStart, startLandlordWithSink } from './landlord.js';
import type { Landlord } from './landlord.js';
import { runLevel } from './load.js';
import { currentLoad } from './report.js';
import { checkManifest, remaining, retentionDays, rowsPerTenant, seed, totalRows } from './retention-data.js';
import type { Remaining, SeededTableName, SeededTenant } from './retention-data.js';
import { runFleet } from './retention-fleet.js';
import type { FleetReport } from './retention-fleet.js';
import type { BenchStack } from './stack.js';
import { installPgTrace, pgTraceBetween, pgTraceTotals } from './pg-trace.js';
import type { QueryTotals } from './pg-trace.js';
import { ServerStats } from './pg-server-stats.js';
import type { ServerActivity } from './pg-server-stats.js';
import { WaitSampler } from './wait-sampler.js';
import type { WaitProfile } from './wait-sampler.js';
import { WorkerProcess } from './worker-process.js';

const REGION = 'local-a';
const PG_TRACE = fileURLToPath(new URL('./pg-trace.ts', import.meta.url));
const POOL_TIER = 'basic';
const SILO_TIER = 'premium';

export interface RetentionPlan {
  /** A smoke run or other sizes than the defaults: the docs are left alone. */
  quick: boolean;
  rows: number;
  poolTenants: number;
  siloTenants: number;
  /** Writer inserts per second, over all its tenants. */
  writerRate: number;
  /** Pool tenants the writer writes for (each on its own role's connection), besides every silo. */
  writerPoolTenants: number;
  /** The writer alone before each deletion. */
  quietMs: number;
  /** Tenants in the run with nothing to delete (those above included); 0 skips it. */
  fleet: number;
  /** Only the fleet run (for investigating it). */
  skipDeletion: boolean;
}

function positiveInteger(env: NodeJS.ProcessEnv, key: string, fallback: number, min = 1): number {
  const value = env[key] === undefined ? fallback : Number(env[key]);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${key} must be an integer of at least ${min}`);
  return value;
}

const SIZE_KEYS = [
  'BENCH_RETENTION_ROWS',
  'BENCH_RETENTION_POOL_TENANTS',
  'BENCH_RETENTION_SILO_TENANTS',
  'BENCH_RETENTION_QUIET_S',
  'BENCH_RETENTION_WRITER_RATE',
  'BENCH_RETENTION_SKIP_DELETION',
];

/** The fleet the issue asks for. */
export const FLEET_TARGET = 10_000;
/**
 * The fleet run measured by default: what this 2-CPU machine goes through in about ten minutes
 * (~7 parts/s); the report extrapolates to FLEET_TARGET, marked as such.
 */
export const FLEET_DEFAULT = 4_000;

/**
 * BENCH_QUICK=1: a smoke run (50,000 rows over 10 + 1 tenants, a fleet of 300). The other
 * BENCH_RETENTION_* variables set other sizes; either way the docs stay as they are.
 * BENCH_RETENTION_FLEET sets the fleet's size alone and still updates the docs (10000: the whole
 * fleet, on a machine that has the time).
 */
export function retentionPlanFrom(env: NodeJS.ProcessEnv): RetentionPlan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const custom = SIZE_KEYS.some((key) => env[key] !== undefined);
  return {
    quick: quick || custom,
    rows: positiveInteger(env, 'BENCH_RETENTION_ROWS', quick ? 50_000 : 1_000_000),
    poolTenants: positiveInteger(env, 'BENCH_RETENTION_POOL_TENANTS', quick ? 10 : 50),
    siloTenants: positiveInteger(env, 'BENCH_RETENTION_SILO_TENANTS', quick ? 1 : 2, 0),
    writerRate: positiveInteger(env, 'BENCH_RETENTION_WRITER_RATE', 200),
    writerPoolTenants: 10,
    quietMs: positiveInteger(env, 'BENCH_RETENTION_QUIET_S', quick ? 10 : 30) * 1000,
    fleet: positiveInteger(env, 'BENCH_RETENTION_FLEET', quick ? 300 : FLEET_DEFAULT, 0),
    skipDeletion: env.BENCH_RETENTION_SKIP_DELETION === '1',
  };
}

/** CPU seconds of a phase: the region's Postgres server (deletions, the writer's inserts), the
 * registry's, Temporal, this process (API, lifecycle worker, baseline script), the data worker and
 * the writer, each with what runs under it. */
export type PhaseCpu = CpuSplit<'regionPostgres' | 'registryPostgres' | 'temporal' | 'dataWorker' | 'writer'>;

export interface WriterStats {
  count: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 from handed to its connection to answer (without delays in the writer's own process). */
  serviceP99: number;
}

export interface PhaseMeasures {
  writer: WriterStats;
  cpu: PhaseCpu;
  waits: WaitProfile;
  waitSamples: number;
  /** Commits, WAL and WAL fsyncs of the region's and the registry's Postgres servers. */
  servers: { region: ServerActivity; registry: ServerActivity };
}

export interface DeletionPhase {
  label: 'landlord' | 'baseline';
  wallMs: number;
  rows: number;
  batches: number;
  quiet: PhaseMeasures;
  during: PhaseMeasures;
  /** Statement time during the deletion (bench/pg-trace.ts): the data worker's, and this process's. */
  queries: { dataWorker: QueryTotals; bench: QueryTotals };
}

/** Where a Landlord run's time went, summed over its tenants' parts (tenant-seconds). */
export interface LandlordBreakdown {
  parts: number;
  /** From the run's record to its end, by the registry's clock. */
  runMs: number;
  /** Tenant operation accepted → delete step started (workflow tasks, child start, activity dispatch). */
  beforeDeleteMs: number;
  /** The delete step: counting, then batches with their evidence, holds read before each. */
  deleteMs: number;
  /** Forwarding the outbox to the ledger. */
  evidenceMs: number;
  /** Operation ended → part recorded with the run (the run's activity notices and writes). */
  recordPartMs: number;
  /** Batch sizes Landlord chose (and the baseline replayed). */
  batchSizes: { min: number; p50: number; max: number; mean: number };
  ledgerRecords: number;
  ledgerVerified: boolean;
  /** Tables whose share of expired rows was over the guard (deleted because the run was forced). */
  guardForced: number;
  /** The longest any batch held its locks (the parts' reports), against the lock budget. */
  longestBatchMs: number;
}

export interface RetentionReport {
  date: string;
  plan: RetentionPlan;
  concurrency: number;
  lockBudgetMs: number;
  guardShare: number;
  tenants: { pool: number; silo: number; poolRows: number; siloRows: number };
  seededRows: number;
  expiredRows: number;
  seedMs: number;
  landlord?: DeletionPhase;
  baseline?: DeletionPhase & { selectMs: number; batchP50Ms: number; batchP99Ms: number };
  breakdown?: LandlordBreakdown;
  remainingMatch?: boolean;
  /** The writer over both quiet windows together: the reference for its latency with no deletion. */
  writerQuiet?: WriterStats;
  fleet?: FleetReport;
  durationMs: number;
  loadAtStart: number[];
  loadAtEnd: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sortedCopy = (values: number[]) => [...values].sort((a, b) => a - b);
const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

function writerStats(samples: PhaseSamples | undefined): WriterStats {
  const latencies = sortedCopy(samples?.latencies ?? []);
  const service = sortedCopy(samples?.service ?? []);
  return {
    count: latencies.length,
    errors: samples?.errors ?? 0,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    serviceP99: pct(service, 99),
  };
}

/** Follows a retention run until it ends; returns it with all its parts. */
async function followRun(
  landlord: Landlord,
  runId: string,
  { pollMs = 100, onProgress }: { pollMs?: number; onProgress?: (run: RetentionRun) => void } = {},
): Promise<{ run: RetentionRun; parts: RetentionTenantPart[] }> {
  const path = `/v1/retention/runs/${encodeURIComponent(runId)}`;
  for (;;) {
    const { status, body } = await landlord.api('GET', `${path}?limit=1`);
    if (status !== 200) throw new Error(`GET ${path} answered ${status}: ${JSON.stringify(body)}`);
    const run = body as unknown as RetentionRun;
    onProgress?.(run);
    if (run.status !== 'running') {
      const parts: RetentionTenantPart[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await landlord.api(
          'GET',
          `${path}?limit=500${after ? `&afterTenant=${encodeURIComponent(after)}` : ''}`,
        );
        parts.push(...(page.body.parts as RetentionTenantPart[]));
        after = page.body.nextAfterTenant as string | undefined;
        if (!after) break;
      }
      return { run, parts };
    }
    await sleep(pollMs);
  }
}

/** Starts a retention run through the API; returns its id. */
export async function startRun(landlord: Landlord, body: Record<string, unknown>): Promise<string> {
  const { status, body: run } = await landlord.api('POST', '/v1/retention/runs', body);
  if (status !== 202) throw new Error(`POST /v1/retention/runs answered ${status}: ${JSON.stringify(run)}`);
  return String(run.id);
}

async function ledgerOf(store: PostgresRegistry, runId: string): Promise<LedgerRecord[]> {
  const records: LedgerRecord[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await store.ledger.list({ kind: 'retention.delete', afterSeq, limit: 1000 });
    records.push(...page.filter((r) => r.runId === runId));
    if (page.length < 1000) return records;
    afterSeq = page.at(-1)!.seq;
  }
}

const span = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : 0);

async function breakdownOf(
  store: PostgresRegistry,
  run: RetentionRun,
  parts: RetentionTenantPart[],
  ledger: LedgerRecord[],
): Promise<LandlordBreakdown> {
  const b: LandlordBreakdown = {
    parts: parts.length,
    runMs: span(run.createdAt, run.finishedAt),
    beforeDeleteMs: 0,
    deleteMs: 0,
    evidenceMs: 0,
    recordPartMs: 0,
    batchSizes: { min: 0, p50: 0, max: 0, mean: 0 },
    ledgerRecords: ledger.length,
    ledgerVerified: (await store.ledger.verify()).ok,
    guardForced: parts.flatMap((p) => p.tables).filter((t) => t.guard === 'forced').length,
    longestBatchMs: Math.max(0, ...parts.flatMap((p) => p.tables.map((t) => t.longestBatchMs))),
  };
  for (const part of parts) {
    const op = (await store.operations.get(part.operationId!)) as OperationSnapshot;
    const step = (name: string) => op.steps.find((s) => s.name === name);
    const del = step('delete-expired');
    const evidence = step('record-evidence');
    b.beforeDeleteMs += span(op.createdAt, del?.startedAt);
    b.deleteMs += span(del?.startedAt, del?.finishedAt);
    b.evidenceMs += span(evidence?.startedAt, evidence?.finishedAt);
    b.recordPartMs += span(op.finishedAt, part.recordedAt);
  }
  const sizes = sortedCopy(ledger.map((r) => r.count));
  b.batchSizes = {
    min: sizes[0] ?? 0,
    p50: pct(sizes, 50),
    max: sizes.at(-1) ?? 0,
    mean: sizes.reduce((a, v) => a + v, 0) / Math.max(1, sizes.length),
  };
  return b;
}

export async function runRetentionBenchmark(
  plan: RetentionPlan,
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<RetentionReport> {
  const { loadAtStart, benchStarted, run, workerEnv, config } = benchStart(stack);
  checkManifest(config.manifest);
  const { landlord } = await startLandlordWithSink(stack, cleanup);
  const client = new Client({
    connection: await Connection.connect({ address: stack.infra.temporalAddress }),
  });
  cleanup(() => client.connection.close());
  const store = connectRegistry(config.postgres.registryUrl!, 4);
  cleanup(() => store.close());
  installPgTrace();
  log('starting the data worker process');
  const traceFile = join(stack.dir, 'data-worker-queries.json');
  const dataWorker = await WorkerProcess.start(
    'data',
    { ...workerEnv, BENCH_PG_TRACE_FILE: traceFile },
    { nodeArgs: ['--import', PG_TRACE] },
  );
  cleanup(() => dataWorker.stop());
  /** The data worker's statement totals so far: it writes them on SIGWINCH. */
  const workerQueries = async (): Promise<QueryTotals> => {
    rmSync(traceFile, { force: true });
    process.kill(dataWorker.pid, 'SIGWINCH');
    for (let tries = 0; ; tries++) {
      await sleep(100);
      try {
        return JSON.parse(readFileSync(traceFile, 'utf8')) as QueryTotals;
      } catch (err) {
        if (tries > 50) throw err;
      }
    }
  };
  const pidOf = (id: string) => stack.infra.postgres.find((s) => s.id === id)?.pid ?? 0;
  const pids = {
    regionPostgres: pidOf(REGION),
    registryPostgres: pidOf('registry'),
    temporal: stack.infra.temporal?.pid ?? 0,
    dataWorker: dataWorker.pid,
  };

  const serverUrl = config.postgres.regionUrls[REGION]!;
  const poolUrl = withDatabase(serverUrl, POOL_DATABASE);
  const sizes = rowsPerTenant(plan.rows, plan.poolTenants, plan.siloTenants);
  const tenants: SeededTenant[] = [
    ...Array.from({ length: plan.poolTenants }, (_, i) => ({
      id: `rp-${run}-${i.toString().padStart(3, '0')}`,
      tier: POOL_TIER,
      deploymentModel: 'pool' as const,
      url: poolUrl,
      rows: sizes.pool,
      days: retentionDays(config.retention, POOL_TIER),
    })),
    ...Array.from({ length: plan.siloTenants }, (_, i) => {
      const id = `rs-${run}-${i}`;
      return {
        id,
        tier: SILO_TIER,
        deploymentModel: 'silo' as const,
        url: withDatabase(serverUrl, siloDatabaseName(id)),
        rows: sizes.silo,
        days: retentionDays(config.retention, SILO_TIER),
      };
    }),
  ];
  const seededRows = tenants.reduce((n, t) => n + totalRows(t), 0);
  const expiredRows = seededRows / 2;

  const report: RetentionReport = {
    date: new Date().toISOString(),
    plan,
    concurrency: config.retention.concurrency,
    lockBudgetMs: config.retention.lockBudgetMs,
    guardShare: config.retention.guardShare,
    tenants: {
      pool: plan.poolTenants,
      silo: plan.siloTenants,
      poolRows: totalRows({ rows: sizes.pool } as SeededTenant),
      siloRows: totalRows({ rows: sizes.silo } as SeededTenant),
    },
    seededRows,
    expiredRows,
    seedMs: 0,
    durationMs: 0,
    loadAtStart,
    loadAtEnd: [],
  };

  if (!plan.skipDeletion) {
    log(`onboarding ${plan.poolTenants} ${POOL_TIER} and ${plan.siloTenants} ${SILO_TIER} tenants`);
    const pool = tenants.filter((t) => t.deploymentModel === 'pool');
    const silos = tenants.filter((t) => t.deploymentModel === 'silo');
    await runLevel(8, pool.length, async (i) => (await landlord.onboard(pool[i]!.id)).latencyMs);
    if (silos.length > 0) {
      const provisioning = await WorkerProcess.start('provisioning', workerEnv);
      try {
        await runLevel(
          2,
          silos.length,
          async (i) =>
            (await landlord.onboard(silos[i]!.id, { tier: SILO_TIER, timeoutMs: 300_000 })).latencyMs,
        );
      } finally {
        // Idle from here on; stopped so that it takes nothing from the measurements.
        await provisioning.stop();
      }
    }

    const anchor = new Date().toISOString();
    log(`seeding ${seededRows.toLocaleString('en')} rows (${expiredRows.toLocaleString('en')} expired)`);
    const seedStarted = performance.now();
    await seed(tenants, anchor);
    report.seedMs = performance.now() - seedStarted;
    log(`  ${(report.seedMs / 1000).toFixed(1)} s`);

    const writerTargets: WriterTarget[] = [
      ...tenants
        .filter((t) => t.deploymentModel === 'pool')
        .slice(0, plan.writerPoolTenants)
        .map((t) => {
          const u = new URL(poolUrl);
          u.username = encodeURIComponent(tenantRoleName(t.id));
          u.password = encodeURIComponent(tenantRolePassword(stack.secret, REGION, t.id));
          return { tenantId: t.id, url: u.toString() };
        }),
      // A silo tenant's own role has a generated password Landlord does not keep: the writer uses the
      // server's superuser in the silo's database instead.
      ...tenants.filter((t) => t.deploymentModel === 'silo').map((t) => ({ tenantId: t.id, url: t.url })),
    ];
    const writer = await InsertWriter.start({ targets: writerTargets, rate: plan.writerRate });
    cleanup(() => writer.stop());
    const waits = await new WaitSampler(withDatabase(serverUrl, 'postgres')).start();
    cleanup(() => waits.stop());
    const cpu = new CpuMeter({ ...pids, writer: writer.pid });

    const regionStats = await new ServerStats(withDatabase(serverUrl, 'postgres')).start();
    cleanup(() => regionStats.stop());
    const registryStats = await new ServerStats(
      withDatabase(config.postgres.registryUrl!, 'postgres'),
    ).start();
    cleanup(() => registryStats.stop());
    const readServers = async () => ({
      region: await regionStats.read(),
      registry: await registryStats.read(),
    });
    type Servers = Awaited<ReturnType<typeof readServers>>;
    const serversBetween = (a: Servers, b: Servers) => ({
      region: ServerStats.between(a.region, b.region),
      registry: ServerStats.between(a.registry, b.registry),
    });

    /** The writer alone for the quiet period, then `work` with the writer going on. */
    const measured = async (
      label: 'landlord' | 'baseline',
      work: () => Promise<{ rows: number; batches: number }>,
    ): Promise<DeletionPhase> => {
      log(`${label}: the writer alone for ${plan.quietMs / 1000} s`);
      // The data worker is idle until the deletion: its totals now are its totals then.
      const workerBefore = await workerQueries();
      waits.take();
      const quietServers = await readServers();
      const quietFrom = cpu.now();
      writer.phase(`quiet-${label}`);
      await sleep(plan.quietMs);
      const quietTo = cpu.now();
      const quietWaits = waits.take();
      const duringServers = await readServers();
      const benchBefore = pgTraceTotals();
      writer.phase(label);
      log(`${label}: deleting`);
      const started = performance.now();
      const done = await work();
      const wallMs = performance.now() - started;
      const duringTo = cpu.now();
      const duringWaits = waits.take();
      const endServers = await readServers();
      const queries = {
        dataWorker: pgTraceBetween(workerBefore, await workerQueries()),
        bench: pgTraceBetween(benchBefore, pgTraceTotals()),
      };
      writer.phase(null);
      await sleep(1000);
      const samples = await writer.report();
      const phase: DeletionPhase = {
        label,
        wallMs,
        ...done,
        quiet: {
          writer: writerStats(samples[`quiet-${label}`]),
          cpu: cpu.between(quietFrom, quietTo),
          waits: quietWaits.profile,
          waitSamples: quietWaits.samples,
          servers: serversBetween(quietServers, duringServers),
        },
        during: {
          writer: writerStats(samples[label]),
          cpu: cpu.between(quietTo, duringTo),
          waits: duringWaits.profile,
          waitSamples: duringWaits.samples,
          servers: serversBetween(duringServers, endServers),
        },
        queries,
      };
      if (phase.quiet.writer.errors + phase.during.writer.errors > 0)
        throw new Error(`the writer's inserts failed: ${JSON.stringify(samples)}`);
      log(
        `${label}: ${done.rows} rows in ${(wallMs / 1000).toFixed(1)} s (${(done.rows / (wallMs / 1000)).toFixed(0)} rows/s); writer p99 ${phase.quiet.writer.p99.toFixed(1)} ms quiet, ${phase.during.writer.p99.toFixed(1)} ms during`,
      );
      return phase;
    };

    const ids = tenants.map((t) => t.id);
    let ledger: LedgerRecord[] = [];
    let runRecord: { run: RetentionRun; parts: RetentionTenantPart[] } | undefined;
    report.landlord = await measured('landlord', async () => {
      const runId = await startRun(landlord, { tenants: ids, force: true });
      runRecord = await Promise.race([followRun(landlord, runId), dataWorker.died]);
      return { rows: runRecord.run.totals.deleted, batches: 0 };
    });
    const { run: landlordRun, parts } = runRecord!;
    if (landlordRun.status !== 'succeeded' || landlordRun.totals.failedTenants > 0)
      throw new Error(`the retention run ended ${landlordRun.status}: ${JSON.stringify(landlordRun)}`);
    if (landlordRun.totals.deleted !== expiredRows)
      throw new Error(`the run deleted ${landlordRun.totals.deleted} rows, ${expiredRows} were expired`);
    ledger = await ledgerOf(store, landlordRun.id);
    report.landlord.batches = ledger.length;
    if (ledger.reduce((n, r) => n + r.count, 0) !== expiredRows)
      throw new Error('the ledger does not account for every deleted row');
    report.breakdown = await breakdownOf(store, landlordRun, parts, ledger);
    const afterLandlord = await remaining(tenants);

    log('writing the same rows again for the baseline');
    await seed(tenants, anchor);
    const batchSizes = new Map<string, number[]>();
    for (const r of ledger) {
      const key = `${r.tenantId}/${r.target}`;
      batchSizes.set(key, [...(batchSizes.get(key) ?? []), r.count]);
    }
    let baseline: BaselineResult | undefined;
    const baselinePhase = await measured('baseline', async () => {
      baseline = await runCtidBaseline(
        tenants,
        config.retention.concurrency,
        (tenantId: string, table: SeededTableName) => batchSizes.get(`${tenantId}/${table}`) ?? [],
      );
      return { rows: baseline.rows, batches: baseline.batches };
    });
    const batchMs = sortedCopy(baseline!.batchMs);
    report.baseline = {
      ...baselinePhase,
      selectMs: baseline!.selectMs,
      batchP50Ms: pct(batchMs, 50),
      batchP99Ms: pct(batchMs, 99),
    };
    const all = await writer.report();
    report.writerQuiet = writerStats(mergeSamples(all['quiet-landlord'], all['quiet-baseline']));
    const afterBaseline = await remaining(tenants);
    report.remainingMatch = sameRemaining(afterLandlord, afterBaseline);
    if (!report.remainingMatch)
      throw new Error(
        `Landlord and the baseline left different rows: ${JSON.stringify({ afterLandlord, afterBaseline })}`,
      );
    if (baseline!.rows !== expiredRows)
      throw new Error(`the baseline deleted ${baseline!.rows} rows, ${expiredRows} were expired`);
    await writer.stop();
    await waits.stop();
    await regionStats.stop();
    await registryStats.stop();
  }

  if (plan.fleet > 0) {
    report.fleet = await Promise.race([
      runFleet({
        count: plan.fleet,
        run,
        landlord,
        client,
        store,
        config,
        dataDir: stack.dir,
        pids,
        startRun,
        followRun,
      }),
      dataWorker.died,
    ]);
  }

  report.durationMs = performance.now() - benchStarted;
  report.loadAtEnd = currentLoad();
  return report;
}

function mergeSamples(...phases: (PhaseSamples | undefined)[]): PhaseSamples {
  return {
    latencies: phases.flatMap((p) => p?.latencies ?? []),
    service: phases.flatMap((p) => p?.service ?? []),
    errors: phases.reduce((n, p) => n + (p?.errors ?? 0), 0),
  };
}

function sameRemaining(a: Remaining, b: Remaining): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((k) => a[k]!.rows === b[k]?.rows && a[k]!.digest === b[k]?.digest)
  );
}
