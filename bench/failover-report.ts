/** The failover benchmark's results as console text and as its subsection of docs/benchmarks.md. */
import { writeMarkedSection } from './docs-section.js';
import type { BarePromotion } from './failover-baseline.js';
import { FAILOVER_STEPS } from './failover.js';
import type {
  FailoverReport,
  LagSample,
  LandlordTenantFailover,
  RtoSegment,
  WriteCheck,
} from './failover.js';
import { percentile } from './load.js';
import { table } from './markdown-table.js';
import { machineFacts } from './report.js';

const SECTION = 'dr-failover';
/** The section this one is a subsection of (bench/dr-report.ts). */
const PARENT_SECTION = 'disaster-recovery';

/** Landlord's per-tenant RTO within 2x of the bare promotion's: bare / Landlord at least this. */
export const TARGET_RATIO = 0.5;

const int = (v: number) => Math.round(v).toLocaleString('en');
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const msOrS = (ms: number) => (ms >= 1000 ? secs(ms) : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`);
const x = (v: number) => `${v.toFixed(2)}x`;
const pct = (v: number) => `${Math.round(v * 100)}%`;
const duration = (ms: number) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : msOrS(ms);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const range = (values: number[]) =>
  values.length > 1
    ? `${msOrS(median(values))} (${msOrS(Math.min(...values))} – ${msOrS(Math.max(...values))})`
    : msOrS(values[0] ?? Number.NaN);

const segmentOf = (t: LandlordTenantFailover, name: string): RtoSegment =>
  t.segments.find((s) => s.name === name)!;
/** A tenant's data activities' waits for a worker, over its whole RTO. */
const queuedMs = (t: LandlordTenantFailover) => t.segments.reduce((n, s) => n + s.activityQueueMs, 0);
/** A segment's time outside its data activities' running and waiting: workflow tasks, with their local activities. */
const workflowOf = (s: RtoSegment) => s.ms - s.activityQueueMs - s.activityRunMs;

interface Figures {
  landlordRto: number[];
  bareTotals: number[];
  perTenantRatio: number;
  totalRatio: number;
  met: boolean;
  totalMet: boolean;
  rtoTargetMs: number;
  rpoTargetMs: number;
  rtoMet: number;
  rpoMet: number;
  caughtUp: number;
  rows: { landlord: number; bare: number };
  rowsLost: { landlord: number; bare: number };
}

function figures(report: FailoverReport): Figures {
  const tenants = report.landlord.tenants;
  const landlordRto = tenants.map((t) => t.measured.rtoMs);
  const bareTotals = report.bare.promotions.map((p) => p.totalMs);
  const perTenantRatio = median(bareTotals) / median(landlordRto);
  const totalRatio = report.bare.totalMs / report.landlord.totalRtoMs;
  const sum = (checks: WriteCheck[], pick: (c: WriteCheck) => number) =>
    checks.reduce((n, c) => n + pick(c), 0);
  return {
    landlordRto,
    bareTotals,
    perTenantRatio,
    totalRatio,
    met: perTenantRatio >= TARGET_RATIO,
    totalMet: totalRatio >= TARGET_RATIO,
    rtoTargetMs: tenants[0]?.rtoTargetMs ?? Number.NaN,
    rpoTargetMs: tenants[0]?.rpoTargetMs ?? Number.NaN,
    rtoMet: tenants.filter((t) => t.measured.rtoMet).length,
    rpoMet: tenants.filter((t) => t.measured.rpoMet).length,
    caughtUp: tenants.filter((t) => t.caughtUp).length,
    rows: {
      landlord: sum(report.writes.landlord, (c) => c.rowsWritten),
      bare: sum(report.writes.bare, (c) => c.rowsWritten),
    },
    rowsLost: {
      landlord: sum(report.writes.landlord, (c) => c.rowsLost),
      bare: sum(report.writes.bare, (c) => c.rowsLost),
    },
  };
}

function lagFigures(samples: LagSample[]) {
  const lags = samples.flatMap((s) => (s.lagMs !== undefined ? [s.lagMs] : [])).sort((a, b) => a - b);
  const bytes = samples.flatMap((s) => (s.lagBytes !== undefined ? [s.lagBytes] : []));
  return {
    samples: samples.length,
    tenants: new Set(samples.map((s) => s.tenantId)).size,
    streaming: samples.filter((s) => s.state === 'streaming').length,
    median: median(lags),
    p95: percentile(lags, 95),
    max: lags.at(-1) ?? Number.NaN,
    bytesMedian: median(bytes),
  };
}

const verdict = (ratio: number, met: boolean) =>
  met ? `**${x(ratio)}: met**` : `**${x(ratio)}: NOT met**, short by ${(TARGET_RATIO - ratio).toFixed(2)}x`;

/** What stopped a writer, in a few words. */
function stoppedBy(c: WriteCheck): string {
  if (!c.stopped) return 'still writing at the end';
  if (c.stopped.code === '57P01') return 'session ended (57P01)';
  if (c.stopped.code === '28000') return 'login refused (28000)';
  if (/not queryable|terminated/i.test(c.stopped.message)) return 'connection closed';
  return `${c.stopped.code ?? ''} ${c.stopped.message}`.trim();
}

function stopReasons(checks: WriteCheck[]): string {
  const counts = new Map<string, number>();
  for (const c of checks) counts.set(stoppedBy(c), (counts.get(stoppedBy(c)) ?? 0) + 1);
  return [...counts].map(([why, n]) => `${why}: ${n}`).join(', ');
}

function headlineTable(report: FailoverReport, f: Figures): string {
  const l = report.landlord;
  const b = report.bare;
  const waves = `${l.waves} wave${l.waves === 1 ? '' : 's'} of ${l.waveSize}`;
  return table(
    ['', 'per tenant: median (min – max)', `total: ${report.tenants} tenants, ${waves}`, 'machine busy'],
    [
      [
        "Landlord: each tenant's `failover` operation (`measured.rtoMs`); the region's `totalRtoMs`",
        range(f.landlordRto),
        secs(l.totalRtoMs),
        pct(l.machineBusy),
      ],
      [
        '… the approval sent → the region operation read as ended (long poll)',
        '',
        secs(l.approveToEndMs),
        '',
      ],
      [
        'Bare: fence, catch-up, promote by hand (bench/failover-baseline.ts)',
        range(f.bareTotals),
        secs(b.totalMs),
        pct(b.machineBusy),
      ],
      ['**bare / Landlord**', `**${x(f.perTenantRatio)}** (medians)`, `**${x(f.totalRatio)}**`, ''],
    ],
    ['l', 'r', 'r', 'r'],
  );
}

function lagTable(report: FailoverReport): string {
  const row = (name: string, samples: LagSample[]) => {
    const g = lagFigures(samples);
    return [
      name,
      `${g.samples} (${g.tenants} tenants)`,
      `${g.streaming}`,
      msOrS(g.median),
      msOrS(g.p95),
      msOrS(g.max),
      `${int(g.bytesMedian)} B`,
    ];
  };
  return table(
    [
      'replication lag under the write load',
      'samples',
      'streaming',
      'median',
      'p95',
      'max',
      'WAL not yet confirmed: median',
    ],
    [
      row("Landlord's tenants, before the region failover", report.lag.landlord),
      row("the bare run's tenants, before their promotion", report.lag.bare),
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

function landlordTenantsTable(report: FailoverReport): string {
  const checks = new Map(report.writes.landlord.map((c) => [c.tenantId, c]));
  return table(
    [
      'tenant',
      'wave',
      'RTO (`rtoMs`)',
      '`rtoMet`',
      'RPO (`rpoMs`)',
      'rows acknowledged',
      'last acknowledged id',
      "the writer's rows on the standby",
      'rows lost',
      'writer stopped by',
    ],
    report.landlord.tenants.map((t) => {
      const c = checks.get(t.tenantId);
      return [
        `\`${t.tenantId}\``,
        String(t.wave),
        msOrS(t.measured.rtoMs),
        t.measured.rtoMet ? 'yes' : '**no**',
        `${t.measured.rpoMs} ms`,
        c ? int(c.rowsWritten) : '',
        c?.lastId !== undefined ? int(c.lastId) : '',
        c ? int(c.standbyRows) : '',
        c ? (c.rowsLost === 0 ? '0' : `**${int(c.rowsLost)}**`) : '',
        c ? stoppedBy(c) : '',
      ];
    }),
    ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

function bareTenantsTable(report: FailoverReport): string {
  const checks = new Map(report.writes.bare.map((c) => [c.tenantId, c]));
  return table(
    [
      'tenant',
      'wave',
      'total',
      'fence',
      'catch-up (the heartbeat seen after)',
      'promote',
      'rows acknowledged',
      "the writer's rows on the standby",
      'rows lost',
      'writer stopped by',
    ],
    report.bare.promotions.map((p: BarePromotion) => {
      const c = checks.get(p.tenantId);
      return [
        `\`${p.tenantId}\``,
        String(p.wave),
        msOrS(p.totalMs),
        msOrS(p.fenceMs),
        `${msOrS(p.catchUpMs)} (${msOrS(p.catchUpLagMs)})`,
        msOrS(p.promoteMs),
        c ? int(c.rowsWritten) : '',
        c ? int(c.standbyRows) : '',
        c ? (c.rowsLost === 0 ? '0' : `**${int(c.rowsLost)}**`) : '',
        c ? stoppedBy(c) : '',
      ];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

/** Medians over Landlord's tenants of each part of the RTO, next to the bare run's. */
interface ProfileRows {
  segments: {
    name: string;
    label: string;
    ms: number;
    runMs: number;
    queueMs: number;
    workflowMs: number;
    bareMs?: number;
  }[];
  rtoMs: number;
  /** Medians over the tenants of their whole RTO's data activities running, waiting, and the rest. */
  runMs: number;
  queueMs: number;
  workflowMs: number;
  bareMs: number;
}

const SEGMENT_LABELS: Record<string, string> = {
  'fence-primary': '`fence-primary` (`setTenantStoreLogin`)',
  'promote-standby': '`promote-standby` (`catchUpStandby`, `promoteTenantStore`)',
  'switch-routing': '`switch-routing` (the registry: a local activity)',
  verify: '`verify` (`verifyServedStore`, `forwardDeletionEvidence`)',
  'between steps': 'between the steps',
  'after verify': 'after `verify` (`measureTenantReplication`, the recovery targets, the result)',
};

function profileRows(report: FailoverReport): ProfileRows {
  const tenants = report.landlord.tenants;
  const bare = report.bare.promotions;
  const bareOf: Record<string, number> = {
    'fence-primary': median(bare.map((p) => p.fenceMs)),
    'promote-standby': median(bare.map((p) => p.catchUpMs + p.promoteMs)),
  };
  const names = [...FAILOVER_STEPS, 'between steps', 'after verify'];
  const whole = (pick: (s: RtoSegment) => number) =>
    median(tenants.map((t) => t.segments.reduce((n, s) => n + pick(s), 0)));
  return {
    segments: names.map((name) => {
      const of = (pick: (s: RtoSegment) => number) => median(tenants.map((t) => pick(segmentOf(t, name))));
      return {
        name,
        label: SEGMENT_LABELS[name] ?? name,
        ms: of((s) => s.ms),
        runMs: of((s) => s.activityRunMs),
        queueMs: of((s) => s.activityQueueMs),
        workflowMs: of(workflowOf),
        ...(bareOf[name] !== undefined ? { bareMs: bareOf[name] } : {}),
      };
    }),
    rtoMs: median(tenants.map((t) => t.measured.rtoMs)),
    runMs: whole((s) => s.activityRunMs),
    queueMs: whole((s) => s.activityQueueMs),
    workflowMs: whole(workflowOf),
    bareMs: median(bare.map((p) => p.totalMs)),
  };
}

function profileTable(p: ProfileRows): string {
  return table(
    [
      "part of a tenant's RTO (median over the tenants)",
      'Landlord',
      'data activities running',
      'waiting for a data worker',
      'workflow tasks (local activities in them)',
      'bare: the same work',
    ],
    [
      ...p.segments.map((s) => [
        s.label,
        msOrS(s.ms),
        msOrS(s.runMs),
        msOrS(s.queueMs),
        msOrS(s.workflowMs),
        s.bareMs !== undefined ? msOrS(s.bareMs) : '—',
      ]),
      [
        '**the whole RTO**',
        `**${msOrS(p.rtoMs)}**`,
        msOrS(p.runMs),
        msOrS(p.queueMs),
        msOrS(p.workflowMs),
        `**${msOrS(p.bareMs)}**`,
      ],
    ],
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
}

function lifecycleTable(report: FailoverReport): string {
  const calls = [...report.landlord.lifecycleCalls].sort(
    (a, b) => b.count * b.medianMs - a.count * a.medianMs,
  );
  return table(
    ['lifecycle worker activity, from the approval to the end', 'kind', 'calls', 'median', 'max'],
    calls.map((c) => [
      `\`${c.name}\``,
      c.local ? 'local' : 'activity',
      String(c.count),
      msOrS(c.medianMs),
      msOrS(c.maxMs),
    ]),
    ['l', 'l', 'r', 'r', 'r'],
  );
}

function wavesTable(report: FailoverReport): string {
  const l = report.landlord;
  const rows = l.waveMs.map((ms, i) => {
    const wave = l.tenants.filter((t) => t.wave === i + 1);
    return [
      String(i + 1),
      String(wave.length),
      msOrS(ms),
      `${msOrS(median(wave.map((t) => t.measured.rtoMs)))} (${msOrS(Math.max(...wave.map((t) => t.measured.rtoMs)))})`,
      msOrS(median(wave.map((t) => t.dispatchMs))),
      msOrS(median(wave.map((t) => t.approvalStepMs))),
      msOrS(median(wave.map((t) => t.noticeMs))),
      msOrS(median(wave.map(queuedMs))),
    ];
  });
  return table(
    [
      'wave',
      'tenants',
      'span: first activity scheduled → last closed',
      'RTO: median (slowest)',
      'dispatch: median',
      '… of which the pre-approved `approval`',
      'notice: median',
      "a tenant's waits for a data worker: median",
    ],
    rows,
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** Counts of a list's names, most first: "projectOperation ×5, projectTenant ×1". */
function countsOf(names: string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([n, c]) => `\`${n}\` ×${c}`)
    .join(', ');
}

/** The waves' waits for a data worker, wider waves against narrower ones, when the waves differ in width. */
function waitsByWave(report: FailoverReport): string {
  const l = report.landlord;
  const widths = l.waveMs.map((_, i) => l.tenants.filter((t) => t.wave === i + 1));
  const wide = widths.filter((w) => w.length > 4).flat();
  const narrow = widths.filter((w) => w.length <= 4).flat();
  if (!wide.length || !narrow.length) return '';
  const wideMs = median(wide.map(queuedMs));
  const narrowMs = median(narrow.map(queuedMs));
  return `; in waves of more than 4 tenants a tenant waited ${msOrS(wideMs)} (median), in waves of 4 or fewer
  ${msOrS(narrowMs)}${
    wideMs < 1.25 * narrowMs
      ? ": about as long, so the slots are not what they wait for, but each task's way from Temporal to the worker"
      : ': the slots hold the wider waves up'
  }`;
}

function findings(report: FailoverReport, p: ProfileRows): string {
  const seg = (name: string) => p.segments.find((s) => s.name === name)!;
  const fence = seg('fence-primary');
  const promote = seg('promote-standby');
  const verify = seg('verify');
  const after = seg('after verify');
  const routing = seg('switch-routing');
  const shared = {
    ms: fence.ms + promote.ms,
    runMs: fence.runMs + promote.runMs,
    queueMs: fence.queueMs + promote.queueMs,
    workflowMs: fence.workflowMs + promote.workflowMs,
    bareMs: (fence.bareMs ?? 0) + (promote.bareMs ?? 0),
  };
  const landlordOnly = verify.ms + after.ms + routing.ms;
  const tenants = report.landlord.tenants;
  const workflowTasks = median(tenants.map((t) => t.workflowTasks.count));
  const workflowTaskMs = median(tenants.map((t) => t.workflowTasks.ms));
  const workflowTaskQueueMs = median(tenants.map((t) => t.workflowTasks.queueMs));
  const activities = median(tenants.map((t) => t.segments.reduce((n, s) => n + s.activities.length, 0)));
  const sample = tenants[0];
  const l = report.landlord;
  const call = (name: string) => l.lifecycleCalls.find((c) => c.name === name);
  const projectOperation = call('projectOperation');
  const localMs = sample
    ? sample.localActivities.reduce((n, name) => n + (call(name)?.medianMs ?? 0), 0)
    : Number.NaN;
  const wavesMs = l.waveMs.reduce((n, v) => n + v, 0);
  const between = l.outsideWaves.betweenMs.reduce((n, v) => n + v, 0);
  return `Landlord's per-tenant RTO (${msOrS(p.rtoMs)}, median) is ${msOrS(p.rtoMs - p.bareMs)} more than the bare
promotion's (${msOrS(p.bareMs)}). From each tenant's failover operation (its steps' times) and its
workflow history (Temporal's event times), medians over the tenants:

- **The same work as the bare run**, the fence, the catch-up and the promotion, took ${msOrS(shared.ms)} in
  Landlord: the data activities ran ${msOrS(shared.runMs)} of it (the bare run's same dataplane calls took
  ${msOrS(shared.bareMs)}${
    shared.runMs > 1.15 * shared.bareMs
      ? "; the activities do a little more than those calls: `catchUpStandby` records the measurement in the registry, `promoteTenantStore` reads the tenant's erasure list"
      : ''
  }), waited ${msOrS(shared.queueMs)} for a data worker, and the workflow tasks between them took
  ${msOrS(shared.workflowMs)}.
- **Work the bare run does not do**: \`verify\` (${msOrS(verify.ms)}: each table's rows counted in the promoted store
  and in the fenced one, logins and subscriptions checked, deletion evidence forwarded), the replication
  measurement and the recovery targets after it (${msOrS(after.ms)}), \`switch-routing\` (${msOrS(routing.ms)}). Without them
  Landlord's RTO would be about ${msOrS(p.rtoMs - landlordOnly)}, ${x(p.bareMs / (p.rtoMs - landlordOnly))} of the bare promotion's (an estimate from
  these medians, not measured).
- **Waiting for a data worker**: ${msOrS(p.queueMs)} per tenant, over its ${activities} data activities (${msOrS(p.queueMs / activities)} each). The data worker runs at most 4 activities at once (\`maxConcurrentActivityTaskExecutions\` in
  workers/data.ts)${waitsByWave(report)}.
- **Workflow tasks**: of the whole RTO, the data activities ran ${msOrS(p.runMs)} and waited ${msOrS(p.queueMs)} for a worker;
  the other ${msOrS(p.workflowMs)} (${pct(p.workflowMs / p.rtoMs)}) is workflow tasks, from one activity's close to the next one's
  schedule: ${workflowTasks} per failover operation, ${msOrS(workflowTaskMs)} from scheduled to completed in all (the
  operation's first and last included), of which ${msOrS(workflowTaskQueueMs)} waiting for the lifecycle worker to start them${
    sample
      ? `; ${sample.localActivities.length} local activities run in them (${countsOf(sample.localActivities)})`
      : ''
  }. A workflow task completes, and so sends the command that schedules the next activity, only once its
  local activities have finished; but those are short: timed where they ran (the lifecycle worker, in the
  benchmark's process), ${
    projectOperation
      ? `the registry's \`projectOperation\` took a median of ${msOrS(projectOperation.medianMs)} (${projectOperation.count} calls, at most ${msOrS(projectOperation.maxMs)})`
      : 'they took a few ms each'
  }, about ${msOrS(localMs)} per failover at their medians (the table below). The rest of the workflow tasks' time is
  their own turnaround in the lifecycle worker: the workflow's activation in its sandbox and a round trip
  between the SDK's core and the workflow for each local activity, on a machine whose ${machineFacts().cpus} CPUs were
  ${pct(l.machineBusy)} busy meanwhile.

${profileTable(p)}

"Running" is each data activity's \`ActivityTaskStarted\` to its close, "waiting", \`ActivityTaskScheduled\` to
started; the workflow tasks are the rest of the step. The bare run's promotion is its catch-up and its
\`promoteTarget\`.

${lifecycleTable(report)}

**The region's total** (${secs(l.totalRtoMs)}) is its waves (${secs(wavesMs)}: from each wave's first
\`failOverTenantOfRegion\` activity scheduled to its last closed), ${msOrS(l.outsideWaves.beforeFirstMs)} from the approval to the
first wave${l.outsideWaves.betweenMs.length ? `, ${msOrS(between)} between the waves (the progress written to the registry)` : ''} and ${msOrS(l.outsideWaves.afterLastMs)} after the last. A wave lasts
as long as its slowest tenant's RTO plus its **dispatch** (the region's activity scheduled → the tenant's
RTO starting: the update to the tenant's workflow, its operation's child workflow started and its
first workflow task, the pre-approved \`approval\` step checking the region's approval) and its **notice**
(the tenant's RTO over → the region's activity closed: the operation's end written, the registry's long
poll waking the activity). The bare run has neither: its next wave starts as soon as one ends.

${wavesTable(report)}`;
}

/** Why fewer tenants than planned were measured, when they were; with a blank line after. */
function fewerTenants(report: FailoverReport): string {
  if (report.tenants >= report.plan.tenants) return '';
  return `**${report.tenants} tenants a side, not ${report.plan.tenants}.** The standby region's server (Postgres ${report.standbyServerVersion}) tracks at
most \`max_active_replication_origins\` = ${report.standbyOrigins} replication origins${report.standbyOrigins === 10 ? ", Postgres 18's default" : ''}: scripts/servers/postgres.ts
raises \`max_replication_slots\` and the worker counts for a hundred DR tenants a server, not this setting, new in
18 (before it, the slots' setting capped the origins too). Each subscription's apply worker holds an origin, and
each table being copied in its first sync another, so with ${report.standbyOrigins! - 1} standbys streaming the next subscription's
apply worker takes the last origin and its tables' copies never start (\`could not find free replication state
slot for replication origin\` in the standby server's log): that tenant's onboarding waits in
\`start-replication\` until it times out. This benchmark measured as many tenants as the server can seed, and
\`npm start\` on these servers holds no more than ${report.standbyOrigins! - 1} DR tenants per standby region. With the setting
raised, the benchmark measures ${report.plan.tenants}.

`;
}

function markdownSection(report: FailoverReport): string {
  const m = machineFacts();
  const f = figures(report);
  const p = profileRows(report);
  const { plan } = report;
  const l = report.landlord;
  const perSecond = 1000 / plan.writeIntervalMs;
  const lagL = lagFigures(report.lag.landlord);
  return `### Failover

_Written by \`npm run bench -- failover\` (bench/failover.ts); edit the benchmark, not this section._

**What is measured.** A region failover of **${report.tenants} enterprise tenants** homed in \`local-a\`: each a silo
database there and a standby in \`local-b\` (its DR partner), kept current by Postgres logical
replication since onboarding's \`start-replication\` step (dataplane/replication.ts). Landlord runs as
\`npm start\` runs it: the API and the lifecycle worker in the benchmark's process, the provisioning and
data workers in processes of their own; the Temporal dev server and one embedded Postgres server per
region on the same machine.

- **Write load** (bench/failover-writer-main.ts, a process of its own): per tenant, one connection to
  its home silo database as the tenant's own role and an \`INSERT INTO activity_log … RETURNING id\` every
  ${plan.writeIntervalMs} ms (${perSecond} a second per tenant, ${perSecond * report.tenants} in all), each acknowledged id kept. It runs
  through the lag measurement and the failover; the fence ends the role's sessions and refuses its
  logins, and a tenant's writer stops at its first failed insert. (The benchmark gives the tenant's role
  on \`local-a\` a password of its own; the application would use the one its silo stack generated.)
- **Replication lag under that load**: for ${plan.lagWindowMs / 1000} s, every ${plan.lagEveryMs / 1000} s, every tenant's replication
  measured at once by \`measureReplication\` (dataplane/replication.ts), as Landlord measures it: a
  heartbeat row written in the home silo, and the time until the standby holds it (polled after 5, 10,
  20 … 200 ms, each poll on a new connection, which bounds its resolution).
- **Landlord**: \`POST /v1/regions/local-a/failover\` \`{ "waveSize": ${l.waveSize} }\` with an operator's key, approved with
  an admin's (\`POST /v1/operations/{id}/approve\`; four eyes), then \`GET /v1/operations/{id}?wait=30s\`
  until it ended. Each tenant's failover is an operation of its own, pre-approved by the region's
  (\`approval\` → \`fence-primary\` → \`promote-standby\` → \`switch-routing\` → \`verify\`), a wave's at once. **RTO per
  tenant** is its operation's \`measured.rtoMs\` (its approval to its end); **total** is the region
  operation's \`totalRtoMs\` (its approval to the last wave's end).
- **Bare** (bench/failover-baseline.ts): ${report.tenants} other enterprise tenants, onboarded the same way after
  Landlord's run (a region failover takes every DR tenant of the region along), under the same write
  load, their standbys promoted from the benchmark's process with the dataplane functions Landlord's
  activities call and nothing else: \`setEndLogin\` (\`ALTER ROLE … NOLOGIN\`, the role's sessions
  ended), \`measureReplication\` (a heartbeat written after the fence, seen on the standby), \`promoteTarget\`
  (\`DROP SUBSCRIPTION\`, the sequences moved past the rows, \`ALTER ROLE … LOGIN\`); in waves of ${report.bare.waveSize}, a
  wave's at once. Per tenant: from the fence to the login; total: the first wave's start to the last's end.
- **RPO, measured**: after each run, every row a writer had acknowledged looked up in the promoted
  standby (\`local-b\`): "rows lost".

${fewerTenants(report)}${headlineTable(report, f)}

"Machine busy" is the whole machine's CPU time from the approval to the end (Landlord) or over the
promotions (bare), of its ${m.cpus} CPUs.

**Targets** (same run, same servers, same write load):

- Per tenant, Landlord's RTO within 2x of the bare promotion's (bare / Landlord at least ${x(TARGET_RATIO)}):
  ${verdict(f.perTenantRatio, f.met)} (${msOrS(median(f.landlordRto))} against ${msOrS(median(f.bareTotals))}, medians).
- In all, by the same yardstick: ${verdict(f.totalRatio, f.totalMet)} (${secs(l.totalRtoMs)} against ${secs(report.bare.totalMs)}).
- Tier \`enterprise\`'s RTO (${duration(f.rtoTargetMs)}): met by ${f.rtoMet} of ${l.tenants.length} tenants (\`rtoMet\`); its RPO
  (${duration(f.rpoTargetMs)}): met by ${f.rpoMet} of ${l.tenants.length} (\`rpoMet\`); ${f.caughtUp} of ${l.tenants.length} standbys held a heartbeat written after the fence
  before they were promoted (\`caughtUp\`, \`rpoMs\` 0).
- Rows lost: **${int(f.rowsLost.landlord)}** of ${int(f.rows.landlord)} acknowledged (Landlord), **${int(f.rowsLost.bare)}** of ${int(f.rows.bare)} (bare). The writers
  stopped at the fence: ${stopReasons(report.writes.landlord)} (Landlord); ${stopReasons(report.writes.bare)} (bare).

**Replication lag (RPO) under the write load**: ${msOrS(lagL.median)} median, ${msOrS(lagL.p95)} at the 95th percentile
over ${lagL.samples} measurements of Landlord's tenants, against the tier's RPO of ${duration(f.rpoTargetMs)}. The writers' inserts took
${msOrS(median(report.writes.landlord.map((c) => c.insertP50Ms)))} at the median and ${msOrS(median(report.writes.landlord.map((c) => c.insertP99Ms)))} at the 99th percentile over their whole run (each tenant's; the median over the tenants).

${lagTable(report)}

Each tenant, Landlord:

${landlordTenantsTable(report)}

Each tenant, bare:

${bareTenantsTable(report)}

#### Profile: where a tenant's RTO goes

${findings(report, p)}

**Caveats.** One region failover and one bare run, each on tenants of its own, Landlord's first (the
bare run's tenants can only be onboarded after it); the per-tenant figures are medians over the
tenants of one run, the totals single figures: on this shared machine a rerun can move single figures
by tens of percent, and the ratios with them.

**Reproduce.** \`npm run bench -- failover\` (this run: ${Math.round(report.durationMs / 1000)} s, plus starting and stopping the
servers; onboarding the two sets of ${report.tenants} tenants, ${plan.onboardConcurrency} at once, took ${Math.round(report.onboarding.landlordSetMs / 1000)} s and ${Math.round(report.onboarding.bareSetMs / 1000)} s).
\`BENCH_QUICK=1\` is a smoke run (3 tenants a side, one wave of 3, 10 s of lag measurement) that
leaves this file alone; \`BENCH_FAILOVER_JSON=<file>\` also writes the raw figures.

**Machine.** A shared ${m.cpus}-CPU box (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux; load
average at start ${report.loadAtStart.join(' / ')}, at the end ${report.loadAtEnd.join(' / ')}. Run on
${report.date}.`;
}

export function failoverConsoleSummary(report: FailoverReport): string {
  const f = figures(report);
  const p = profileRows(report);
  const l = report.landlord;
  const lagL = lagFigures(report.lag.landlord);
  const lagB = lagFigures(report.lag.bare);
  return [
    `Region failover of ${report.tenants} enterprise tenants (local-a → local-b), waves of ${l.waveSize}, under a write load`,
    `  Landlord: per tenant RTO ${range(f.landlordRto)}, total ${secs(l.totalRtoMs)} (approval → end read ${secs(l.approveToEndMs)})`,
    `  bare:     per tenant ${range(f.bareTotals)}, total ${secs(report.bare.totalMs)}`,
    `  bare / Landlord: per tenant (medians) ${x(f.perTenantRatio)}, total ${x(f.totalRatio)}; ` +
      `target >= ${x(TARGET_RATIO)} per tenant: ${f.met ? 'met' : `NOT met, short by ${(TARGET_RATIO - f.perTenantRatio).toFixed(2)}x`}`,
    `  tier RTO ${duration(f.rtoTargetMs)}: met by ${f.rtoMet} of ${l.tenants.length}; RPO ${duration(f.rpoTargetMs)}: met by ${f.rpoMet}; ` +
      `rows lost: Landlord ${f.rowsLost.landlord} of ${f.rows.landlord}, bare ${f.rowsLost.bare} of ${f.rows.bare}`,
    `  replication lag under load: median ${msOrS(lagL.median)}, p95 ${msOrS(lagL.p95)} (${lagL.samples} samples); ` +
      `bare run's tenants: median ${msOrS(lagB.median)}, p95 ${msOrS(lagB.p95)}`,
    ...(report.tenants < report.plan.tenants
      ? [
          `  ${report.tenants} tenants a side, not ${report.plan.tenants}: local-b's max_active_replication_origins is ${report.standbyOrigins}`,
        ]
      : []),
    `  a tenant's RTO, medians: ${p.segments.map((s) => `${s.name} ${msOrS(s.ms)}`).join(', ')}`,
  ].join('\n');
}

export function writeFailoverDocsSection(file: string, report: FailoverReport): void {
  writeMarkedSection(file, SECTION, markdownSection(report), { after: PARENT_SECTION });
}
