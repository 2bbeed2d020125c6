/**
 * The erasure benchmark (`npm run bench -- erasure`): one data subject erased from a pool tenant
 * whose tables hold a million rows of other people, through Landlord, against a bare SQL script
 * doing the same deletes and updates on an identical copy in the same run.
 *
 * - Copies (bench/erasure-data.ts): three basic pool tenants onboarded through the API, each given
 *   the same rows in the region's pool database: Landlord's, the script's, and the batched script's.
 *   A fourth tenant with no rows of its own measures the fixed cost of an erasure that finds nothing.
 * - Rounds: subject `i` erased from each copy, Landlord's erasure and the script alternating which
 *   goes first, a CHECKPOINT before each (every first touch of a page writes a full-page image);
 *   the batched script replays the batch sizes Landlord's erasure of the same subject used. An
 *   erasure of a subject with no rows before and after each round gives the fixed cost.
 * - Indexes: both scripts once more on a fourth copy in a scratch database, on each of three
 *   variants of the subject indexes (`(tenant, subject)`, none, and the schema's, the key appended).
 *
 * Landlord runs as in production: the API and lifecycle worker in this process, the data worker in
 * a process of its own (`workers/data.ts`) whose statements are timed per activity
 * (bench/activity-pg-trace.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { withDatabase } from '../dataplane/connection.js';
import { applyApplicationMigrations } from '../dataplane/migrations.js';
import type { ErasureRequest, OperationSnapshot } from '../domain/index.js';
import { POOL_DATABASE } from '../activities/pool/names.js';
import { connectRegistry } from '../registry/index.js';
import type { PostgresRegistry } from '../registry/index.js';
import type { ActivityQueryTotals } from './activity-pg-trace.js';
import { activityTraceBetween } from './activity-pg-trace.js';
import { eraseByStatements, eraseInBatches, scriptPlans } from './erasure-baseline.js';
import type { BaselineRun, ScriptPlans } from './erasure-baseline.js';
import {
  checkErasureManifest,
  copyDigest,
  copyRows,
  ERASURE_ORDER,
  INDEX_VARIANTS,
  settle,
  SUBJECT_INDEXES,
  subjectCounts,
  subjectId,
  withConnection,
  writeCopy,
} from './erasure-data.js';
import type { CopyShape, ErasedTable, IndexVariant } from './erasure-data.js';
import { benchStart, startLandlordWithSink } from './landlord.js';
import type { Landlord } from './landlord.js';
import { currentLoad } from './report.js';
import type { BenchStack } from './stack.js';
import { WorkerProcess } from './worker-process.js';

const REGION = 'local-a';
const TIER = 'basic';
const ACTIVITY_TRACE = fileURLToPath(new URL('./activity-pg-trace.ts', import.meta.url));
const SCRATCH_DATABASE = 'bench_erasure_indexes';
/** The pause before each erasure through Landlord. */
export const SETTLE_MS = 500;

export interface ErasurePlan {
  /** A smoke run: smaller copies, fewer repeats, the docs left alone. */
  quick: boolean;
  shape: CopyShape;
  /** Subjects erased in the pool, one round each (the copies hold `shape.subjects`; the index comparison uses them all). */
  rounds: number;
  /** Unmeasured erasures of subjects with no rows before the measurements. */
  warmup: number;
}

/** The sizes: 1,000,000 rows of other people per copy, and six subjects. */
export const FULL_SHAPE: CopyShape = {
  otherUsers: 20_000,
  otherDocuments: 480_000,
  otherActivity: 500_000,
  subjects: 6,
  subjectDocuments: 300,
  subjectActivity: 3_000,
};

/** BENCH_QUICK=1: a tenth of the rows, two rounds; the docs stay as they are. */
export function erasurePlanFrom(env: NodeJS.ProcessEnv): ErasurePlan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  return quick
    ? {
        quick,
        shape: {
          ...FULL_SHAPE,
          otherUsers: 2_000,
          otherDocuments: 48_000,
          otherActivity: 50_000,
        },
        rounds: 2,
        warmup: 1,
      }
    : { quick, shape: FULL_SHAPE, rounds: 5, warmup: 2 };
}

/** Where one Landlord erasure's time went, ms. Step times are the operation's (workflow clock). */
export interface Segments {
  /** POST sent → `erase-primary` started: API, request recorded, update, child workflow, check-holds. */
  beforeErasePrimary: number;
  /** The `erase-primary` step as the operation shows it: the data activity, dispatch to completion. */
  erasePrimary: number;
  /** → `record-evidence` started: the counts written to the request, `erase-standby` skipped. */
  betweenSteps: number;
  /** The `record-evidence` step: outbox → ledger. */
  recordEvidence: number;
  /** → operation finished: `record-erasure` (request ended, subject forgotten), the end recorded. */
  recordErasure: number;
  /** Operation finished → the client's long poll answers `succeeded`. */
  seen: number;
}

export interface LandlordErasure {
  operationId: string;
  /** POST sent → `GET /v1/operations/{id}` answers `succeeded`. */
  totalMs: number;
  /** POST sent → its 202. */
  acceptMs: number;
  segments: Segments;
  /** The data worker's statements, by activity (eraseSubjectData is `erase-primary`). */
  queries: ActivityQueryTotals;
  /** What the erasure request counts, per table. */
  counts: Partial<Record<ErasedTable, number>>;
  /** The ledger's batches per table, in order (records of count 0 left out). */
  batches: Partial<Record<ErasedTable, number[]>>;
  ledgerRecords: number;
}

export interface ErasureRound {
  subject: number;
  landlordFirst: boolean;
  /** The machine's 1-minute load average as the round began. */
  load1: number;
  landlord: LandlordErasure;
  /** The script, one statement per table, on the script's copy. */
  statements: BaselineRun;
  /** The script in Landlord's batch sizes, on the batched script's copy. */
  batches: BaselineRun;
}

/** The scripts on one variant of the subject indexes, in the scratch database. */
export interface IndexRun {
  variant: IndexVariant;
  plans: ScriptPlans;
  statements: BaselineRun;
  batches: BaselineRun;
}

/** The child workflow of one erasure, from its history. */
export interface HistoryCounts {
  activities: number;
  localActivities: number;
  workflowTasks: number;
  events: number;
}

export interface ErasureReport {
  date: string;
  plan: ErasurePlan;
  lockBudgetMs: number;
  tenants: { landlord: string; statements: string; batches: string; fixed: string };
  rowsPerCopy: number;
  seedMs: number;
  fixed: LandlordErasure[];
  fixedHistory: HistoryCounts;
  rounds: ErasureRound[];
  /** The scripts' plans in the pool. */
  poolPlans: ScriptPlans;
  indexes: { seedMs: number; runs: IndexRun[] };
  /** After every round, the three copies hold the same rows. */
  copiesIdentical: boolean;
  ledgerVerified: boolean;
  durationMs: number;
  loadAtStart: number[];
  loadAtEnd: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const span = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : Number.NaN);

/** Follows an operation by long poll until it has succeeded; throws if it ends otherwise. */
async function followOperation(
  landlord: Landlord,
  operationId: string,
  timeoutMs = 300_000,
): Promise<OperationSnapshot> {
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
      throw new Error(`erasure ${operationId} ended ${op.status}: ${JSON.stringify(op.error)}`);
    if (performance.now() - started > timeoutMs)
      throw new Error(`erasure ${operationId} still running after ${timeoutMs} ms`);
  }
}

function segmentsOf(op: OperationSnapshot, postAt: number, seenAt: number): Segments {
  const step = (name: string) => {
    const s = op.steps.find((x) => x.name === name);
    if (!s?.startedAt || !s.finishedAt) throw new Error(`step ${name} of ${op.id} has no times`);
    return s as { startedAt: string; finishedAt: string };
  };
  const primary = step('erase-primary');
  const evidence = step('record-evidence');
  const post = new Date(postAt).toISOString();
  return {
    beforeErasePrimary: span(post, primary.startedAt),
    erasePrimary: span(primary.startedAt, primary.finishedAt),
    betweenSteps: span(primary.finishedAt, evidence.startedAt),
    recordEvidence: span(evidence.startedAt, evidence.finishedAt),
    recordErasure: span(evidence.finishedAt, op.finishedAt),
    seen: seenAt - Date.parse(op.finishedAt!),
  };
}

/** The ledger's non-empty records of one operation, per table in order, and how many records in all. */
async function ledgerBatches(
  store: PostgresRegistry,
  tenantId: string,
  operationId: string,
): Promise<{ batches: Partial<Record<ErasedTable, number[]>>; records: number }> {
  const batches: Partial<Record<ErasedTable, number[]>> = {};
  let records = 0;
  for (const kind of ['erasure.delete', 'erasure.anonymize'] as const) {
    let afterSeq = 0;
    for (;;) {
      const page = await store.ledger.list({ tenantId, kind, afterSeq, limit: 1000 });
      for (const r of page.filter((x) => x.operationId === operationId)) {
        records += 1;
        if (r.count > 0) (batches[r.target as ErasedTable] ??= []).push(r.count);
      }
      if (page.length < 1000) break;
      afterSeq = page.at(-1)!.seq;
    }
  }
  return { batches, records };
}

export async function runErasureBenchmark(
  plan: ErasurePlan,
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<ErasureReport> {
  const { loadAtStart, benchStarted, run, workerEnv, config } = benchStart(stack);
  checkErasureManifest(config.manifest);
  const { landlord } = await startLandlordWithSink(stack, cleanup);
  const client = new Client({
    connection: await Connection.connect({ address: stack.infra.temporalAddress }),
  });
  cleanup(() => client.connection.close());
  const store = connectRegistry(config.postgres.registryUrl!, 2);
  cleanup(() => store.close());

  log('starting the data worker process');
  const traceFile = join(stack.dir, 'data-worker-activity-queries.json');
  const dataWorker = await WorkerProcess.start(
    'data',
    { ...workerEnv, BENCH_ACTIVITY_TRACE_FILE: traceFile },
    { nodeArgs: ['--import', ACTIVITY_TRACE] },
  );
  cleanup(() => dataWorker.stop());
  /** The data worker's statement totals so far: it writes them on SIGWINCH. */
  const workerQueries = async (): Promise<ActivityQueryTotals> => {
    rmSync(traceFile, { force: true });
    process.kill(dataWorker.pid, 'SIGWINCH');
    for (let tries = 0; ; tries++) {
      await sleep(20);
      try {
        return JSON.parse(readFileSync(traceFile, 'utf8')) as ActivityQueryTotals;
      } catch (err) {
        if (tries > 250) throw err;
      }
    }
  };

  const serverUrl = config.postgres.regionUrls[REGION]!;
  const poolUrl = withDatabase(serverUrl, POOL_DATABASE);
  const checkpoint = () => withConnection(poolUrl, (c) => c.query('CHECKPOINT'));
  const tenants = {
    landlord: `erase-${run}-landlord`,
    statements: `erase-${run}-script`,
    batches: `erase-${run}-batches`,
    fixed: `erase-${run}-small`,
  };
  const { shape } = plan;

  log(`onboarding 4 ${TIER} pool tenants`);
  for (const id of Object.values(tenants)) await landlord.onboard(id, { tier: TIER });

  const anchor = new Date().toISOString();
  const copies = [tenants.landlord, tenants.statements, tenants.batches];
  log(
    `writing ${copies.length} copies of ${copyRows(shape).toLocaleString('en')} rows into ${POOL_DATABASE}`,
  );
  const seedStarted = performance.now();
  await withConnection(poolUrl, async (c) => {
    for (const id of copies) await writeCopy(c, id, shape, anchor);
    await settle(c);
    for (const id of copies)
      for (let s = 0; s < shape.subjects; s++) {
        const has = await subjectCounts(c, id, subjectId(s));
        if (
          has.app_users !== 1 ||
          has.documents !== shape.subjectDocuments ||
          has.activity_log !== shape.subjectActivity
        )
          throw new Error(`subject ${s} of ${id} was written wrong: ${JSON.stringify(has)}`);
      }
  });
  const seedMs = performance.now() - seedStarted;
  log(`  ${(seedMs / 1000).toFixed(1)} s`);
  const poolPlans = await scriptPlans(poolUrl, tenants.statements, subjectId(0));

  /** One erasure through the API, timed, with the data worker's statements and the ledger's batches. */
  const eraseThroughLandlord = async (tenantId: string, subject: string): Promise<LandlordErasure> => {
    // The tenant workflow takes in an operation's end after the operation shows it (one more
    // workflow task): a request sent at once would wait for it. Every erasure starts settled.
    await sleep(SETTLE_MS);
    const before = await workerQueries();
    const postAt = Date.now();
    const started = performance.now();
    const posted = await landlord.api('POST', `/v1/tenants/${encodeURIComponent(tenantId)}/erasures`, {
      subject,
      reason: 'benchmark: Art. 17 request',
    });
    const acceptMs = performance.now() - started;
    if (posted.status !== 202)
      throw new Error(`POST erasures answered ${posted.status}: ${JSON.stringify(posted.body)}`);
    const operationId = String(posted.body.id);
    const erasureId = (posted.body.erasure as { id: string }).id;
    const op = await Promise.race([followOperation(landlord, operationId), dataWorker.died]);
    const totalMs = performance.now() - started;
    const queries = activityTraceBetween(before, await workerQueries());
    const request = await landlord.api(
      'GET',
      `/v1/tenants/${encodeURIComponent(tenantId)}/erasures/${encodeURIComponent(erasureId)}`,
    );
    const erasure = request.body as unknown as ErasureRequest;
    if (erasure.status !== 'erased') throw new Error(`erasure ${erasureId} is ${erasure.status}`);
    const counts: Partial<Record<ErasedTable, number>> = {};
    for (const c of erasure.counts)
      if (c.store === 'primary' && c.unit === 'rows')
        counts[c.target as ErasedTable] = (counts[c.target as ErasedTable] ?? 0) + c.count;
    const { batches, records } = await ledgerBatches(store, tenantId, operationId);
    return {
      operationId,
      totalMs,
      acceptMs,
      segments: segmentsOf(op, postAt, postAt + totalMs),
      queries,
      counts,
      batches,
      ledgerRecords: records,
    };
  };

  log(`warming up: ${plan.warmup} erasures that find nothing, and the scripts`);
  for (let i = 0; i < plan.warmup; i++) await eraseThroughLandlord(tenants.fixed, randomUUID());
  await eraseByStatements(poolUrl, tenants.fixed, randomUUID());
  await eraseInBatches(poolUrl, tenants.fixed, randomUUID(), () => [500]);

  const expected = {
    activity_log: shape.subjectActivity,
    documents: shape.subjectDocuments,
    app_users: 1,
  };
  const rounds: ErasureRound[] = [];
  const fixed: LandlordErasure[] = [];
  /** Erasures of subjects with no rows, in the tenant that holds nothing: the fixed cost. */
  const eraseNothing = async () => {
    await checkpoint();
    fixed.push(await eraseThroughLandlord(tenants.fixed, randomUUID()));
  };
  for (let s = 0; s < plan.rounds; s++) {
    const subject = subjectId(s);
    const landlordFirst = s % 2 === 0;
    const load1 = currentLoad()[0]!;
    // Fixed-cost erasures before and after each round's erasures share the round's conditions.
    await eraseNothing();
    let landlordRun: LandlordErasure | undefined;
    let statements: BaselineRun | undefined;
    const sides = [
      async () => (landlordRun = await eraseThroughLandlord(tenants.landlord, subject)),
      async () => (statements = await eraseByStatements(poolUrl, tenants.statements, subject)),
    ];
    for (const side of landlordFirst ? sides : sides.reverse()) {
      await checkpoint();
      await side();
    }
    await checkpoint();
    const sizes = landlordRun!.batches;
    const batches = await eraseInBatches(poolUrl, tenants.batches, subject, (t) => sizes[t] ?? [500]);
    for (const { table } of ERASURE_ORDER)
      for (const [who, rows] of [
        ['Landlord', landlordRun!.counts[table]],
        ['the script', statements!.steps.find((x) => x.table === table)?.rows],
        ['the batched script', batches.steps.find((x) => x.table === table)?.rows],
      ] as const)
        if (rows !== expected[table])
          throw new Error(`${who} erased ${rows} rows of ${table} for subject ${s}, not ${expected[table]}`);
    await eraseNothing();
    rounds.push({
      subject: s,
      landlordFirst,
      load1,
      landlord: landlordRun!,
      statements: statements!,
      batches,
    });
    log(
      `round ${s + 1}: Landlord ${landlordRun!.totalMs.toFixed(0)} ms (erase-primary ${landlordRun!.segments.erasePrimary} ms), ` +
        `script ${statements!.wallMs.toFixed(1)} ms, batched script ${batches.wallMs.toFixed(1)} ms; ` +
        `no rows ${fixed
          .slice(-2)
          .map((f) => f.totalMs.toFixed(0))
          .join(' and ')} ms`,
    );
  }
  const history = await client.workflow.getHandle(fixed[0]!.operationId).fetchHistory();
  const events = history.events ?? [];
  const fixedHistory: HistoryCounts = {
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: events.filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    ).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    events: events.length,
  };

  log('checking that the three copies hold the same rows');
  const { copiesIdentical } = await withConnection(poolUrl, async (c) => {
    const digests: string[] = [];
    for (const id of copies) {
      for (let s = 0; s < plan.rounds; s++) {
        const left = await subjectCounts(c, id, subjectId(s));
        if (Object.values(left).some((n) => n > 0))
          throw new Error(`subject ${s} still has rows in ${id}: ${JSON.stringify(left)}`);
      }
      digests.push(JSON.stringify(await copyDigest(c, id)));
    }
    return { copiesIdentical: digests.every((d) => d === digests[0]) };
  });
  if (!copiesIdentical) throw new Error("Landlord's copy and the scripts' copies differ after the erasures");
  const ledgerVerified = (await store.ledger.verify()).ok;

  log(`the scripts on three variants of the subject indexes, on a copy in ${SCRATCH_DATABASE}`);
  const indexes = await compareIndexes(
    serverUrl,
    config.migrationsDir,
    tenants.statements,
    shape,
    anchor,
    rounds[0]!.landlord.batches,
  );
  for (const r of indexes.runs)
    log(
      `  ${r.variant}: script ${r.statements.wallMs.toFixed(0)} ms, batched script ${r.batches.wallMs.toFixed(0)} ms`,
    );

  return {
    date: new Date().toISOString(),
    plan,
    lockBudgetMs: config.retention.lockBudgetMs,
    tenants,
    rowsPerCopy: copyRows(shape),
    seedMs,
    fixed,
    fixedHistory,
    rounds,
    poolPlans,
    indexes,
    copiesIdentical,
    ledgerVerified,
    durationMs: performance.now() - benchStarted,
    loadAtStart,
    loadAtEnd: currentLoad(),
  };
}

/**
 * A scratch database on the same server with the application's migrations and one copy, where
 * the scripts run on each variant of the subject indexes in turn (`(tenant, subject)`, none, and
 * with the key appended, the schema's), each on subjects of their own: the script one statement per table, and
 * in `sizes` batches. Dropped afterwards.
 */
async function compareIndexes(
  serverUrl: string,
  migrationsDir: string,
  tenantId: string,
  shape: CopyShape,
  anchor: string,
  sizes: Partial<Record<ErasedTable, number[]>>,
): Promise<{ seedMs: number; runs: IndexRun[] }> {
  const variants: IndexVariant[] = ['subject', 'none', 'subject + key'];
  if (shape.subjects < 2 * variants.length)
    throw new Error(`the index comparison needs ${2 * variants.length} subjects per copy`);
  const admin = withDatabase(serverUrl, 'postgres');
  const url = withDatabase(serverUrl, SCRATCH_DATABASE);
  const q = pg.escapeIdentifier;
  await withConnection(admin, (c) => c.query(`CREATE DATABASE ${q(SCRATCH_DATABASE)}`));
  try {
    const started = performance.now();
    await withConnection(url, async (c) => {
      await applyApplicationMigrations(c, migrationsDir);
      await writeCopy(c, tenantId, shape, anchor);
      await settle(c);
    });
    const seedMs = performance.now() - started;
    const runs: IndexRun[] = [];
    for (const [i, variant] of variants.entries()) {
      await withConnection(url, async (c) => {
        // Each variant made here, the migrations' own included: the comparison stays right
        // whatever shape the schema's migration gives them.
        for (const index of SUBJECT_INDEXES) await c.query(`DROP INDEX IF EXISTS ${q(index)}`);
        for (const create of INDEX_VARIANTS[variant]) await c.query(create);
        await c.query('ANALYZE documents, activity_log');
        await c.query('CHECKPOINT');
      });
      const plans = await scriptPlans(url, tenantId, subjectId(2 * i));
      const statements = await eraseByStatements(url, tenantId, subjectId(2 * i));
      await withConnection(url, (c) => c.query('CHECKPOINT'));
      const batches = await eraseInBatches(url, tenantId, subjectId(2 * i + 1), (t) => sizes[t] ?? [500]);
      runs.push({ variant, plans, statements, batches });
    }
    return { seedMs, runs };
  } finally {
    await withConnection(admin, (c) =>
      c.query(`DROP DATABASE IF EXISTS ${q(SCRATCH_DATABASE)} WITH (FORCE)`),
    );
  }
}
