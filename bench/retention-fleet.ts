/**
 * The retention benchmark's fleet run: one retention run over many tenants that have nothing to
 * delete, timed, with the size of the histories it leaves (the run's own, one per continue-as-new,
 * and what one part adds to a tenant's workflow and its operation's child).
 *
 * Onboarding thousands of tenants through the API would take longer than the run itself, so all but
 * one are fixtures: a registry record copied from a real onboarded pool tenant, and a real tenant
 * workflow started in the state that tenant's workflow is in after its onboarding (active, its
 * record, no operation queued). Everything the run does with them is real: it lists them from the
 * registry, asks each tenant workflow for an `apply-retention` operation (an update, a child
 * workflow, the data worker's activities over the pool database, which holds none of their rows).
 * What the fixtures lack is the onboarding's history in their tenant workflows and the tenant's
 * database role, which a retention part uses neither of.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/index.js';
import type { RetentionRun, RetentionTenantPart, TenantRecord } from '../domain/index.js';
import type { PostgresRegistry } from '../registry/index.js';
import { tenantView, tenantWorkflowId } from '../workflows/definitions.js';
import type { tenantWorkflow } from '../workflows/tenant.js';
import { CpuMeter } from './cpu-time.js';
import type { CpuSplit } from './cpu-time.js';
import type { Landlord } from './landlord.js';
import { runLevel } from './load.js';

/** Parts the run workflow starts before it continues as new (workflows/retention-run.ts). */
export const PARTS_PER_HISTORY = 500;

export interface HistorySize {
  events: number;
  bytes: number;
}

export interface FleetReport {
  /** Tenants the run went over. */
  tenants: number;
  /** Of which fixtures (the rest onboarded through the API). */
  fixtures: number;
  setup: { registryMs: number; workflowsMs: number };
  wallMs: number;
  /** The parts' outcomes. */
  statuses: Record<string, number>;
  /** Parts that did not succeed (the first few), with why. */
  notSucceeded: {
    tenantId: string;
    fixture: boolean;
    status: string;
    reason?: string;
    /** Its tenant workflow's events, ms from the run's start: what it had taken in when asked. */
    events?: string[];
  }[];
  /** Waiting for the fixtures' workflows to finish their first workflow task, before the run. */
  settleMs: number;
  /** From the template's onboarding showing `succeeded` to its tenant workflow showing it active and idle. */
  templateSettleMs: number;
  /** Parts done over time (ms from the POST). */
  progress: { atMs: number; done: number }[];
  /** When half the parts were done (ms from the POST): the pace of each half tells whether it slows. */
  halfwayMs: number;
  /** The run's workflow executions, first to last (each ended by continue-as-new but the last). */
  runs: (HistorySize & { status: string })[];
  /** A fixture tenant's workflow before and after its part (mean over the sampled tenants). */
  tenantHistory: { before: HistorySize; after: HistorySize; sampled: number };
  /** An `apply-retention` operation's child workflow (mean over the sampled). */
  operationHistory: HistorySize;
  /** The Temporal dev server's SQLite files. */
  temporalDbBytes: { before: number; after: number };
  cpu: CpuSplit<'temporal' | 'dataWorker' | 'registryPostgres' | 'regionPostgres'>;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Bytes of the dev server's SQLite database, its WAL included. */
function temporalDbBytes(dataDir: string): number {
  const db = join(dataDir, 'temporal', 'temporal.db');
  return ['', '-wal', '-shm'].reduce((n, suffix) => {
    try {
      return n + statSync(`${db}${suffix}`).size;
    } catch {
      return n;
    }
  }, 0);
}

async function activeTenants(store: PostgresRegistry): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await store.tenants.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    n += page.items.filter((t) => t.status === 'active' || t.status === 'suspended').length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

const mean = (sizes: HistorySize[]): HistorySize => ({
  events: sizes.reduce((n, s) => n + s.events, 0) / Math.max(1, sizes.length),
  bytes: sizes.reduce((n, s) => n + s.bytes, 0) / Math.max(1, sizes.length),
});

export async function runFleet({
  count,
  run,
  landlord,
  client,
  store,
  config,
  dataDir,
  pids,
  startRun,
  followRun,
}: {
  count: number;
  /** The benchmark run's id, in tenant ids. */
  run: string;
  landlord: Landlord;
  client: Client;
  store: PostgresRegistry;
  config: Pick<Config, 'taskQueues'>;
  /** The stack's data folder (Temporal's SQLite file). */
  dataDir: string;
  pids: { temporal: number; dataWorker: number; registryPostgres: number; regionPostgres: number };
  startRun: (landlord: Landlord, body: Record<string, unknown>) => Promise<string>;
  followRun: (
    landlord: Landlord,
    runId: string,
    options: { pollMs: number; onProgress: (run: RetentionRun) => void },
  ) => Promise<{ run: RetentionRun; parts: RetentionTenantPart[] }>;
}): Promise<FleetReport> {
  log(`fleet: onboarding the template tenant`);
  const templateId = `rf-${run}-template`;
  await landlord.onboard(templateId);
  const template = (await store.tenants.get(templateId)) as TenantRecord;
  // The onboarding shows `succeeded` before the tenant workflow has taken its outcome in (its last
  // workflow task); a retention part asked for before that is refused ("still being onboarded").
  let started = performance.now();
  for (;;) {
    const view = await client.workflow.getHandle(tenantWorkflowId(templateId)).query(tenantView);
    if (view.status === 'active' && view.queued.length === 0) break;
    if (performance.now() - started > 120_000)
      throw new Error(`the tenant workflow of ${templateId} did not settle`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const templateSettleMs = performance.now() - started;
  const existing = await activeTenants(store);
  const fixtures = Math.max(0, count - existing);
  const ids = Array.from({ length: fixtures }, (_, i) => `rf-${run}-${i.toString(36).padStart(4, '0')}`);

  log(`fleet: ${fixtures} fixture tenants in the registry`);
  started = performance.now();
  const records = new Map<string, TenantRecord>();
  await runLevel(16, ids.length, async (i) => {
    const id = ids[i]!;
    const at = new Date().toISOString();
    const record: TenantRecord = {
      ...template,
      id,
      name: `Fleet ${id}`,
      adminEmail: `owner@${id}.test`,
      createdAt: at,
      updatedAt: at,
    };
    records.set(id, record);
    await store.tenants.upsert(record);
    return 0;
  });
  const registryMs = performance.now() - started;

  log(`fleet: their tenant workflows`);
  started = performance.now();
  await runLevel(32, ids.length, async (i) => {
    const id = ids[i]!;
    const record = records.get(id)!;
    await client.workflow.start<typeof tenantWorkflow>('tenantWorkflow', {
      workflowId: tenantWorkflowId(id),
      taskQueue: config.taskQueues.lifecycle,
      args: [
        {
          tenantId: id,
          provisioningQueue: config.taskQueues.provisioning,
          dataQueue: config.taskQueues.data,
          state: {
            tenantId: id,
            status: 'active',
            tenant: record,
            createdAt: record.createdAt,
            tenantVersion: record.version,
            operations: [],
            queue: [],
          },
        },
      ],
    });
    return 0;
  });
  const workflowsMs = performance.now() - started;
  log(`  registry ${(registryMs / 1000).toFixed(1)} s, workflows ${(workflowsMs / 1000).toFixed(1)} s`);

  const history = async (workflowId: string): Promise<HistorySize> => {
    const d = await client.workflow.getHandle(workflowId).describe();
    return { events: d.historyLength, bytes: d.historySize ?? 0 };
  };
  // The lifecycle worker takes a while over thousands of first workflow tasks: the run starts once
  // they are done (the last started ones, and the sampled ones, have completed theirs), so that it
  // is not timed on the set-up's backlog.
  started = performance.now();
  const sampled = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / 5)) === 0).slice(0, 5);
  const watched = [...new Set([...sampled, ...ids.slice(-5)])];
  for (;;) {
    const sizes = await Promise.all(watched.map((id) => history(tenantWorkflowId(id))));
    // Started, task scheduled, task started, task completed.
    if (sizes.every((h) => h.events >= 4)) break;
    if (performance.now() - started > 600_000)
      throw new Error("the fixtures' workflows did not settle in 10 minutes");
    await new Promise((r) => setTimeout(r, 500));
  }
  const settleMs = performance.now() - started;
  const before = await Promise.all(sampled.map((id) => history(tenantWorkflowId(id))));

  const total = existing + fixtures;
  const meter = new CpuMeter(pids);
  const dbBefore = temporalDbBytes(dataDir);
  log(`fleet: a retention run over ${total} tenants with nothing to delete`);
  const cpuFrom = meter.now();
  started = performance.now();
  const progress: { atMs: number; done: number }[] = [];
  let lastLogged = 0;
  const runStartedAt = Date.now();
  const runId = await startRun(landlord, {});
  const { run: ended, parts } = await followRun(landlord, runId, {
    pollMs: 1000,
    onProgress: (r) => {
      const atMs = performance.now() - started;
      progress.push({ atMs, done: r.progress.done });
      if (atMs - lastLogged > 30_000) {
        lastLogged = atMs;
        log(`  ${r.progress.done} of ${r.progress.total ?? '?'} after ${(atMs / 1000).toFixed(0)} s`);
      }
    },
  });
  const wallMs = performance.now() - started;
  const cpu = meter.between(cpuFrom, meter.now());
  if (ended.status !== 'succeeded')
    throw new Error(`the fleet run ended ${ended.status}: ${JSON.stringify(ended)}`);
  if (ended.totals.deleted !== 0) throw new Error(`the fleet run deleted ${ended.totals.deleted} rows`);
  const statuses: Record<string, number> = {};
  for (const p of parts) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
  log(`  ${parts.length} parts in ${(wallMs / 1000).toFixed(1)} s: ${JSON.stringify(statuses)}`);
  const fixtureIds = new Set(ids);
  const notSucceeded: FleetReport['notSucceeded'] = parts
    .filter((p) => p.status !== 'succeeded')
    .slice(0, 10)
    .map((p) => ({
      tenantId: p.tenantId,
      fixture: fixtureIds.has(p.tenantId),
      status: p.status,
      ...(p.reason ? { reason: p.reason } : {}),
    }));
  for (const p of notSucceeded) {
    log(`  ${p.status}: ${p.tenantId}${p.fixture ? ' (fixture)' : ''}: ${p.reason ?? ''}`);
    const history = await client.workflow.getHandle(tenantWorkflowId(p.tenantId)).fetchHistory();
    p.events = (history.events ?? []).map((e) => {
      const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
      const type = Object.keys(e)
        .find((k) => k.endsWith('EventAttributes'))
        ?.replace(/EventAttributes$/, '');
      return `${Math.round(at - runStartedAt)} ${type}`;
    });
    log(`    ${p.events.join(', ')}`);
  }

  // Visibility lags the run's end by a moment.
  const expectedRuns = Math.ceil(total / PARTS_PER_HISTORY);
  let runs: (HistorySize & { status: string; startTime: number })[] = [];
  for (let tries = 0; tries < 20; tries++) {
    runs = [];
    for await (const info of client.workflow.list({ query: `WorkflowId = '${runId}'` }))
      runs.push({
        events: info.historyLength,
        bytes: info.historySize ?? 0,
        status: info.status.name,
        startTime: info.startTime.getTime(),
      });
    if (runs.length >= expectedRuns && runs.every((r) => r.status !== 'RUNNING')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  runs.sort((a, b) => a.startTime - b.startTime);

  const after = await Promise.all(sampled.map((id) => history(tenantWorkflowId(id))));
  const operations = await Promise.all(
    parts.filter((p) => sampled.includes(p.tenantId) && p.operationId).map((p) => history(p.operationId!)),
  );
  return {
    tenants: parts.length,
    fixtures,
    setup: { registryMs, workflowsMs },
    wallMs,
    statuses,
    notSucceeded,
    settleMs,
    templateSettleMs,
    progress,
    halfwayMs: progress.find((p) => p.done >= parts.length / 2)?.atMs ?? wallMs,
    runs: runs.map(({ events, bytes, status }) => ({ events, bytes, status })),
    tenantHistory: { before: mean(before), after: mean(after), sampled: sampled.length },
    operationHistory: mean(operations),
    temporalDbBytes: { before: dbBefore, after: temporalDbBytes(dataDir) },
    cpu,
  };
}
