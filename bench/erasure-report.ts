/** The erasure benchmark's results as console text and as its section of docs/benchmarks.md. */
import { POOL_DATABASE } from '../activities/pool/names.js';
import { NO_ACTIVITY } from './activity-pg-trace.js';
import { writeMarkedSection } from './docs-section.js';
import { copyRows, ERASURE_ORDER, otherRows } from './erasure-data.js';
import type { ErasedTable, IndexVariant } from './erasure-data.js';
import type { BaselineRun } from './erasure-baseline.js';
import { STATEMENTS } from './erasure-baseline.js';
import { SETTLE_MS } from './erasure.js';
import type { ErasureReport, ErasureRound, LandlordErasure, Segments } from './erasure.js';
import { table } from './markdown-table.js';
import type { QueryTotals } from './pg-trace.js';
import { machineFacts } from './report.js';

const SECTION = 'erasure';

/** Landlord's time at most this multiple of the script's, plus the fixed orchestration cost. */
export const TARGET_RATIO = 1.5;

const ERASE_ACTIVITY = 'eraseSubjectData';
const EVIDENCE_ACTIVITY = 'forwardDeletionEvidence';

const int = (v: number) => Math.round(v).toLocaleString('en');
const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en')} ms`;
const x = (v: number) => `${v.toFixed(2)}x`;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const spread = (values: number[], f = ms) => `${f(Math.min(...values))} – ${f(Math.max(...values))}`;
const medianAndSpread = (values: number[], f = ms) =>
  values.length > 1 ? `${f(median(values))} (${spread(values, f)})` : f(values[0] ?? Number.NaN);

const sumMs = (q: QueryTotals | undefined, keep: (kind: string) => boolean = () => true) =>
  Object.entries(q ?? {})
    .filter(([kind]) => keep(kind))
    .reduce((n, [, t]) => n + t.ms, 0);
const isRegistry = (kind: string) => kind.startsWith('registry:');
/** The data activity's statements on the tenant's database (the pool), ms. */
export const tenantSqlMs = (e: LandlordErasure) => sumMs(e.queries[ERASE_ACTIVITY], (k) => !isRegistry(k));
const stepMs = (run: BaselineRun, t: ErasedTable) => run.steps.find((s) => s.table === t)?.ms ?? Number.NaN;
const statementsOf = (run: BaselineRun) => run.steps.reduce((n, s) => n + s.statements, 0);

interface Figures {
  fixedMs: number;
  fixedErasePrimaryMs: number;
  totalMs: number;
  erasePrimaryMs: number;
  tenantSqlMs: number;
  scriptMs: number;
  batchedMs: number;
  primaryRatio: number;
  issueRatio: number;
  totalOverScriptPlusFixed: number;
  primaryMet: boolean;
  issueMet: boolean;
}

function figures(report: ErasureReport): Figures {
  const fixedMs = median(report.fixed.map((f) => f.totalMs));
  const per = report.rounds.map((r) => ({
    primary: r.landlord.segments.erasePrimary / r.statements.wallMs,
    issue: (r.landlord.totalMs - fixedMs) / r.statements.wallMs,
    overall: r.landlord.totalMs / (r.statements.wallMs + fixedMs),
  }));
  const primaryRatio = median(per.map((p) => p.primary));
  const issueRatio = median(per.map((p) => p.issue));
  return {
    fixedMs,
    fixedErasePrimaryMs: median(report.fixed.map((f) => f.segments.erasePrimary)),
    totalMs: median(report.rounds.map((r) => r.landlord.totalMs)),
    erasePrimaryMs: median(report.rounds.map((r) => r.landlord.segments.erasePrimary)),
    tenantSqlMs: median(report.rounds.map((r) => tenantSqlMs(r.landlord))),
    scriptMs: median(report.rounds.map((r) => r.statements.wallMs)),
    batchedMs: median(report.rounds.map((r) => r.batches.wallMs)),
    primaryRatio,
    issueRatio,
    totalOverScriptPlusFixed: median(per.map((p) => p.overall)),
    primaryMet: primaryRatio <= TARGET_RATIO,
    issueMet: issueRatio <= TARGET_RATIO,
  };
}

const verdict = (value: number, met: boolean) =>
  met ? `**${x(value)}: met**` : `**${x(value)}: NOT met**, over by ${(value - TARGET_RATIO).toFixed(2)}x`;

function roundsTable(report: ErasureReport, f: Figures): string {
  const row = (name: string, r: ErasureRound) => [
    name,
    r.load1.toFixed(2),
    ms(r.landlord.totalMs),
    ms(r.landlord.segments.erasePrimary),
    ms(tenantSqlMs(r.landlord)),
    ms(r.statements.wallMs),
    `${ms(r.batches.wallMs)} (${statementsOf(r.batches)})`,
    x(r.landlord.segments.erasePrimary / r.statements.wallMs),
    x((r.landlord.totalMs - f.fixedMs) / r.statements.wallMs),
    x(r.landlord.totalMs / (r.statements.wallMs + f.fixedMs)),
  ];
  const rs = report.rounds;
  return table(
    [
      'round',
      'load (1 min)',
      'Landlord: POST → `succeeded`',
      '`erase-primary` step',
      'its SQL on the pool',
      'script: 3 statements',
      "script in Landlord's batches (statements)",
      'erase-primary / script',
      '(total − fixed) / script',
      'total / (script + fixed)',
    ],
    [
      ...rs.map((r) => row(`${r.subject + 1} (${r.landlordFirst ? 'Landlord first' : 'script first'})`, r)),
      [
        `**median** (min – max)`,
        '',
        medianAndSpread(rs.map((r) => r.landlord.totalMs)),
        medianAndSpread(rs.map((r) => r.landlord.segments.erasePrimary)),
        medianAndSpread(rs.map((r) => tenantSqlMs(r.landlord))),
        medianAndSpread(rs.map((r) => r.statements.wallMs)),
        medianAndSpread(rs.map((r) => r.batches.wallMs)),
        `**${x(f.primaryRatio)}**`,
        `**${x(f.issueRatio)}**`,
        `**${x(f.totalOverScriptPlusFixed)}**`,
      ],
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

const SEGMENTS: [keyof Segments, string][] = [
  [
    'beforeErasePrimary',
    'POST → `erase-primary` starts (API: request recorded, update to the tenant workflow, child workflow, `check-holds`)',
  ],
  ['erasePrimary', '`erase-primary` (the data worker: the rows, batch by batch, holds before each)'],
  ['betweenSteps', '→ `record-evidence` starts (counts onto the request, `erase-standby` skipped)'],
  ['recordEvidence', '`record-evidence` (outbox → hash-chained ledger, one append per record)'],
  ['recordErasure', '→ operation ends (`record-erasure`: request ended, subject forgotten; end recorded)'],
  ['seen', "operation ended → the client's long poll answers"],
];

function segmentsTable(report: ErasureReport): string {
  const med = (es: LandlordErasure[], pick: (e: LandlordErasure) => number) => median(es.map(pick));
  const rows = SEGMENTS.map(([key, name]) => {
    const none = med(report.fixed, (e) => e.segments[key]);
    const some = med(
      report.rounds.map((r) => r.landlord),
      (e) => e.segments[key],
    );
    return [name, ms(none), ms(some), ms(some - none)];
  });
  const totalNone = med(report.fixed, (e) => e.totalMs);
  const totalSome = median(report.rounds.map((r) => r.landlord.totalMs));
  return table(
    ['where (medians)', 'subject with no rows', 'subject with its rows', 'difference'],
    [
      ...rows,
      [
        '*of which POST → 202*',
        ms(med(report.fixed, (e) => e.acceptMs)),
        ms(median(report.rounds.map((r) => r.landlord.acceptMs))),
        '',
      ],
      ['**total**', `**${ms(totalNone)}**`, `**${ms(totalSome)}**`, `**${ms(totalSome - totalNone)}**`],
    ],
    ['l', 'r', 'r', 'r'],
  );
}

/** The erasure whose total is the median of its kind (the lower middle one for an even count). */
function medianRun(es: LandlordErasure[]): LandlordErasure {
  return [...es].sort((a, b) => a.totalMs - b.totalMs)[Math.floor((es.length - 1) / 2)]!;
}

function statementTable(report: ErasureReport): string {
  const some = medianRun(report.rounds.map((r) => r.landlord));
  const none = medianRun(report.fixed);
  const a = some.queries[ERASE_ACTIVITY] ?? {};
  const b = none.queries[ERASE_ACTIVITY] ?? {};
  const kinds = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(
    (k1, k2) => (a[k2]?.ms ?? 0) - (a[k1]?.ms ?? 0),
  );
  const cell = (q: QueryTotals, k: string) => (q[k] ? [int(q[k].count), ms(q[k].ms)] : ['', '']);
  return table(
    ['`eraseSubjectData` statement', 'count', 'time', 'count (no rows)', 'time (no rows)'],
    [
      ...kinds.map((k) => [k, ...cell(a, k), ...cell(b, k)]),
      ['**all statements**', '', `**${ms(sumMs(a))}**`, '', `**${ms(sumMs(b))}**`],
      [
        '*the step less its statements (activity dispatch and completion, JS, heartbeats)*',
        '',
        ms(some.segments.erasePrimary - sumMs(a)),
        '',
        ms(none.segments.erasePrimary - sumMs(b)),
      ],
    ],
    ['l', 'r', 'r', 'r', 'r'],
  );
}

const VARIANT_NAMES: Record<IndexVariant, string> = {
  none: 'no subject indexes',
  subject: '`(tenant, subject)`',
  'subject + key': "`(tenant, subject, key)`: the schema's",
};

function indexTables(report: ErasureReport): string {
  const runs = report.indexes.runs;
  const pool = {
    statements: report.rounds.map((r) => r.statements),
    batches: report.rounds.map((r) => r.batches),
  };
  const sql = (t: ErasedTable) =>
    `\`${STATEMENTS[t].replace(/\$1/, "'<tenant>'").replace(/\$2/, "'<subject>'")}\``;
  const cells = (pick: (run: BaselineRun) => number, side: 'statements' | 'batches') => [
    ...runs.map((r) => ms(pick(r[side]))),
    ms(median(pool[side].map(pick))),
  ];
  const bold = (row: string[]) => row.map((c) => (c ? `**${c}**` : c));
  const times = table(
    ['', ...runs.map((r) => VARIANT_NAMES[r.variant]), "the schema's, in the pool (median of the rounds)"],
    [
      ...ERASURE_ORDER.map(({ table: t }) => [sql(t), ...cells((r) => stepMs(r, t), 'statements')]),
      bold(['the script (with its connect)', ...cells((r) => r.wallMs, 'statements')]),
      ...ERASURE_ORDER.map(({ table: t }) => [
        `${t} in Landlord's batches (${runs[0]!.batches.steps.find((x) => x.table === t)?.statements ?? 0} statements)`,
        ...cells((r) => stepMs(r, t), 'batches'),
      ]),
      bold(["the script in Landlord's batches", ...cells((r) => r.wallMs, 'batches')]),
    ],
    ['l', ...runs.map(() => 'r' as const), 'r'],
  );
  const plans = table(
    [
      'indexes',
      'table',
      'the statement',
      "a batch's rows (`SELECT id … ORDER BY id LIMIT 500`, and 100 where it differs)",
    ],
    [
      ...runs.flatMap((r) =>
        ERASURE_ORDER.map(({ table: t }) => [
          VARIANT_NAMES[r.variant],
          t,
          r.plans.statements[t],
          r.plans.batches[t],
        ]),
      ),
      ...ERASURE_ORDER.map(({ table: t }) => [
        "the schema's, in the pool",
        t,
        report.poolPlans.statements[t],
        report.poolPlans.batches[t],
      ]),
    ],
    ['l', 'l', 'l', 'l'],
  );
  return `${times}\n\nHow the server finds the rows (\`EXPLAIN\`; the foreign key's lookup when an \`app_users\` row goes is not in it):\n\n${plans}`;
}

/** What the index comparison shows, in numbers. */
function indexFindings(report: ErasureReport): string {
  const run = (v: IndexVariant) => report.indexes.runs.find((r) => r.variant === v)!;
  const [none, subject, keyed] = [run('none'), run('subject'), run('subject + key')];
  const rel = (a: number, b: number) => `${x(a / b)}`;
  const walksKey = /LIMIT 100: Index Scan using \w+_pkey/.test(subject.plans.batches.activity_log);
  return `Without the subject indexes the script took ${ms(none.statements.wallMs)}, ${rel(none.statements.wallMs, subject.statements.wallMs)} its
time with them, and in Landlord's batch sizes ${ms(none.batches.wallMs)}, ${rel(none.batches.wallMs, subject.batches.wallMs)}: each statement
reads the tenant's whole table (and the \`app_users\` delete reads \`documents\` once more, for its
foreign key), and a batched erasure reads it once per batch, the empty last batch included. This
copy is one tenant's; in a pool database the same statements read at least that tenant's whole
range of the primary key, or every tenant's rows, so without the indexes an erasure grows with the
tenant, or with the pool, rather than with the subject. With \`(tenant, subject)\` alone a batch takes all
of the subject's remaining rows from the index and sorts them to keep the first n${
    walksKey
      ? `; and for a small batch (such as the last of a subject's rows, and in the batched script the
empty one after it, which repeats the last size) the planner walks the primary key in order instead, filtering on the
subject (\`LIMIT 100\` in the plans above): it reads the tenant's rows until it has n of the subject's,
which is the tenant's whole range once the earlier batches have taken the subject's first rows`
      : ''
  }. With the primary key's column appended, \`(tenant, subject, key)\`, a batch reads the subject's next
rows in key order straight from the index and stops at its limit, whatever its size: the batched
script took ${ms(keyed.batches.wallMs)} against ${ms(subject.batches.wallMs)} without the key (${rel(keyed.batches.wallMs, subject.batches.wallMs)}), the
one-statement script ${ms(keyed.statements.wallMs)} against ${ms(subject.statements.wallMs)}.`;
}

function batchSizes(e: LandlordErasure): string {
  return ERASURE_ORDER.map(({ table: t }) => `${t} ${(e.batches[t] ?? []).map(int).join(' + ')}`).join('; ');
}

function profile(report: ErasureReport, f: Figures): string {
  const some = medianRun(report.rounds.map((r) => r.landlord));
  const rowsPart = f.erasePrimaryMs - f.fixedErasePrimaryMs;
  const queries = some.queries[ERASE_ACTIVITY];
  const batchSql = queries?.['erase batch (select + delete or update)'];
  const scriptStatements = median(
    report.rounds.map((r) => r.statements.steps.reduce((n, step) => n + step.ms, 0)),
  );
  const evidenceSql = sumMs(some.queries[EVIDENCE_ACTIVITY]);
  const watchdog = sumMs(some.queries[NO_ACTIVITY]);
  return `The \`erase-primary\` step of an erasure that finds **no rows at all** takes
${ms(f.fixedErasePrimaryMs)} (median of ${report.fixed.length}), ${x(f.fixedErasePrimaryMs / f.scriptMs)} the script's whole
time, before a row is touched. The subject's rows add ${ms(rowsPart)} to the step (${ms(f.erasePrimaryMs)} with
them less ${ms(f.fixedErasePrimaryMs)} without), against the script's ${ms(f.scriptMs)}: **${x(rowsPart / f.scriptMs)}**
for the rows' own work. Landlord's batch statements (select the next batch by the subject index in
key order, then delete or update it by primary key) took ${batchSql ? `${ms(batchSql.ms)} in ${int(batchSql.count)} statements` : 'nothing'}
for the median erasure, against ${ms(scriptStatements)} for the script's three statements and ${ms(f.batchedMs)}
for the script in Landlord's batch sizes (connect included): each batch selects the subject's next
rows in key order anew (how, the plans under "Indexes" show), and the last one finds nothing. The rest of the step
does not depend on the subject's rows: a fresh connection, catalog lookups for each table's key and
the foreign keys that reference it, the tenant's legal holds read from the registry before every
batch, an outbox record in each batch's transaction (with \`BEGIN\`, \`lock_timeout\` and \`COMMIT\` as
round trips of their own), the records already forwarded read from the ledger, counts of what is
left, and the activity's dispatch and completion through Temporal. Statement by statement, for the
median erasure with rows and the median one without:

${statementTable(report)}

Landlord's batches for that subject (ledger counts per table; the ${report.lockBudgetMs} ms lock budget sizes
each batch from the last): ${batchSizes(some)}. \`record-evidence\` then spent ${ms(evidenceSql)} in statements
(the outbox read, a hash-chained ledger append per record, the outbox emptied) for its
${some.ledgerRecords} records.${watchdog > 0 ? ` The data worker's lock watchdog ran ${ms(watchdog)} of queries beside them.` : ''}`;
}

function markdownSection(report: ErasureReport): string {
  const m = machineFacts();
  const f = figures(report);
  const { shape } = report.plan;
  const h = report.fixedHistory;
  return `## Erasure

_Written by \`npm run bench -- erasure\` (bench/erasure.ts); edit the benchmark, not this section._

**What is measured.** One data subject erased from a pool tenant (tier \`basic\`, region \`local-a\`)
whose tables hold **${int(otherRows(shape))} rows of other people**: ${int(shape.otherUsers)} \`app_users\`,
${int(shape.otherDocuments)} \`documents\` and ${int(shape.otherActivity)} \`activity_log\` rows, written straight into
the region's pool database (\`${POOL_DATABASE}\`) as the example application would have (bench/erasure-data.ts).
Among them, spread evenly through each table's heap, are ${shape.subjects} data subjects of identical
shape, one per round: each **1 \`app_users\` row, ${int(shape.subjectDocuments)} \`documents\` it wrote and
${int(shape.subjectActivity)} \`activity_log\` rows** it caused, so ${int(copyRows(shape))} rows per copy. The
manifest erases them children first: \`activity_log\` rows deleted, \`documents\` anonymized
(\`author_id\` set to NULL), the \`app_users\` row deleted.

- **Landlord**: \`POST /v1/tenants/{id}/erasures\`, timed to \`GET /v1/operations/{id}?wait=30s\`
  answering \`succeeded\`: the API, the \`erase-subject\` operation through the tenant workflow,
  \`check-holds\`, \`erase-primary\` in the data worker (a process of its own, \`workers/data.ts\`, as
  \`npm start\` runs it: batches by primary key with an outbox record each in the same transaction,
  sized to the ${report.lockBudgetMs} ms lock budget, legal holds read before each), \`record-evidence\` (the
  outbox forwarded to the hash-chained ledger) and \`record-erasure\`. Checked after each: the
  request \`erased\` with counts of exactly ${int(shape.subjectActivity)}, ${int(shape.subjectDocuments)} and 1; at the end,
  the ledger verifies (${report.ledgerVerified ? 'it did' : 'IT DID NOT'}). Each erasure is sent after a
  ${SETTLE_MS} ms pause with nothing running, so that the tenant workflow has taken in the end of
  its previous operation (one workflow task after the operation shows it ended).
- **Baseline, in the same run on an identical copy**: the same rows written under a second tenant id
  **in the same pool database**, so that both erasures run against the same tables, indexes, buffer
  cache and WAL, as two pool tenants do (a database of its own would have had smaller tables and
  indexes, and pages of its own in the cache). Each tenant's rows lie in their own stretch of every heap and
  index, so one erasure does not warm the other's pages. The script (bench/erasure-baseline.ts) does
  what the manifest prescribes in Landlord's order, **one statement per table**, each its own
  transaction, on a connection it opens (its time includes the connect):
  \`${STATEMENTS.activity_log}\`, \`${STATEMENTS.documents}\`, \`${STATEMENTS.app_users}\`.
  A third copy is erased by the same script **in Landlord's batch sizes** (read from the ledger for
  the same subject: \`WITH victims AS (SELECT … ORDER BY id LIMIT n)\` then the delete or update by
  primary key, each batch its own transaction, until one finds nothing), which is the cost of
  batching alone. Landlord and the script alternate which goes first; a \`CHECKPOINT\` precedes
  every erasure. After all rounds the three copies are compared row by row:
  ${report.copiesIdentical ? 'identical' : 'DIFFERENT'}.
- **Fixed cost**: ${report.fixed.length} erasures of subjects with no rows, in a fourth tenant that holds
  nothing, one before and one after each round's erasures (so that they share the round's
  conditions on a shared machine), after ${report.plan.warmup} unmeasured ones; their median is the
  orchestration cost an erasure pays whatever it finds. One such erasure's child workflow ran ${h.activities} activities, ${h.localActivities}
  local activities and ${h.workflowTasks} workflow tasks (${h.events} history events).

${roundsTable(report, f)}

"Its SQL on the pool" is the data worker's statement time inside \`erase-primary\` on the tenant's
database (timed around every \`pg\` call in the worker process, bench/activity-pg-trace.ts); the
script columns are client-side wall times. **Fixed cost** (subject with no rows, median and
min – max of ${report.fixed.length}): **${medianAndSpread(report.fixed.map((e) => e.totalMs))}**. Of Landlord's median
total of ${ms(f.totalMs)}, ${ms(f.tenantSqlMs)} is SQL on the pool (the data activity's statements on the
tenant's database) and ${ms(f.totalMs - f.tenantSqlMs)} is orchestration: the API, the Temporal update,
child workflow and activities, the registry writes and reads (those of the data activity included),
\`record-evidence\` and \`record-erasure\`.

**Targets** (same run, identical copies):

- \`erase-primary\` / the script: ${verdict(f.primaryRatio, f.primaryMet)} (target ≤ ${TARGET_RATIO}x).
- The issue's form, Landlord's total ≤ ${TARGET_RATIO} × the script + the fixed cost, i.e.
  (total − fixed) / script: ${verdict(f.issueRatio, f.issueMet)} (target ≤ ${TARGET_RATIO}x). Landlord's total is
  ${x(f.totalOverScriptPlusFixed)} the script's time plus the fixed cost.

### Profile: where an erasure's time goes

${segmentsTable(report)}

${profile(report, f)}

### Indexes the manifest's tables need

An erasure finds a subject's rows by \`(tenant key, subject key)\`, so every table with a
\`subjectKey\` needs an index that begins with that pair, and so does every foreign key that
references a table erased by deletion (its \`ON DELETE\` action, and Landlord's check that no row
still references the subject's, look the referencing rows up by it). The example schema has them
(config/application/migrations/002_subject_indexes.sql), each with the primary key appended so a
batch reads its rows in key order straight from the index: \`documents (tenant_id, author_id, id)\`
(which also serves the foreign key from \`documents\` to \`app_users\`) and \`activity_log (tenant_id,
actor_id, id)\`; \`app_users\` is found by its primary key \`(tenant_id, id)\`.

What they buy, measured on a fourth copy of the same rows in a scratch database on the same server
(the application's migrations, then the copy; written in ${(report.indexes.seedMs / 1000).toFixed(1)} s): the script runs on
each variant of the two subject indexes in turn (${report.indexes.runs.map((r) => VARIANT_NAMES[r.variant]).join(', then ')}),
each on two subjects of its own (one statement per table, and Landlord's batch sizes of round 1),
a \`CHECKPOINT\` before each:

${indexTables(report)}

${indexFindings(report)}

**Reproduce.** \`npm run bench -- erasure\` (this run: ${Math.round(report.durationMs / 1000)} s, plus
starting and stopping the servers; writing the ${int(3 * report.rowsPerCopy)} rows of the three copies
took ${(report.seedMs / 1000).toFixed(0)} s). \`BENCH_QUICK=1\` is a smoke run (a tenth of the rows, two rounds)
that leaves this file alone; \`BENCH_ERASURE_JSON=<file>\` also writes the raw figures.

**Machine.** A shared ${m.cpus}-CPU box (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux; load
average at start ${report.loadAtStart.join(' / ')}, at the end ${report.loadAtEnd.join(' / ')}. Run on
${report.date}. Other work shares the machine: single figures are noisy, compare ratios from one run.`;
}

export function erasureConsoleSummary(report: ErasureReport): string {
  const f = figures(report);
  return [
    `Erasure of one subject among ${int(otherRows(report.plan.shape))} rows of other people (${report.rounds.length} rounds, medians)`,
    `  Landlord total ${ms(f.totalMs)}, erase-primary ${ms(f.erasePrimaryMs)} (SQL on the pool ${ms(f.tenantSqlMs)})`,
    `  script ${ms(f.scriptMs)}, script in Landlord's batches ${ms(f.batchedMs)}`,
    `  fixed cost (no rows) ${ms(f.fixedMs)}, its erase-primary ${ms(f.fixedErasePrimaryMs)}`,
    ...report.indexes.runs.map(
      (r) =>
        `  ${VARIANT_NAMES[r.variant]} (scratch database): script ${ms(r.statements.wallMs)}, batched ${ms(r.batches.wallMs)}`,
    ),
    `  Target: erase-primary / script ${x(f.primaryRatio)} (<= ${TARGET_RATIO}x: ${f.primaryMet ? 'met' : 'NOT met'}); ` +
      `(total - fixed) / script ${x(f.issueRatio)} (<= ${TARGET_RATIO}x: ${f.issueMet ? 'met' : 'NOT met'}); ` +
      `total / (script + fixed) ${x(f.totalOverScriptPlusFixed)}`,
  ].join('\n');
}

export function writeErasureDocsSection(file: string, report: ErasureReport): void {
  writeMarkedSection(file, SECTION, markdownSection(report));
}
