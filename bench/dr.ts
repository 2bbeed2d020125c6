/**
 * The disaster-recovery benchmark (`npm run bench -- backup`, or `-- dr` with the failover benchmark): a pool tenant holding a million rows
 * backed up and restored by Landlord's data activities, against the same COPY out and in run bare
 * on the same database in the same run.
 *
 * - Rows (bench/dr-data.ts): two pool tenants onboarded through the API (the measured one, and one
 *   with nothing but its admin user for the fixed cost of a backup operation); the measured one's
 *   rows written straight into the region's pool database between two other tenants' rows.
 * - Rounds: the backup activity `takeTenantBackup` and the bare COPY out (bench/dr-baseline.ts),
 *   alternating which goes first; then the restore as a pool restore operation's data steps run it
 *   (`stageTenantRestore`, `switchRestoredTenant`) and the bare restore, alternating too, each from
 *   the same settled tables (VACUUM ANALYZE, CHECKPOINT); then `verifyBackupRestore` of the
 *   round's backup (a scratch database); then a `backup` operation through the API, of the tenant
 *   and of the empty one, on the data worker in a process of its own (`workers/data.ts`).
 * - Checks: the bare COPY text is the backup's byte for byte (the catalog's SHA-256 per table), and
 *   after every restore the tenant's rows read back as the backup recorded them.
 * - Profile, after the rounds and not in their figures: a CPU profile of this process for one
 *   backup and one restore each way, every statement's time in every measured run
 *   (bench/dr-trace.ts), each stage of the archive's own work timed alone on the COPY text in memory
 *   (bench/dr-stages.ts), and one restore each way with the index that documents' foreign key to
 *   projects lacks (deleting a tenant's projects otherwise reads its documents once per project).
 *
 * The activities run in this process with MockActivityEnvironment from @temporalio/testing, over
 * the registry, a TenantKeyring and a LocalBackupObjectStore in a folder of the run's own.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { localBackupsRoot, LocalBackupObjectStore } from '../activities/backups/local-object-store.js';
import type { BackupVerificationResult } from '../activities/data/backup.js';
import { createDataActivities } from '../activities/data/index.js';
import type { StageRestoreInput, StagedRestore, SwitchedRestore } from '../activities/data/restore.js';
import { localKek, TenantKeyring } from '../activities/keys/index.js';
import { PoolDirectory } from '../activities/pool/directory.js';
import { POOL_DATABASE } from '../activities/pool/names.js';
import { withDatabase } from '../dataplane/connection.js';
import type { OperationSnapshot, TenantBackup } from '../domain/index.js';
import { connectRegistry } from '../registry/index.js';
import { CpuMeter } from './cpu-time.js';
import { profiled } from './cpu-profile.js';
import type { FrameClassifier, ProfileSummary } from './cpu-profile.js';
import { bareBackup, bareRestore, tablePlans, tenantDigest } from './dr-baseline.js';
import type { BareBackup, BareRestore } from './dr-baseline.js';
import {
  checkDrManifest,
  settleTables,
  shapeRows,
  tenantCounts,
  withConnection,
  writeTenants,
} from './dr-data.js';
import type { TenantShape } from './dr-data.js';
import { measureStages } from './dr-stages.js';
import type { StageTiming } from './dr-stages.js';
import { drTraceTotals, installDrTrace } from './dr-trace.js';
import { benchStart, startLandlordWithSink } from './landlord.js';
import type { Landlord } from './landlord.js';
import { pgTraceBetween } from './pg-trace.js';
import type { QueryTotals } from './pg-trace.js';
import { currentLoad } from './report.js';
import type { BenchStack } from './stack.js';
import { WorkerProcess } from './worker-process.js';

const REGION = 'local-a';
const TIER = 'basic';
/** The pause before each operation through the API: the tenant workflow takes in the previous one's end. */
const SETTLE_MS = 500;
/** The pause before a run's CPU is read at its end: its connection's backend has exited by then. */
const CPU_SETTLE_MS = 250;
/** The index the example schema lacks for the foreign key from documents to projects (measured as a variant). */
export const PROJECT_INDEX = 'CREATE INDEX bench_documents_project ON documents (tenant_id, project_id)';

export interface DrPlan {
  /** A smoke run: ~50,000 rows, two rounds, the docs left alone. */
  quick: boolean;
  /** The measured tenant's rows as written (onboarding's admin user comes on top). */
  shape: TenantShape;
  /** Each of the two other tenants' rows around it. */
  neighbour: TenantShape;
  rounds: number;
  /** Restores each way with PROJECT_INDEX, after the rounds. */
  indexRounds: number;
}

/** 9,999 users (and the admin onboarding made), 100 projects, 390,000 documents, 599,900 activity rows: 1,000,000. */
export const FULL_SHAPE: TenantShape = { users: 9_999, projects: 100, documents: 390_000, activity: 599_900 };
/** BENCH_QUICK's tenant: 50,000 rows with the admin user. */
export const QUICK_SHAPE: TenantShape = { users: 499, projects: 5, documents: 19_500, activity: 29_995 };
const half = (s: TenantShape): TenantShape => ({
  users: Math.ceil(s.users / 2),
  projects: Math.ceil(s.projects / 2),
  documents: s.documents / 2,
  activity: Math.ceil(s.activity / 2),
});

/** BENCH_QUICK=1: ~50,000 rows, two rounds; the docs stay as they are. */
export function drPlanFrom(env: NodeJS.ProcessEnv): DrPlan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const shape = quick ? QUICK_SHAPE : FULL_SHAPE;
  return { quick, shape, neighbour: half(shape), rounds: quick ? 2 : 5, indexRounds: quick ? 1 : 3 };
}

/** CPU seconds over a run: this process (the activity or the script), the region's Postgres, the machine. */
export interface CpuUse {
  node: number;
  postgres: number;
  machine: number;
  /** How long the reading spanned: the run and the pause after it. */
  spanMs: number;
}

/** One timed run: wall time, CPU, and the statements this process sent meanwhile. */
export interface Timed {
  wallMs: number;
  cpu: CpuUse;
  queries: QueryTotals;
}

/** A backup operation through the API: `POST /v1/tenants/{id}/backups` to `succeeded`. */
export interface ApiBackup {
  operationId: string;
  totalMs: number;
  acceptMs: number;
  /** The `snapshot` step (the data worker's takeTenantBackup, dispatch to completion). */
  snapshotMs: number;
  /** The `expire-backups` step. */
  expireMs: number;
  rows: number;
  bytes: number;
}

export interface DrRound {
  round: number;
  landlordFirst: boolean;
  /** The machine's 1-minute load average as the round began. */
  load1: number;
  backup: { landlord: Timed & { backup: TenantBackup }; baseline: Timed & { bare: BareBackup } };
  restore: {
    landlord: { stage: Timed & { staged: StagedRestore }; switch: Timed & { switched: SwitchedRestore } };
    baseline: Timed & { bare: BareRestore };
  };
  verify: Timed & { result: BackupVerificationResult };
  api: { tenant: ApiBackup; empty: ApiBackup };
}

/** One run under the CPU profiler. */
export interface ProfiledRun {
  wallMs: number;
  summary: ProfileSummary;
}

/** CPU profiles of one backup and one restore each way, after the rounds. */
export interface DrProfile {
  backup: { landlord: ProfiledRun; bare: ProfiledRun };
  restore: { landlord: ProfiledRun; bare: ProfiledRun };
}

/** Restores each way with the index PROJECT_INDEX in place, after the rounds, alternating which goes first. */
export interface IndexVariant {
  index: string;
  runs: {
    landlordFirst: boolean;
    landlord: { stage: Timed; switch: Timed };
    bare: Timed & { bare: BareRestore };
  }[];
}

export interface DrReport {
  date: string;
  plan: DrPlan;
  tenants: { measured: string; empty: string; neighbours: string[] };
  /** The measured tenant's rows per table, and in all. */
  tableRows: Record<string, number>;
  rows: number;
  /** Its COPY text per table (bytes), as the bare backup wrote it. */
  copyBytes: Record<string, number>;
  /** Rows of the pool's tables in all, every tenant's. */
  poolRows: number;
  seedMs: number;
  rounds: DrRound[];
  /** Every bare backup's text was the Landlord backup's, byte for byte; every restore read back as backed up. */
  identical: { backupText: boolean; restores: boolean };
  profile: DrProfile;
  withProjectIndex: IndexVariant;
  stages: { backup: StageTiming[]; restore: StageTiming[] };
  durationMs: number;
  loadAtStart: number[];
  loadAtEnd: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const span = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : Number.NaN);

/** What a frame of the backup and restore paths spends its time on, for the CPU profile. */
export const classifyFrame: FrameClassifier = ({ functionName, url }) => {
  if (functionName === '(idle)') return 'idle: waiting for Postgres or the disk';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8 and native code, not attributed';
  if (url.includes('node:internal/crypto/hash')) return 'SHA-256';
  if (url.includes('node:internal/crypto/cipher')) return 'AES-256-GCM';
  if (url.includes('/keys/sealed-file.ts')) return 'sealing and opening (framing, copies)';
  if (/\/(tar-stream|streamx|b4a|fast-fifo|text-decoder|bare-events)\//.test(url))
    return 'tar (tar-stream, streamx)';
  if (url.includes('/backups/archive.ts'))
    return functionName === 'linesIn' ? 'counting rows' : 'archive: chunking and copies';
  if (url.includes('/pg-copy-streams/')) return 'COPY stream (pg-copy-streams)';
  if (/\/node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//.test(url)) return 'pg client';
  if (url.startsWith('node:internal/fs') || url === 'node:fs') return 'files';
  if (url.startsWith('node:internal/streams') || url.startsWith('node:stream')) return 'Node streams';
  if (url.includes('/@temporalio/')) return 'Temporal SDK';
  return undefined;
};

/** Follows an operation by long poll until it has succeeded; throws if it ends otherwise. */
async function followOperation(landlord: Landlord, operationId: string): Promise<OperationSnapshot> {
  const started = performance.now();
  for (;;) {
    const { status, body } = await landlord.api(
      'GET',
      `/v1/operations/${encodeURIComponent(operationId)}?wait=30s`,
    );
    if (status !== 200)
      throw new Error(`GET /v1/operations/${operationId} answered ${status}: ${JSON.stringify(body)}`);
    const op = body as unknown as OperationSnapshot;
    if (op.status === 'succeeded') return op;
    if (op.status !== 'running')
      throw new Error(`operation ${operationId} ended ${op.status}: ${JSON.stringify(op.error)}`);
    if (performance.now() - started > 600_000) throw new Error(`operation ${operationId} still running`);
  }
}

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

export async function runDrBenchmark(
  plan: DrPlan,
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<DrReport> {
  const { loadAtStart, benchStarted, run, workerEnv, config } = benchStart(stack);
  checkDrManifest(config.manifest);
  installDrTrace();
  const { landlord } = await startLandlordWithSink(stack, cleanup);
  const registry = connectRegistry(config.postgres.registryUrl!, 4);
  cleanup(() => registry.close());
  const directory = new PoolDirectory(config.postgres.regionUrls);
  cleanup(() => directory.close());
  log('starting the data worker process');
  const dataWorker = await WorkerProcess.start('data', workerEnv);
  cleanup(() => dataWorker.stop());

  const serverUrl = config.postgres.regionUrls[REGION]!;
  const poolUrl = withDatabase(serverUrl, POOL_DATABASE);
  const folder = join(stack.dir, 'bench-dr');
  const bareFolder = join(folder, 'bare');
  const backupsRoot = join(folder, 'backups');
  mkdirSync(bareFolder, { recursive: true });
  const objects = new LocalBackupObjectStore(backupsRoot);
  const apiObjects = new LocalBackupObjectStore(localBackupsRoot(stack.dir));
  const keyring = new TenantKeyring({ store: registry.tenantKeys, kek: localKek(stack.secret) });
  const activities = createDataActivities({
    directory,
    manifest: config.manifest,
    store: registry,
    secret: stack.secret,
    retention: config.retention,
    keyring,
    backups: objects,
    migrationsDir: config.migrationsDir,
  });
  const pids = {
    postgres: stack.infra.postgres.find((s) => s.id === REGION)?.pid ?? 0,
  };
  const meter = new CpuMeter(pids);

  const tenants = {
    measured: `dr-${run}-tenant`,
    empty: `dr-${run}-empty`,
    neighbours: [`dr-${run}-before`, `dr-${run}-after`],
  };
  const tenant = { id: tenants.measured, tier: TIER, region: REGION, deploymentModel: 'pool' as const };
  log(`onboarding 2 ${TIER} pool tenants`);
  for (const id of [tenants.measured, tenants.empty]) await landlord.onboard(id, { tier: TIER });

  const expectedRows = shapeRows(plan.shape) + 1;
  log(
    `writing ${expectedRows.toLocaleString('en')} rows of ${tenants.measured} between two other tenants' ` +
      `${shapeRows(plan.neighbour).toLocaleString('en')} each, into ${POOL_DATABASE}`,
  );
  const seedStarted = performance.now();
  const { tableRows, poolRows, plans } = await withConnection(poolUrl, async (c) => {
    const [before, after] = tenants.neighbours;
    await writeTenants(
      c,
      [
        { id: before!, shape: plan.neighbour },
        { id: tenants.measured, shape: plan.shape },
        { id: after!, shape: plan.neighbour },
      ],
      new Date().toISOString(),
    );
    await settleTables(c);
    const counts = await tenantCounts(c, tenants.measured);
    const total = Object.values(counts).reduce((n, v) => n + v, 0);
    if (total !== expectedRows)
      throw new Error(
        `${tenants.measured} holds ${total} rows, not ${expectedRows}: ${JSON.stringify(counts)}`,
      );
    const { rows } = await c.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM app_users) + (SELECT count(*) FROM projects)
            + (SELECT count(*) FROM documents) + (SELECT count(*) FROM activity_log) AS n`,
    );
    return {
      tableRows: counts as Record<string, number>,
      poolRows: Number(rows[0]!.n),
      plans: await tablePlans(c, config.manifest, tenants.measured),
    };
  });
  const seedMs = performance.now() - seedStarted;
  log(`  ${(seedMs / 1000).toFixed(1)} s`);

  const checkpoint = () => withConnection(poolUrl, (c) => c.query('CHECKPOINT'));
  const settle = () => withConnection(poolUrl, (c) => settleTables(c));
  /** Runs `work`, timed, with this process's and the region Postgres's CPU and the statements it sent. */
  const measure = async <T>(work: () => Promise<T>): Promise<Timed & { value: T }> => {
    const [queries, cpu] = [drTraceTotals(), meter.now()];
    const started = performance.now();
    const value = await work();
    const wallMs = performance.now() - started;
    // A backend's time moves to the postmaster once it has exited and been reaped: read after that.
    await sleep(CPU_SETTLE_MS);
    const used = meter.between(cpu, meter.now());
    return {
      value,
      wallMs,
      cpu: { node: used.self, postgres: used.postgres, machine: used.machine, spanMs: used.wallMs },
      queries: pgTraceBetween(queries, drTraceTotals()),
    };
  };
  const mock = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
    new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
  const restoreInput = (backup: TenantBackup, name: string): StageRestoreInput => ({
    operationId: `dr-${run}-restore-${name}`,
    run: 1,
    tenant,
    backupId: backup.id,
    requestedBy: 'bench',
  });
  const stageAndSwitch = async (input: StageRestoreInput) => {
    const stage = await measure(() => mock(activities.stageTenantRestore, input));
    const switched = await measure(() => mock(activities.switchRestoredTenant, input));
    return { stage, switched };
  };
  let identicalText = true;
  let identicalRestores = true;
  /** The tenant's rows as the backup recorded them: rows and SHA-256 of each table's COPY text. */
  const checkRestored = async (backup: TenantBackup, who: string) => {
    const found = await tenantDigest(poolUrl, plans);
    for (const t of backup.tables)
      if (found[t.name]?.rows !== t.rows || found[t.name]?.sha256 !== t.sha256) {
        identicalRestores = false;
        throw new Error(`after ${who}, ${t.name} does not read back as backup ${backup.id} recorded it`);
      }
  };

  /** One backup operation through the API, timed, with its steps. */
  const apiBackup = async (tenantId: string): Promise<ApiBackup> => {
    await sleep(SETTLE_MS);
    const started = performance.now();
    const posted = await landlord.api('POST', `/v1/tenants/${encodeURIComponent(tenantId)}/backups`);
    const acceptMs = performance.now() - started;
    if (posted.status !== 202)
      throw new Error(`POST backups answered ${posted.status}: ${JSON.stringify(posted.body)}`);
    const operationId = String(posted.body.id);
    const op = await Promise.race([followOperation(landlord, operationId), dataWorker.died]);
    const totalMs = performance.now() - started;
    const step = (name: string) => op.steps.find((s) => s.name === name);
    const result = op.result as { backupId: string; rows: number; bytes: number };
    const backup = await registry.backups.get(tenantId, result.backupId);
    if (backup) await apiObjects.delete(backup.objectKey);
    return {
      operationId,
      totalMs,
      acceptMs,
      snapshotMs: span(step('snapshot')?.startedAt, step('snapshot')?.finishedAt),
      expireMs: span(step('expire-backups')?.startedAt, step('expire-backups')?.finishedAt),
      rows: result.rows,
      bytes: result.bytes,
    };
  };

  log('warming up: one backup each way, not measured');
  const warm = await mock(activities.takeTenantBackup, {
    operationId: `dr-${run}-warmup`,
    tenant,
    retentionDays: 7,
  });
  await objects.delete(warm.objectKey);
  await bareBackup(poolUrl, plans, bareFolder);
  await apiBackup(tenants.empty);

  const rounds: DrRound[] = [];
  let copyBytes: Record<string, number> = {};
  for (let r = 0; r < plan.rounds; r++) {
    const landlordFirst = r % 2 === 0;
    const load1 = currentLoad()[0]!;
    const order = <T>(sides: T[]) => (landlordFirst ? sides : [...sides].reverse());

    await settle();
    let landlordBackup: (Timed & { backup: TenantBackup }) | undefined;
    let bare: (Timed & { bare: BareBackup }) | undefined;
    for (const side of order([
      async () => {
        const { value, ...timed } = await measure(() =>
          mock(activities.takeTenantBackup, {
            operationId: `dr-${run}-backup-${r}`,
            tenant,
            retentionDays: 7,
          }),
        );
        landlordBackup = { ...timed, backup: value };
      },
      async () => {
        rmSync(bareFolder, { recursive: true, force: true });
        mkdirSync(bareFolder, { recursive: true });
        const { value, ...timed } = await measure(() => bareBackup(poolUrl, plans, bareFolder));
        bare = { ...timed, bare: value };
      },
    ])) {
      await checkpoint();
      await side();
    }
    const backup = landlordBackup!.backup;
    const backedUpRows = backup.tables.reduce((n, t) => n + t.rows, 0);
    if (backedUpRows !== expectedRows) throw new Error(`backup ${backup.id} holds ${backedUpRows} rows`);
    for (const step of bare!.bare.steps) {
      const recorded = backup.tables.find((t) => t.name === step.table);
      if (recorded?.sha256 !== sha256Of(step.file) || recorded.rows !== step.rows) identicalText = false;
    }
    if (!identicalText) throw new Error(`the bare COPY text differs from backup ${backup.id}'s`);
    copyBytes = Object.fromEntries(bare!.bare.steps.map((s) => [s.table, s.bytes]));
    log(
      `round ${r + 1}: backup: Landlord ${(landlordBackup!.wallMs / 1000).toFixed(2)} s, bare COPY ${(bare!.wallMs / 1000).toFixed(2)} s`,
    );

    let landlordRestore: DrRound['restore']['landlord'] | undefined;
    let bareRestored: (Timed & { bare: BareRestore }) | undefined;
    for (const side of order([
      async () => {
        const { stage, switched } = await stageAndSwitch(restoreInput(backup, String(r)));
        const { value: staged, ...stageTimed } = stage;
        const { value: result, ...switchTimed } = switched;
        landlordRestore = { stage: { ...stageTimed, staged }, switch: { ...switchTimed, switched: result } };
        await checkRestored(backup, "Landlord's restore");
      },
      async () => {
        const files = Object.fromEntries(bare!.bare.steps.map((s) => [s.table, s.file]));
        const { value, ...timed } = await measure(() => bareRestore(poolUrl, plans, tenants.measured, files));
        bareRestored = { ...timed, bare: value };
        await checkRestored(backup, 'the bare restore');
      },
    ])) {
      await settle();
      await side();
    }
    log(
      `  restore: Landlord ${((landlordRestore!.stage.wallMs + landlordRestore!.switch.wallMs) / 1000).toFixed(2)} s ` +
        `(stage ${(landlordRestore!.stage.wallMs / 1000).toFixed(2)} s), bare ${(bareRestored!.wallMs / 1000).toFixed(2)} s`,
    );

    await settle();
    const { value: verified, ...verifyTimed } = await measure(() =>
      mock(activities.verifyBackupRestore, { tenantId: tenants.measured, backupId: backup.id }),
    );
    if (!verified.ok) throw new Error(`verifyBackupRestore found ${verified.problems.join('; ')}`);
    const api = { tenant: await apiBackup(tenants.measured), empty: await apiBackup(tenants.empty) };
    if (api.tenant.rows !== expectedRows) throw new Error(`the API's backup holds ${api.tenant.rows} rows`);
    log(
      `  verify ${(verifyTimed.wallMs / 1000).toFixed(2)} s; API backup ${(api.tenant.totalMs / 1000).toFixed(2)} s ` +
        `(snapshot ${(api.tenant.snapshotMs / 1000).toFixed(2)} s), of the empty tenant ${api.empty.totalMs.toFixed(0)} ms`,
    );
    rounds.push({
      round: r,
      landlordFirst,
      load1,
      backup: { landlord: landlordBackup!, baseline: bare! },
      restore: { landlord: landlordRestore!, baseline: bareRestored! },
      verify: { ...verifyTimed, result: verified },
      api,
    });
    if (r < plan.rounds - 1) await objects.delete(backup.objectKey);
  }

  log('profile: one backup and one restore each way under the CPU profiler');
  const files = Object.fromEntries(rounds.at(-1)!.backup.baseline.bare.steps.map((s) => [s.table, s.file]));
  const profile = async <T>(work: () => Promise<T>): Promise<{ value: T; run: ProfiledRun }> => {
    await settle();
    const { value, wallMs } = await measure(() => profiled(work, classifyFrame));
    return { value: value.value, run: { wallMs, summary: value.summary } };
  };
  const profiledBackup = await profile(() =>
    mock(activities.takeTenantBackup, { operationId: `dr-${run}-profile`, tenant, retentionDays: 7 }),
  );
  const lastBackup = profiledBackup.value;
  mkdirSync(join(folder, 'profiled'), { recursive: true });
  const bareProfile = await profile(() => bareBackup(poolUrl, plans, join(folder, 'profiled')));
  const restoreProfile = await profile(async () => {
    const input = restoreInput(lastBackup, 'profile');
    await mock(activities.stageTenantRestore, input);
    return mock(activities.switchRestoredTenant, input);
  });
  await checkRestored(lastBackup, 'the profiled restore');
  const bareRestoreProfile = await profile(() => bareRestore(poolUrl, plans, tenants.measured, files));
  await checkRestored(lastBackup, 'the profiled bare restore');

  log(`restores with the index the foreign key from documents to projects lacks: ${PROJECT_INDEX}`);
  await withConnection(poolUrl, (c) => c.query(PROJECT_INDEX));
  const strip = <T>({ value: _value, ...timed }: Timed & { value: T }): Timed => timed;
  const withProjectIndex: IndexVariant = { index: PROJECT_INDEX, runs: [] };
  for (let i = 0; i < plan.indexRounds; i++) {
    const landlordFirst = i % 2 === 0;
    let landlordRun: IndexVariant['runs'][number]['landlord'] | undefined;
    let bareRun: IndexVariant['runs'][number]['bare'] | undefined;
    const sides = [
      async () => {
        const { stage, switched } = await stageAndSwitch(restoreInput(lastBackup, `indexed-${i}`));
        landlordRun = { stage: strip(stage), switch: strip(switched) };
        await checkRestored(lastBackup, "Landlord's restore with the index");
      },
      async () => {
        const { value, ...timed } = await measure(() => bareRestore(poolUrl, plans, tenants.measured, files));
        bareRun = { ...timed, bare: value };
        await checkRestored(lastBackup, 'the bare restore with the index');
      },
    ];
    for (const side of landlordFirst ? sides : sides.reverse()) {
      await settle();
      await side();
    }
    withProjectIndex.runs.push({ landlordFirst, landlord: landlordRun!, bare: bareRun! });
    log(
      `  Landlord ${((landlordRun!.stage.wallMs + landlordRun!.switch.wallMs) / 1000).toFixed(2)} s, bare ${(bareRun!.wallMs / 1000).toFixed(2)} s`,
    );
  }
  await withConnection(poolUrl, (c) => c.query('DROP INDEX bench_documents_project'));

  log('profile: each stage of the archive alone, in memory');
  const stages = await measureStages(
    Object.entries(files).map(([table, file]) => ({ table, file })),
    folder,
  );

  return {
    date: new Date().toISOString(),
    plan,
    tenants,
    tableRows,
    rows: expectedRows,
    copyBytes,
    poolRows,
    seedMs,
    rounds,
    identical: { backupText: identicalText, restores: identicalRestores },
    profile: {
      backup: { landlord: profiledBackup.run, bare: bareProfile.run },
      restore: { landlord: restoreProfile.run, bare: bareRestoreProfile.run },
    },
    withProjectIndex,
    stages,
    durationMs: performance.now() - benchStarted,
    loadAtStart,
    loadAtEnd: currentLoad(),
  };
}
