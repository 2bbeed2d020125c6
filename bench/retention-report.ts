/** The retention benchmark's results as console text and as its section of docs/benchmarks.md. */
import { writeMarkedSection } from './docs-section.js';
import type { QueryTotals } from './pg-trace.js';
import type { ServerActivity } from './pg-server-stats.js';
import { machineFacts } from './report.js';
import { FLEET_DEFAULT, FLEET_TARGET } from './retention.js';
import type { DeletionPhase, PhaseMeasures, RetentionReport, WriterStats } from './retention.js';
import { PARTS_PER_HISTORY } from './retention-fleet.js';
import { table } from './markdown-table.js';

const SECTION = 'retention';

/** Landlord's rows/s at least this share of the baseline's. */
export const TARGET_RATE_RATIO = 0.8;
/** The writer's p99 during Landlord's deletion at most this multiple of its p99 with no deletion. */
export const TARGET_WRITER_RATIO = 1.2;

const int = (v: number) => Math.round(v).toLocaleString('en');
const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en')} ms`;
const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
const x = (v: number) => `${v.toFixed(2)}x`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const rate = (rows: number, wallMs: number) => rows / (wallMs / 1000);

interface Verdicts {
  rateRatio: number;
  rateMet: boolean;
  writerRatio: number;
  writerMet: boolean;
  baselineWriterRatio: number;
  text: string;
}

function verdicts(report: RetentionReport): Verdicts | undefined {
  const { landlord: l, baseline: b, writerQuiet: quiet } = report;
  if (!l || !b || !quiet) return undefined;
  const rateRatio = rate(l.rows, l.wallMs) / rate(b.rows, b.wallMs);
  const writerRatio = l.during.writer.p99 / quiet.p99;
  const rateMet = rateRatio >= TARGET_RATE_RATIO;
  const writerMet = writerRatio <= TARGET_WRITER_RATIO;
  const text = [
    `rows/s ${x(rateRatio)} the baseline's (target >= ${TARGET_RATE_RATIO}x: ${rateMet ? 'met' : `NOT met, short by ${(TARGET_RATE_RATIO - rateRatio).toFixed(2)}x`})`,
    `the writer's p99 during Landlord's run ${x(writerRatio)} its p99 with no deletion (target <= ${TARGET_WRITER_RATIO}x: ${writerMet ? 'met' : `NOT met, over by ${(writerRatio - TARGET_WRITER_RATIO).toFixed(2)}x`})`,
  ].join('; ');
  return {
    rateRatio,
    rateMet,
    writerRatio,
    writerMet,
    baselineWriterRatio: b.during.writer.p99 / quiet.p99,
    text,
  };
}

function deletionTable(report: RetentionReport): string {
  const l = report.landlord!;
  const b = report.baseline!;
  const sizes = report.breakdown!.batchSizes;
  const row = (name: string, p: DeletionPhase) => [
    name,
    int(p.rows),
    int(p.batches),
    s(p.wallMs),
    int(rate(p.rows, p.wallMs)),
    mib(p.during.servers.region.walBytes),
    `${int(p.during.servers.region.walBytes / p.rows)} B`,
  ];
  return table(
    ['', 'rows deleted', 'batches', 'wall', 'rows/s', 'WAL written (region server)', 'WAL per row'],
    [
      row('Landlord: `POST /v1/retention/runs` → run `succeeded`', l),
      row('Baseline: `DELETE … WHERE ctid = ANY($1)` script', b),
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  ).concat(
    `\n\nThe WAL figures include the writer's inserts over the same time (about ${mib(
      (l.quiet.servers.region.walBytes / l.quiet.cpu.wallMs) * 1000,
    )}/s with nothing deleting). Batch sizes (Landlord's, replayed by the baseline for the same tenant and table): min ${int(sizes.min)}, ` +
      `median ${int(sizes.p50)}, mean ${int(sizes.mean)}, max ${int(sizes.max)}. The longest of Landlord's batches held ` +
      `its locks ${ms(report.breakdown!.longestBatchMs)} (budget ${report.lockBudgetMs} ms); the baseline's DELETEs took ` +
      `${ms(b.batchP50Ms)} at the median and ${ms(b.batchP99Ms)} at p99.`,
  );
}

function writerRow(name: string, w: WriterStats, quiet?: WriterStats): string[] {
  return [
    name,
    int(w.count),
    ms(w.p50),
    ms(w.p99),
    ms(w.max),
    ms(w.serviceP99),
    quiet ? x(w.p99 / quiet.p99) : '—',
  ];
}

function writerTable(report: RetentionReport): string {
  const l = report.landlord!;
  const b = report.baseline!;
  const quiet = report.writerQuiet!;
  return table(
    [
      'writer window',
      'inserts',
      'p50',
      'p99',
      'max',
      'p99 handed to its connection → answer',
      'p99 vs. no deletion',
    ],
    [
      writerRow(`no deletion, before Landlord's run (${s(l.quiet.cpu.wallMs)})`, l.quiet.writer),
      writerRow(`no deletion, before the baseline (${s(b.quiet.cpu.wallMs)})`, b.quiet.writer),
      writerRow('**no deletion, both windows together** (the reference)', quiet),
      writerRow(`during Landlord's run (${s(l.wallMs)})`, l.during.writer, quiet),
      writerRow(`during the baseline (${s(b.wallMs)})`, b.during.writer, quiet),
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

const cpuCell = (v: number, wallMs: number) => `${(v / (wallMs / 1000)).toFixed(2)}`;

function windowsTable(report: RetentionReport): string {
  const l = report.landlord!;
  const b = report.baseline!;
  const windows: [string, PhaseMeasures][] = [
    ["before Landlord's run", l.quiet],
    ["Landlord's run", l.during],
    ['before the baseline', b.quiet],
    ['baseline', b.during],
  ];
  const ours = (c: PhaseMeasures['cpu']) =>
    c.regionPostgres + c.registryPostgres + c.temporal + c.self + c.dataWorker + c.writer;
  const cpu = table(
    [
      'window',
      'machine',
      'region Postgres',
      'registry Postgres',
      'Temporal',
      'benchmark process',
      'data worker',
      'writer',
      'not ours',
    ],
    windows.map(([name, m]) => {
      const c = m.cpu;
      return [
        name,
        cpuCell(c.machine, c.wallMs),
        cpuCell(c.regionPostgres, c.wallMs),
        cpuCell(c.registryPostgres, c.wallMs),
        cpuCell(c.temporal, c.wallMs),
        cpuCell(c.self, c.wallMs),
        cpuCell(c.dataWorker, c.wallMs),
        cpuCell(c.writer, c.wallMs),
        cpuCell(Math.max(0, c.machine - ours(c)), c.wallMs),
      ];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const perSecond = (a: ServerActivity, wallMs: number) => {
    const sec = wallMs / 1000;
    return [
      int(a.commits / sec),
      mib(a.walBytes / sec),
      int(a.walFullPageImages / sec),
      a.walFsyncs === undefined ? '—' : int(a.walFsyncs / sec),
    ];
  };
  const servers = table(
    [
      'window',
      'region: commits/s',
      'region: WAL/s',
      'region: full-page images/s',
      'region: WAL fsyncs/s',
      'registry: commits/s',
      'registry: WAL/s',
      'registry: full-page images/s',
      'registry: WAL fsyncs/s',
    ],
    windows.map(([name, m]) => [
      name,
      ...perSecond(m.servers.region, m.cpu.wallMs),
      ...perSecond(m.servers.registry, m.cpu.wallMs),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const waitsOf = (m: PhaseMeasures, app: string) => {
    const w = m.waits[app] ?? {};
    const total = Object.values(w).reduce((n, v) => n + v, 0);
    if (total === 0) return '—';
    return Object.entries(w)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([state, n]) => `${state} ${Math.round((100 * n) / total)}%`)
      .join(', ');
  };
  const waits = table(
    ['window', 'samples', "writer's active inserts: on CPU or waiting on", "deleters' sessions"],
    windows.map(([name, m]) => [
      name,
      int(m.waitSamples),
      waitsOf(m, 'bench-writer'),
      waitsOf(
        m,
        name.includes('Landlord') ? 'landlord-retention' : name === 'baseline' ? 'bench-baseline' : '—',
      ),
    ]),
    ['l', 'r', 'l', 'l'],
  );
  return `CPUs busy (CPU-seconds per second; \`/proc\`, each process with everything under it; "not ours" is
the machine's busy time less everything this benchmark started: other work on the machine):

${cpu}

What the two Postgres servers wrote (\`pg_stat_database\`, \`pg_stat_wal\`, \`pg_stat_io\`; both on this machine's one disk):

${servers}

What active sessions were doing, from \`pg_stat_activity\` sampled every 100 ms on the region's server
(share of the samples in which a session of that application was active; \`CPU\` = no wait event):

${waits}`;
}

/** Statement totals as rows, longest first, with each kind's share of `laneMs`. */
function queryRows(
  q: QueryTotals,
  laneMs: number,
  skip: (kind: string) => boolean = () => false,
): string[][] {
  return Object.entries(q)
    .filter(([kind]) => !skip(kind))
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([kind, t]) => [
      kind,
      int(t.count),
      s(t.ms),
      ms(t.ms / t.count),
      `${Math.round((100 * t.ms) / laneMs)}%`,
    ]);
}

const OFF_LANE = (kind: string) => kind === 'lock watchdog' || kind === 'wait sampler (bench)';

function profile(report: RetentionReport): string {
  const l = report.landlord!;
  const b = report.baseline!;
  const br = report.breakdown!;
  const lanes = report.concurrency;
  const lLane = l.wallMs * lanes;
  const bLane = b.wallMs * lanes;
  const inStatements = (q: QueryTotals) =>
    Object.entries(q)
      .filter(([kind]) => !OFF_LANE(kind))
      .reduce((n, [, t]) => n + t.ms, 0);
  const lStatements = inStatements(l.queries.dataWorker);
  const bStatements = inStatements(b.queries.bench);
  const stepRows = [
    [
      'operation accepted → delete step starts (tenant workflow, child workflow, activity dispatch)',
      br.beforeDeleteMs,
    ],
    [
      'delete step (the data worker: count, batches with their evidence, holds before each batch)',
      br.deleteMs,
    ],
    ['evidence step (outbox → ledger, one hash-chained append per batch)', br.evidenceMs],
    [
      'operation ended → part recorded with the run (the run activity wakes, writes the part)',
      br.recordPartMs,
    ],
  ] as const;
  const stepSum = stepRows.reduce((n, [, v]) => n + v, 0);
  const steps = table(
    ['where', 'lane time', 'share'],
    [
      ...stepRows.map(([name, v]) => [name, s(v), `${Math.round((100 * v) / lLane)}%`]),
      [
        "the rest: the run's start and end, lanes idle while the last parts finish",
        s(Math.max(0, lLane - stepSum)),
        `${Math.round((100 * Math.max(0, lLane - stepSum)) / lLane)}%`,
      ],
    ],
    ['l', 'r', 'r'],
  );
  /** Statements of one side, then the lane time spent in none of them. */
  const statementTable = (what: string, rows: string[][], lane: number, inStatements: number, rest: string) =>
    table(
      [what, 'count', 'time', 'each', 'of lane time'],
      [
        ...rows,
        [rest, '', s(lane - inStatements), '', `${Math.round((100 * (lane - inStatements)) / lane)}%`],
      ],
      ['l', 'r', 'r', 'r', 'r'],
    );
  const workerTable = statementTable(
    'data worker statement',
    queryRows(l.queries.dataWorker, lLane, OFF_LANE),
    lLane,
    lStatements,
    "*not in a data-worker statement (Temporal, the workflows' registry writes, JS, idle lanes)*",
  );
  const baselineTable = statementTable(
    'baseline statement',
    queryRows(b.queries.bench, bLane, OFF_LANE),
    bLane,
    bStatements,
    '*not in a statement (idle lanes at the tail, JS)*',
  );
  const benchRows = queryRows(l.queries.bench, lLane, OFF_LANE);
  const benchMs = inStatements(l.queries.bench);
  return `Both sides run ${lanes} tenants at once (the run's window, \`concurrency\` in config/retention.json,
and the data worker's ${lanes} activity slots; the baseline script ${lanes} lanes), so the wall time
times ${lanes} is the lane time there was to spend: **${s(lLane)}** for Landlord, **${s(bLane)}**
for the baseline. Where Landlord's went, from each part's operation steps in the registry (summed
over the ${br.parts} parts):

${steps}

And statement by statement, timed in the data worker's process around every \`pg\` query and
connect (bench/pg-trace.ts; the lock watchdog's queries run beside the lanes and are left out):

${workerTable}

The baseline's lanes, the same way:

${baselineTable}

Meanwhile the lifecycle worker and the API (this process) spent ${s(benchMs)} in registry
statements for the run and its operations (${benchRows
    .slice(0, 4)
    .map((r) => `${r[0]} ${r[2]}`)
    .join(', ')}).`;
}

function fleetSection(report: RetentionReport): string {
  const f = report.fleet!;
  const pace = f.tenants / (f.wallMs / 1000);
  const firstHalf = f.tenants / 2 / (f.halfwayMs / 1000);
  const secondHalf = f.tenants / 2 / ((f.wallMs - f.halfwayMs) / 1000);
  const maxRun = f.runs.reduce(
    (m, r) => (r.events > m.events ? r : m),
    f.runs[0] ?? { events: 0, bytes: 0, status: '' },
  );
  const perPart = {
    events: f.tenantHistory.after.events - f.tenantHistory.before.events,
    bytes: f.tenantHistory.after.bytes - f.tenantHistory.before.bytes,
  };
  const measured = f.tenants >= FLEET_TARGET;
  const cpu = f.cpu;
  const perPartCpu = (v: number) => `${Math.round((v * 1000) / f.tenants)} ms`;
  const extrapolation = measured
    ? ''
    : `

**Extrapolated to ${int(FLEET_TARGET)} tenants (not measured).** This run went over ${int(f.tenants)}
tenants, the most this 2-CPU machine gets through in about ten minutes; ${int(FLEET_TARGET)} were not
run. The pace ${secondHalf >= firstHalf * 0.9 ? 'held' : 'fell'} from the first half of the run to the second (${firstHalf.toFixed(1)} and
${secondHalf.toFixed(1)} parts/s), so at ${pace.toFixed(1)} parts/s a run over ${int(FLEET_TARGET)} tenants would take
about **${(FLEET_TARGET / pace / 60).toFixed(0)} minutes** on this machine. Its histories would not grow with
it: the run continues as new every ${PARTS_PER_HISTORY} parts, so it would be
${Math.ceil(FLEET_TARGET / PARTS_PER_HISTORY)} executions of about ${int(maxRun.events)} events
(${kib(maxRun.bytes)}) each, and each tenant's workflow grows by the same ${int(perPart.events)}
events per part whatever the fleet's size. The Temporal database would grow by about
${mib(((f.temporalDbBytes.after - f.temporalDbBytes.before) / f.tenants) * FLEET_TARGET)} at the same
${kib((f.temporalDbBytes.after - f.temporalDbBytes.before) / f.tenants)} per tenant.`;
  return `**What is measured.** One retention run (\`POST /v1/retention/runs\` with no tenant list: every
active tenant, no force) over **${int(f.tenants)} tenants with nothing to delete**: one basic pool
tenant onboarded through the API, ${report.landlord ? `the ${report.tenants.pool + report.tenants.silo} tenants of the deletion above (their expired rows already gone), ` : ''}and
${int(f.fixtures)} fixtures. A fixture is a registry record copied from the onboarded tenant's and a
real tenant workflow started in the state an onboarded tenant's workflow is in (active, its record,
nothing queued); onboarding thousands through the API would take longer than the run. Everything
the run does with a fixture is real: it lists it from the registry, asks its workflow for an
\`apply-retention\` operation (an update, a child workflow, the data worker's two activities, which
count its rows in every table of the pool database, find none expired and forward no evidence) and
records its part. Setting up the fixtures took ${s(f.setup.registryMs)} (registry records),
${s(f.setup.workflowsMs)} (starting their workflows) and ${s(f.settleMs)} more for the lifecycle worker to
run their first workflow tasks, all before the run and outside its timing (the onboarded tenant's own
workflow showed it active and idle ${ms(f.templateSettleMs)} after its onboarding showed \`succeeded\`).${
    f.notSucceeded.length > 0
      ? `\n\n**Parts that did not succeed:** ${f.notSucceeded
          .map((p) => {
            const last = p.events?.at(-1);
            return (
              `${p.tenantId}${p.fixture ? ' (a fixture)' : ''} ${p.status}${p.reason ? `, "${p.reason}"` : ''}` +
              (last
                ? `, although its workflow's last event (${last.split(' ')[1]}) came ${s(-Number(last.split(' ')[0]))} before the run started (see below)`
                : '')
            );
          })
          .join('; ')}.`
      : ''
  }

${table(
  [
    'tenants',
    'parts succeeded',
    'wall',
    'parts/s',
    'first half / second half',
    'CPU per part: Temporal',
    'lifecycle worker + API',
    'data worker',
    'Postgres (region + registry)',
    'machine busy',
  ],
  [
    [
      int(f.tenants),
      int(f.statuses.succeeded ?? 0),
      s(f.wallMs),
      pace.toFixed(1),
      `${firstHalf.toFixed(1)} / ${secondHalf.toFixed(1)}`,
      perPartCpu(cpu.temporal),
      perPartCpu(cpu.self),
      perPartCpu(cpu.dataWorker),
      perPartCpu(cpu.regionPostgres + cpu.registryPostgres),
      `${(cpu.machine / (cpu.wallMs / 1000)).toFixed(2)} of 2 CPUs`,
    ],
  ],
  ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
)}

**History sizes** (events and bytes as Temporal reports them, \`describe()\` and the visibility list):

${table(
  ['history', 'events', 'size'],
  [
    ...f.runs.map((r, i) => [
      `run workflow, execution ${i + 1} of ${f.runs.length} (${r.status === 'CONTINUED_AS_NEW' ? 'continued as new' : r.status.toLowerCase()})`,
      int(r.events),
      kib(r.bytes),
    ]),
    [
      `a tenant workflow (fixture, mean of ${f.tenantHistory.sampled}) before the run`,
      int(f.tenantHistory.before.events),
      kib(f.tenantHistory.before.bytes),
    ],
    ['… after its part', int(f.tenantHistory.after.events), kib(f.tenantHistory.after.bytes)],
    ['… added by one part', int(perPart.events), kib(perPart.bytes)],
    [
      "a part's `apply-retention` child workflow",
      int(f.operationHistory.events),
      kib(f.operationHistory.bytes),
    ],
    [
      "Temporal's SQLite files (database and WAL), growth over the run",
      '',
      mib(f.temporalDbBytes.after - f.temporalDbBytes.before),
    ],
  ],
  ['l', 'r', 'r'],
)}

The run's history is bounded by its continue-as-new every ${PARTS_PER_HISTORY} parts, whatever the
fleet's size. A tenant workflow grows by ${int(perPart.events)} events per part and continues as new
when Temporal suggests it.${extrapolation}`;
}

function markdownSection(report: RetentionReport): string {
  const m = machineFacts();
  const v = verdicts(report);
  const deletion =
    report.landlord && report.baseline && report.breakdown && v
      ? `### Deleting ${int(report.expiredRows)} of ${int(report.seededRows)} rows

**What is measured.** ${report.tenants.pool} pool tenants (tier \`basic\`, region \`local-a\`) and
${report.tenants.silo} silo tenant${report.tenants.silo === 1 ? '' : 's'} (tier \`premium\`, a database each on the same server), onboarded
through the API. Into their databases go ${int(report.seededRows)} rows as the example application
would have written them (bench/retention-data.ts): ${int(report.tenants.poolRows)} per pool tenant and
${int(report.tenants.siloRows)} per silo tenant, 80% in \`activity_log\` (data class \`telemetry\`:
30 days on basic, 90 on premium) and 20% in \`documents\` (\`content\`: 730 days), oldest first and
interleaved across tenants; in every tenant and table **exactly half are expired** (between 1 and
\`days\` + 1 days past the cutoff; the rest at least a day short of it). The rows are the same every time they
are written: same ids, timestamps and physical order.

- **Landlord**: a real retention run, \`POST /v1/retention/runs\` \`{"tenants": [all ${report.tenants.pool + report.tenants.silo}], "force": true}\`,
  timed to \`GET /v1/retention/runs/{id}\` showing it \`succeeded\`: the run workflow (window of
  ${report.concurrency}), each tenant's \`apply-retention\` operation through its tenant workflow, the
  data worker in a process of its own (\`workers/data.ts\`, as \`npm start\` runs it) deleting in keyset
  batches sized to the ${report.lockBudgetMs} ms lock budget, each batch's evidence in the outbox in the same
  transaction, then forwarded to the hash-chained ledger. Checked after: every expired row gone,
  the run's totals and the ledger account for ${int(report.expiredRows)} rows, the ledger verifies
  (${report.breakdown.ledgerVerified ? 'it did' : 'IT DID NOT'}). \`force\` changes nothing here: the
  guard stops a table only when more than ${report.guardShare * 100}% of its rows would go, and
  exactly half do (${report.breakdown.guardForced} tables were over it).
- **Baseline**: the same rows written again (the tables emptied and rewritten identically, then
  \`VACUUM ANALYZE\` and a \`CHECKPOINT\`, as before Landlord's run), then a plain script
  (bench/ctid-baseline.ts) selects each tenant's expired rows' ctids per table and deletes them with
  \`DELETE … WHERE ctid = ANY($1)\`, each batch its own transaction, in **the batch sizes Landlord's
  run used for that tenant and table** (read from the ledger), ${report.concurrency} tenants at once.
  What both left is compared row by row (a digest of the remaining ids per table):
  ${report.remainingMatch ? 'identical' : 'DIFFERENT'}.
- **Writer**: a process of its own (bench/insert-writer-main.ts) inserts single rows, each its own
  transaction, into \`activity_log\` and \`documents\` (4 to 1) of ${report.plan.writerPoolTenants} pool tenants (as their own
  roles, under row-level security) and of every silo tenant, at a fixed ${report.plan.writerRate} inserts/s
  (an open loop: an insert's latency is from when it was due, so a writer held up pays for its
  queue too), for ${report.plan.quietMs / 1000} s with nothing deleting before each deletion, and throughout
  each deletion.

${deletionTable(report)}

**Landlord / baseline: ${x(v.rateRatio)} the rows per second.**

${writerTable(report)}

**Targets** (same run, identical data): ${v.rateMet && v.writerMet ? 'met' : 'not all met'}. ${v.text}.
(The baseline's own deletion raised the writer's p99 ${x(v.baselineWriterRatio)}.)

#### Profile: where Landlord's deletion time goes

${profile(report)}

#### Profile: what the writer waits on

${windowsTable(report)}
`
      : '';
  const fleet = report.fleet
    ? `### A run over ${int(report.fleet.tenants)} tenants with nothing to delete\n\n${fleetSection(report)}\n`
    : '';
  return `## Retention

_Written by \`npm run bench -- retention\` (bench/retention.ts); edit the benchmark, not this section._

${deletion}
${fleet}
**Reproduce.** \`npm run bench -- retention\` (this run: ${Math.round(report.durationMs / 60_000)} minutes, plus
starting and stopping the servers). \`BENCH_QUICK=1\` is a smoke run (50,000 rows over 10 + 1
tenants, a fleet of 300); \`BENCH_RETENTION_ROWS\`, \`BENCH_RETENTION_POOL_TENANTS\`,
\`BENCH_RETENTION_SILO_TENANTS\`, \`BENCH_RETENTION_QUIET_S\` and \`BENCH_RETENTION_WRITER_RATE\` set other
sizes, and \`BENCH_RETENTION_SKIP_DELETION=1\` runs the fleet alone; none of those updates this file.
\`BENCH_RETENTION_FLEET\` sets the fleet's size (default ${int(FLEET_DEFAULT)};
\`10000\` for the whole fleet where there is time) and still updates it.

**Machine.** ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux; load
average at start ${report.loadAtStart.join(' / ')}, at the end ${report.loadAtEnd.join(' / ')}. Run on
${report.date}. The machine was shared with other work while this ran (the "not ours" column
above): treat single figures as noisy, ratios from one run as the comparison.`;
}

export function retentionConsoleSummary(report: RetentionReport): string {
  const lines: string[] = [];
  const v = verdicts(report);
  if (report.landlord && report.baseline && v) {
    const l = report.landlord;
    const b = report.baseline;
    lines.push(
      `Retention: ${int(report.expiredRows)} of ${int(report.seededRows)} rows deleted`,
      `  Landlord  ${s(l.wallMs)}  ${int(rate(l.rows, l.wallMs))} rows/s  ${l.batches} batches`,
      `  baseline  ${s(b.wallMs)}  ${int(rate(b.rows, b.wallMs))} rows/s`,
      `  writer p99: no deletion ${ms(report.writerQuiet!.p99)}, during Landlord ${ms(l.during.writer.p99)}, during the baseline ${ms(b.during.writer.p99)}`,
      `  Target: ${v.text}`,
    );
  }
  if (report.fleet) {
    const f = report.fleet;
    lines.push(
      `Fleet: ${int(f.tenants)} tenants with nothing to delete in ${s(f.wallMs)} (${(f.tenants / (f.wallMs / 1000)).toFixed(1)} parts/s); ` +
        `${f.runs.length} run executions, at most ${int(Math.max(...f.runs.map((r) => r.events)))} events`,
    );
  }
  return lines.join('\n');
}

export function writeRetentionDocsSection(file: string, report: RetentionReport): void {
  writeMarkedSection(file, SECTION, markdownSection(report));
}
