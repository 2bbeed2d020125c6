/** The disaster-recovery benchmark's results as console text and as its section of docs/benchmarks.md. */
import { POOL_DATABASE } from '../activities/pool/names.js';
import { writeMarkedSection } from './docs-section.js';
import { DR_TABLES, shapeRows } from './dr-data.js';
import { QUICK_SHAPE } from './dr.js';
import type { DrReport, DrRound, ProfiledRun, Timed } from './dr.js';
import { table } from './markdown-table.js';
import type { QueryTotals } from './pg-trace.js';
import { machineFacts } from './report.js';

const SECTION = 'disaster-recovery';

/** Landlord's backup and restore each at least this share of the bare COPY's throughput. */
export const TARGET_RATIO = 0.8;

const int = (v: number) => Math.round(v).toLocaleString('en');
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const msOrS = (ms: number) => (ms >= 1000 ? secs(ms) : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`);
const x = (v: number) => `${v.toFixed(2)}x`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const cpu = (s: number) => `${s.toFixed(1)} s`;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const range = (values: number[], f = secs) =>
  values.length > 1
    ? `${f(median(values))} (${f(Math.min(...values))} – ${f(Math.max(...values))})`
    : f(values[0]!);

const landlordRestoreMs = (r: DrRound) => r.restore.landlord.stage.wallMs + r.restore.landlord.switch.wallMs;
const sumQueries = (...runs: QueryTotals[]): QueryTotals => {
  const out: QueryTotals = {};
  for (const q of runs)
    for (const [kind, t] of Object.entries(q)) {
      const o = (out[kind] ??= { count: 0, ms: 0 });
      o.count += t.count;
      o.ms += t.ms;
    }
  return out;
};
const queryMs = (q: QueryTotals, kind: string) => q[kind]?.ms ?? 0;

interface Figures {
  textBytes: number;
  backup: { landlordMs: number; bareMs: number; ratio: number; met: boolean };
  restore: {
    landlordMs: number;
    stageMs: number;
    switchMs: number;
    bareMs: number;
    ratio: number;
    met: boolean;
  };
  switchRatio: number;
  verifyMs: number;
  api: { totalMs: number; snapshotMs: number; overheadMs: number; emptyMs: number };
}

function figures(report: DrReport): Figures {
  const rs = report.rounds;
  const backupRatio = median(rs.map((r) => r.backup.baseline.wallMs / r.backup.landlord.wallMs));
  const restoreRatio = median(rs.map((r) => r.restore.baseline.wallMs / landlordRestoreMs(r)));
  return {
    textBytes: Object.values(report.copyBytes).reduce((n, v) => n + v, 0),
    backup: {
      landlordMs: median(rs.map((r) => r.backup.landlord.wallMs)),
      bareMs: median(rs.map((r) => r.backup.baseline.wallMs)),
      ratio: backupRatio,
      met: backupRatio >= TARGET_RATIO,
    },
    restore: {
      landlordMs: median(rs.map(landlordRestoreMs)),
      stageMs: median(rs.map((r) => r.restore.landlord.stage.wallMs)),
      switchMs: median(rs.map((r) => r.restore.landlord.switch.wallMs)),
      bareMs: median(rs.map((r) => r.restore.baseline.wallMs)),
      ratio: restoreRatio,
      met: restoreRatio >= TARGET_RATIO,
    },
    switchRatio: median(rs.map((r) => r.restore.baseline.wallMs / r.restore.landlord.switch.wallMs)),
    verifyMs: median(rs.map((r) => r.verify.wallMs)),
    api: {
      totalMs: median(rs.map((r) => r.api.tenant.totalMs)),
      snapshotMs: median(rs.map((r) => r.api.tenant.snapshotMs)),
      overheadMs: median(rs.map((r) => r.api.tenant.totalMs - r.api.tenant.snapshotMs)),
      emptyMs: median(rs.map((r) => r.api.empty.totalMs)),
    },
  };
}

const verdict = (ratio: number, met: boolean) =>
  met ? `**${x(ratio)}: met**` : `**${x(ratio)}: NOT met**, short by ${(TARGET_RATIO - ratio).toFixed(2)}x`;

function throughputTable(report: DrReport, f: Figures): string {
  const rs = report.rounds;
  const row = (name: string, walls: number[], cpus: (Timed['cpu'] | undefined)[], ratio = '') => {
    const wall = median(walls);
    const known = cpus.filter((c): c is Timed['cpu'] => c !== undefined);
    return [
      name,
      range(walls),
      int(report.rows / (wall / 1000)),
      `${(f.textBytes / 1e6 / (wall / 1000)).toFixed(1)}`,
      known.length ? cpu(median(known.map((c) => c.node))) : '',
      known.length ? cpu(median(known.map((c) => c.postgres))) : '',
      ratio,
    ];
  };
  const addCpu = (a: Timed['cpu'], b: Timed['cpu']) => ({
    node: a.node + b.node,
    postgres: a.postgres + b.postgres,
    machine: a.machine + b.machine,
    spanMs: a.spanMs + b.spanMs,
  });
  return table(
    [
      '',
      'wall: median (min – max)',
      'rows/s',
      'MB/s',
      'CPU: this process',
      'CPU: Postgres',
      'Landlord / bare',
    ],
    [
      row(
        'Backup, Landlord: `takeTenantBackup`',
        rs.map((r) => r.backup.landlord.wallMs),
        rs.map((r) => r.backup.landlord.cpu),
        `**${x(f.backup.ratio)}**`,
      ),
      row(
        'Backup, bare: `COPY (SELECT …) TO STDOUT` into files',
        rs.map((r) => r.backup.baseline.wallMs),
        rs.map((r) => r.backup.baseline.cpu),
      ),
      row(
        'Restore, Landlord: `stageTenantRestore` + `switchRestoredTenant`',
        rs.map(landlordRestoreMs),
        rs.map((r) => addCpu(r.restore.landlord.stage.cpu, r.restore.landlord.switch.cpu)),
        `**${x(f.restore.ratio)}**`,
      ),
      row(
        '… `stageTenantRestore` (the file read through and checked)',
        rs.map((r) => r.restore.landlord.stage.wallMs),
        rs.map((r) => r.restore.landlord.stage.cpu),
      ),
      row(
        '… `switchRestoredTenant` (the one transaction)',
        rs.map((r) => r.restore.landlord.switch.wallMs),
        rs.map((r) => r.restore.landlord.switch.cpu),
        x(f.switchRatio),
      ),
      row(
        'Restore, bare: `DELETE` + `COPY … FROM STDIN`',
        rs.map((r) => r.restore.baseline.wallMs),
        rs.map((r) => r.restore.baseline.cpu),
      ),
      row(
        '`verifyBackupRestore` (scratch database, restore, read back)',
        rs.map((r) => r.verify.wallMs),
        rs.map((r) => r.verify.cpu),
      ),
      row(
        '`backup` operation through the API (data worker process)',
        rs.map((r) => r.api.tenant.totalMs),
        [],
      ),
      row(
        '… its `snapshot` step (`takeTenantBackup` there)',
        rs.map((r) => r.api.tenant.snapshotMs),
        [],
      ),
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

function roundsTable(report: DrReport): string {
  return table(
    [
      'round',
      'load (1 min)',
      'machine busy',
      'backup: Landlord',
      'bare',
      'Landlord / bare',
      'restore: Landlord (stage + switch)',
      'bare',
      'Landlord / bare',
      'verify',
      'API backup (`snapshot`)',
      'API backup, empty tenant',
    ],
    report.rounds.map((r) => {
      const timed = [
        r.backup.landlord,
        r.backup.baseline,
        r.restore.landlord.stage,
        r.restore.landlord.switch,
        r.restore.baseline,
      ];
      const busy =
        timed.reduce((n, t) => n + t.cpu.machine, 0) /
        timed.reduce((n, t) => n + t.cpu.spanMs / 1000, 0) /
        machineFacts().cpus;
      return [
        `${r.round + 1} (${r.landlordFirst ? 'Landlord first' : 'bare first'})`,
        r.load1.toFixed(2),
        `${Math.round(busy * 100)}%`,
        secs(r.backup.landlord.wallMs),
        secs(r.backup.baseline.wallMs),
        x(r.backup.baseline.wallMs / r.backup.landlord.wallMs),
        `${secs(landlordRestoreMs(r))} (${secs(r.restore.landlord.stage.wallMs)} + ${secs(r.restore.landlord.switch.wallMs)})`,
        secs(r.restore.baseline.wallMs),
        x(r.restore.baseline.wallMs / landlordRestoreMs(r)),
        secs(r.verify.wallMs),
        `${secs(r.api.tenant.totalMs)} (${secs(r.api.tenant.snapshotMs)})`,
        msOrS(r.api.empty.totalMs),
      ];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

function sizesTable(report: DrReport, f: Figures): string {
  const sealed = report.rounds[0]!.backup.landlord.backup.bytes;
  return table(
    ['', 'rows', 'bytes'],
    [
      ...DR_TABLES.map((t) => [
        `\`${t}\`: COPY text`,
        int(report.tableRows[t] ?? 0),
        int(report.copyBytes[t] ?? 0),
      ]),
      ['**the bare backup** (COPY text, four files)', int(report.rows), `**${int(f.textBytes)}**`],
      [
        "**Landlord's backup** (one file: tar, sealed)",
        int(report.rows),
        `**${int(sealed)}** (${x(sealed / f.textBytes)}, ${int(sealed - f.textBytes)} bytes more)`,
      ],
    ],
    ['l', 'r', 'r'],
  );
}

/** Median ms of each statement kind per side over the rounds, for the kinds that took time. */
function statementsTable(report: DrReport): string {
  const rs = report.rounds;
  const sides: [string, (r: DrRound) => QueryTotals][] = [
    ['Landlord backup', (r) => r.backup.landlord.queries],
    ['bare backup', (r) => r.backup.baseline.queries],
    [
      'Landlord restore',
      (r) => sumQueries(r.restore.landlord.stage.queries, r.restore.landlord.switch.queries),
    ],
    ['bare restore', (r) => r.restore.baseline.queries],
  ];
  const kinds = new Map<string, number>();
  for (const r of rs)
    for (const [, pick] of sides)
      for (const [kind, t] of Object.entries(pick(r))) kinds.set(kind, Math.max(kinds.get(kind) ?? 0, t.ms));
  const shown = [...kinds].filter(([, most]) => most >= 5).sort((a, b) => b[1] - a[1]);
  const rest = [...kinds.keys()].filter((k) => !shown.some(([s]) => s === k));
  const cell = (pick: (r: DrRound) => QueryTotals, kinds: string[]) => {
    const values = rs.map((r) => kinds.reduce((n, k) => n + queryMs(pick(r), k), 0));
    const count = kinds.reduce((n, k) => n + (pick(rs[0]!)[k]?.count ?? 0), 0);
    return count === 0 && values.every((v) => v === 0) ? '' : `${msOrS(median(values))} (${count})`;
  };
  return table(
    ['statement (median time, and count)', ...sides.map(([name]) => name)],
    [
      ...shown.map(([kind]) => [kind, ...sides.map(([, pick]) => cell(pick, [kind]))]),
      ...(rest.length > 0
        ? [['the rest (each under 5 ms)', ...sides.map(([, pick]) => cell(pick, rest))]]
        : []),
      [
        '**wall time of the run**',
        ...[
          rs.map((r) => r.backup.landlord.wallMs),
          rs.map((r) => r.backup.baseline.wallMs),
          rs.map(landlordRestoreMs),
          rs.map((r) => r.restore.baseline.wallMs),
        ].map((walls) => `**${msOrS(median(walls))}**`),
      ],
    ],
    ['l', 'r', 'r', 'r', 'r'],
  );
}

function profileTable(report: DrReport): string {
  const runs: [string, ProfiledRun][] = [
    ['Landlord backup', report.profile.backup.landlord],
    ['bare backup', report.profile.backup.bare],
    ['Landlord restore', report.profile.restore.landlord],
    ['bare restore', report.profile.restore.bare],
  ];
  const names = new Map<string, number>();
  for (const [, run] of runs)
    for (const c of run.summary.categories) names.set(c.name, Math.max(names.get(c.name) ?? 0, c.ms));
  const order = [...names].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const cell = (run: ProfiledRun, name: string) => {
    const ms = run.summary.categories.find((c) => c.name === name)?.ms;
    return ms === undefined ? '' : msOrS(ms);
  };
  return table(
    ['where the main thread was (self time)', ...runs.map(([name]) => name)],
    [
      ...order.map((name) => [name, ...runs.map(([, run]) => cell(run, name))]),
      ['**profiled time**', ...runs.map(([, run]) => `**${msOrS(run.summary.totalMs)}**`)],
    ],
    ['l', 'r', 'r', 'r', 'r'],
  );
}

function stagesTable(report: DrReport): string {
  const rows = (side: string, stages: DrReport['stages']['backup']) =>
    stages.map((s) => [side, s.stage, msOrS(s.ms), `${int(s.bytes / 1e6 / (s.ms / 1000))}`]);
  return table(
    ['', 'stage, alone, over the same bytes', 'time', 'MB/s'],
    [...rows('backup', report.stages.backup), ...rows('restore', report.stages.restore)],
    ['l', 'l', 'r', 'r'],
  );
}

const IDLE = 'idle: waiting for Postgres or the disk';
const categoryMs = (run: ProfiledRun, name: string) =>
  run.summary.categories.find((c) => c.name === name)?.ms ?? 0;
/** The main thread's busy time in a profile: all but its idle samples. */
const busyMs = (run: ProfiledRun) => run.summary.totalMs - categoryMs(run, IDLE);

/** Restores with the missing index: wall times and ratio of each run, and their medians. */
function indexFigures(report: DrReport) {
  const runs = report.withProjectIndex.runs.map((r) => {
    const landlordMs = r.landlord.stage.wallMs + r.landlord.switch.wallMs;
    return { ...r, landlordMs, ratio: r.bare.wallMs / landlordMs };
  });
  const copyIn = (q: QueryTotals) => DR_TABLES.reduce((n, t) => n + queryMs(q, `COPY in ${t}`), 0);
  const deletes = (q: QueryTotals) => DR_TABLES.reduce((n, t) => n + queryMs(q, `DELETE ${t}`), 0);
  return {
    runs,
    landlordMs: median(runs.map((r) => r.landlordMs)),
    stageMs: median(runs.map((r) => r.landlord.stage.wallMs)),
    bareMs: median(runs.map((r) => r.bare.wallMs)),
    ratio: median(runs.map((r) => r.ratio)),
    countsMs: median(runs.map((r) => queryMs(r.landlord.switch.queries, "count the tenant's rows"))),
    copyInMoreMs: median(runs.map((r) => copyIn(r.landlord.switch.queries) - copyIn(r.bare.queries))),
    deletesMoreMs: median(runs.map((r) => deletes(r.landlord.switch.queries) - deletes(r.bare.queries))),
  };
}

function indexTable(report: DrReport): string {
  const { runs } = indexFigures(report);
  const deleteProjects = (q: QueryTotals) => msOrS(queryMs(q, 'DELETE projects'));
  const counts = (q: QueryTotals) => msOrS(queryMs(q, "count the tenant's rows"));
  return table(
    [
      'run',
      'restore: Landlord (stage + switch)',
      'bare',
      'Landlord / bare',
      '`DELETE projects`: Landlord, bare',
      "counting the tenant's rows (Landlord)",
    ],
    runs.map((r, i) => [
      `${i + 1} (${r.landlordFirst ? 'Landlord first' : 'bare first'})`,
      `${secs(r.landlordMs)} (${secs(r.landlord.stage.wallMs)} + ${secs(r.landlord.switch.wallMs)})`,
      secs(r.bare.wallMs),
      x(r.ratio),
      `${deleteProjects(r.landlord.switch.queries)}, ${deleteProjects(r.bare.queries)}`,
      counts(r.landlord.switch.queries),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** The backup's profile in numbers: where Landlord's time goes that the bare COPY does not spend. */
function backupFindings(report: DrReport, f: Figures): string {
  const rs = report.rounds;
  const med = (pick: (r: DrRound) => number) => median(rs.map(pick));
  const nodeL = med((r) => r.backup.landlord.cpu.node);
  const nodeB = med((r) => r.backup.baseline.cpu.node);
  const pgL = med((r) => r.backup.landlord.cpu.postgres);
  const pgB = med((r) => r.backup.baseline.cpu.postgres);
  const stage = (name: RegExp) => report.stages.backup.find((st) => name.test(st.stage))?.ms ?? Number.NaN;
  const archiveMs = stage(/^all of the above/);
  const writeMs = stage(/^write/) + stage(/^fsync/);
  const { landlord: lp, bare: bp } = report.profile.backup;
  const busiest = lp.summary.categories
    .filter((c) => c.name !== IDLE && c.ms >= 0.03 * busyMs(lp))
    .map((c) => {
      const bare = categoryMs(bp, c.name);
      return `${c.name} ${msOrS(c.ms)}${bare > 0 ? ` (the script: ${msOrS(bare)})` : ''}`;
    })
    .join(', ');
  const allowance = f.backup.bareMs / TARGET_RATIO - f.backup.bareMs;
  return `**Backup.** ${
    nodeL - nodeB > pgL - pgB
      ? "Landlord's backup spends its extra time in this process, not in Postgres"
      : "Landlord's backup spends its extra time in Postgres more than in this process"
  }: ${cpu(nodeL)} of CPU here against the bare COPY's ${cpu(nodeB)} (medians), while the region's Postgres
spent ${cpu(pgL)} and ${cpu(pgB)} producing the same COPY text. The activity does on the thread that
reads the COPY, as the text streams, what the bare COPY does not do at all: count each table's rows,
hash its text (SHA-256), copy it into 8 MiB tar entries, seal the tar (AES-256-GCM in 64 KiB chunks,
each copied into its frame), hash the sealed file (SHA-256), write it and fsync it. Alone, in
memory, over the same ${mb(f.textBytes)}, those stages take ${msOrS(archiveMs)} together, and writing and syncing the
sealed file ${msOrS(writeMs)} (the stage table below); Landlord's backup took ${msOrS(f.backup.landlordMs - f.backup.bareMs)} more than
the bare COPY's ${msOrS(f.backup.bareMs)}. In the CPU profile of one more backup each way, the activity's main
thread was busy ${msOrS(busyMs(lp))} of ${msOrS(lp.summary.totalMs)}, the script's ${msOrS(busyMs(bp))} of
${msOrS(bp.summary.totalMs)}${
    busyMs(lp) >= 0.5 * lp.summary.totalMs ? ': Postgres waits on the activity, not the other way round' : ''
  }. Its busy time: ${busiest}.${
    categoryMs(lp, 'garbage collection') >= 0.15 * busyMs(lp)
      ? ` The archive makes new buffers for each byte several times over (every 8 MiB entry copied
together, every sealed chunk copied twice more): that is the garbage.`
      : ''
  }${
    f.backup.met
      ? ''
      : ` ${TARGET_RATIO}x leaves Landlord ${msOrS(allowance)} more than the bare COPY, and the archive's work alone
takes ${msOrS(archiveMs + writeMs)} with its write. So (an estimate from these figures, not measured) it has to
leave the thread that reads the COPY, so that Postgres never waits on it (the seal and the hashes
in a worker thread), and get cheaper: fewer copies of each byte, and one SHA-256 pass where two are
made (each table's text, and the sealed file).`
  }`;
}

/** The restore's profile in numbers. */
function restoreFindings(report: DrReport, f: Figures): string {
  const rs = report.rounds;
  const med = (pick: (r: DrRound) => number) => median(rs.map(pick));
  const restoreQ = (r: DrRound) =>
    sumQueries(r.restore.landlord.stage.queries, r.restore.landlord.switch.queries);
  const deleteProjects = med((r) => queryMs(r.restore.baseline.queries, 'DELETE projects'));
  const copyIn = (q: QueryTotals) => DR_TABLES.reduce((n, t) => n + queryMs(q, `COPY in ${t}`), 0);
  const copyInL = med((r) => copyIn(restoreQ(r)));
  const copyInB = med((r) => copyIn(r.restore.baseline.queries));
  const counts = med((r) => queryMs(restoreQ(r), "count the tenant's rows"));
  const sequences = med((r) => queryMs(restoreQ(r), 'advance sequences (max of the key)'));
  const switchNode = med((r) => r.restore.landlord.switch.cpu.node);
  const bareNode = med((r) => r.restore.baseline.cpu.node);
  const busy = med(
    (r) =>
      r.restore.landlord.switch.cpu.machine /
      (r.restore.landlord.switch.cpu.spanMs / 1000) /
      machineFacts().cpus,
  );
  const openMs = report.stages.restore.find((st) => /^open/.test(st.stage))?.ms ?? Number.NaN;
  const lp = report.profile.restore.landlord;
  const lessDelete = med(
    (r) =>
      (r.restore.baseline.wallMs - queryMs(r.restore.baseline.queries, 'DELETE projects')) /
      (landlordRestoreMs(r) - queryMs(restoreQ(r), 'DELETE projects')),
  );
  const v = indexFigures(report);
  const deleteShare = deleteProjects / f.restore.bareMs;
  return `**Restore.** ${
    deleteShare > 0.25
      ? `Both restores spend most of their time in Postgres, in the same statements, and one of them
dominates: deleting the tenant's \`projects\` took ${msOrS(deleteProjects)} of the bare restore's
${msOrS(f.restore.bareMs)} (medians), because \`documents\` has no index on \`(tenant_id, project_id)\`
for its foreign key to \`projects\` (\`ON DELETE CASCADE\`): for each of the
${int(report.tableRows.projects ?? 0)} projects deleted, Postgres reads the tenant's documents again.`
      : `Deleting the tenant's \`projects\` took ${msOrS(deleteProjects)} of the bare restore's ${msOrS(f.restore.bareMs)}.`
  } The COPY into the tables (their indexes and foreign key checks) took ${msOrS(copyInL)} in
Landlord's switch, where the archive is opened, untarred, counted and hashed in the same stream,
against ${msOrS(copyInB)} from the bare files. The restore's main thread was busy ${msOrS(busyMs(lp))} of
${msOrS(lp.summary.totalMs)} in its profile, and this process used ${cpu(switchNode)} of CPU during the switch against the
bare restore's ${cpu(bareNode)} (its garbage collector's threads included), on a machine whose ${machineFacts().cpus} CPUs were
${Math.round(busy * 100)}% busy meanwhile${
    copyInL > 1.1 * copyInB
      ? ": the archive's work in the stream holds the COPY up, or takes CPU from Postgres"
      : ': the archive read in the same stream holds the COPY up little'
  }. On top of that, Landlord's restore reads the whole archive once more before it
(\`stageTenantRestore\`: ${msOrS(f.restore.stageMs)}, nearly all of it this process's CPU; opening the sealed file
alone takes ${msOrS(openMs)} in memory), counts the tenant's rows in every table twice in the transaction
(${msOrS(counts)}), and moves the identity sequence past the rows (${msOrS(sequences)}). Less the time of the
\`DELETE\` of \`projects\` on either side, Landlord's restore is at ${x(lessDelete)} the bare one's throughput
(median of the rounds).

**With the missing index** (\`${report.withProjectIndex.index}\`, made after the rounds for
${v.runs.length} more restore${v.runs.length === 1 ? '' : 's'} each way, alternating which goes first, and dropped again), the
bare restore took ${msOrS(v.bareMs)} and Landlord's ${msOrS(v.landlordMs)}, medians: **${x(v.ratio)}**${
    v.ratio >= TARGET_RATIO
      ? ', within the target'
      : `, short of the target by ${(TARGET_RATIO - v.ratio).toFixed(2)}x`
  }. Landlord's ${msOrS(v.landlordMs - v.bareMs)} more are, in medians of those runs: the stage's read of the archive
${msOrS(v.stageMs)}, counting the tenant's rows ${msOrS(v.countsMs)}, the COPY into the tables ${msOrS(v.copyInMoreMs)} more than
the bare one's, the \`DELETE\`s ${msOrS(v.deletesMoreMs)} more.${
    v.ratio >= TARGET_RATIO
      ? ''
      : ` Without the stage's read (the switch's own read of the archive checks every table's rows and
SHA-256 against the catalog before it commits, as the stage's does) Landlord would be at about
${x(v.bareMs / (v.landlordMs - v.stageMs))}, and counting the rows once instead of twice would save about half of the counting
(estimates from these medians, not measured).`
  }

${indexTable(report)}`;
}

function markdownSection(report: DrReport): string {
  const m = machineFacts();
  const f = figures(report);
  const { shape, neighbour } = report.plan;
  const n = report.rounds.length;
  const indexRatio = indexFigures(report).ratio;
  return `## Disaster recovery

_Written by \`npm run bench -- backup\` (bench/dr.ts; \`-- dr\` runs it with the failover benchmark); edit the benchmark, not this section._

**What is measured.** Backup and restore of one pool tenant (tier \`basic\`, region \`local-a\`) holding
**${int(report.rows)} rows**: ${int(report.tableRows.app_users ?? 0)} \`app_users\` (${int(shape.users)} written and the admin
user onboarding made), ${int(shape.projects)} \`projects\`, ${int(shape.documents)} \`documents\` and ${int(shape.activity)}
\`activity_log\` rows, ${mb(f.textBytes)} of COPY text, written straight into the region's pool database
(\`${POOL_DATABASE}\`) as the example application would have (bench/dr-data.ts), each table in ten
slices between the slices of two other tenants of ${int(shapeRows(neighbour))} rows each (${int(report.poolRows)} rows in the
pool's tables in all). Every run is on the same database in the same run, ${n} rounds; the figures are medians.

- **Backup, Landlord**: the data activity \`takeTenantBackup\` (activities/data/backup.ts), run in the
  benchmark's process with \`MockActivityEnvironment\` (@temporalio/testing) over the registry, a
  \`TenantKeyring\` and a \`LocalBackupObjectStore\` in a folder of the run's: one REPEATABLE READ READ
  ONLY snapshot, each table's COPY text counted, hashed and cut into 8 MiB tar entries as it streams,
  the tar sealed with the tenant's data key, hashed again, written and fsynced, and recorded in the catalog.
- **Backup, bare** (bench/dr-baseline.ts): on the same database, in one REPEATABLE READ READ ONLY
  transaction, **the activity's own statement** per table, \`COPY (SELECT <columns> FROM public.<table> t
  WHERE t.tenant_id = '<id>' ORDER BY <primary key>) TO STDOUT\`, through pg-copy-streams into a plain
  file each: no tar, no sealing, no checksums, no fsync. Its text was the backup's byte for byte in
  every round (the catalog's SHA-256 of each table): ${report.identical.backupText ? 'identical' : 'DIFFERENT'}.
- **Restore, Landlord**: what a pool tenant's \`restore\` operation runs on the data queue,
  \`stageTenantRestore\` (the sealed file read through and checked against the catalog) then
  \`switchRestoredTenant\` (activities/data/restore.ts; one transaction: the partition lock, legal holds
  and schema version checked, the tenant's rows deleted children first, the archive copied in with
  \`COPY … FROM STDIN\` as it is read and checked again, sequences moved past the rows, the erasure
  list's entries since the backup applied again (none here), each table's rows counted and checked,
  the restore recorded).
- **Restore, bare**: in one transaction the same \`DELETE FROM public.<table> WHERE tenant_id = $1\`,
  children first, then \`COPY public.<table> (<columns>) FROM STDIN\` from the bare backup's files.
  Before every restore the tables are settled (\`VACUUM (ANALYZE)\`, \`CHECKPOINT\`); which side goes
  first alternates, for backups as for restores. After every restore the tenant's rows read back
  as the backup recorded them (rows and SHA-256 per table): ${report.identical.restores ? 'they did' : 'THEY DID NOT'}.
- **Restore verification**: \`verifyBackupRestore\` of the round's backup: a scratch database made and
  migrated, the backup restored into it, each table read back and compared with the catalog, dropped.
- **Through the API**: a \`backup\` operation, \`POST /v1/tenants/{id}/backups\` to \`succeeded\` (long
  poll), run by the data worker in a process of its own (\`workers/data.ts\`, as \`npm start\` runs it),
  of the tenant and of a tenant holding nothing but its admin user, each after a 500 ms pause.

${throughputTable(report, f)}

MB/s is the tenant's ${mb(f.textBytes)} of COPY text per second, whichever side; "Landlord / bare" is the
median of the rounds' ratios of throughput (the bare run's wall time over Landlord's). CPU is CPU-seconds over the run, from \`/proc\`: this process (where the activities and the
scripts run; other threads of it, such as the garbage collector's, included) and the region's Postgres
server (every process of it).

${roundsTable(report)}

"Machine busy" is the whole machine's CPU time over the five timed runs of the round, of its ${m.cpus}
CPUs: beyond the two sides' own use, it shows other work on the machine.

${sizesTable(report, f)}

**Targets** (same run, same database, same rows; Landlord's throughput at least ${TARGET_RATIO}x the bare COPY's):

- Backup: ${verdict(f.backup.ratio, f.backup.met)} (${msOrS(f.backup.landlordMs)} against ${msOrS(f.backup.bareMs)}).
- Restore: ${verdict(f.restore.ratio, f.restore.met)} (${msOrS(f.restore.landlordMs)} against ${msOrS(f.restore.bareMs)}); the
  switch alone, ${x(f.switchRatio)}. With the index the example schema lacks for \`documents\`' foreign key to
  \`projects\` (restores after the rounds, below): ${verdict(indexRatio, indexRatio >= TARGET_RATIO)}.

**A backup operation through the API** took ${msOrS(f.api.totalMs)}, of which its \`snapshot\` step
(\`takeTenantBackup\` in the data worker) ${msOrS(f.api.snapshotMs)}: the operation's **fixed overhead**
(the API, the tenant workflow's update, the child workflow, dispatch of both steps, \`expire-backups\`,
the long poll) is **${msOrS(f.api.overheadMs)}**, and a backup of the tenant that holds one row takes
${msOrS(f.api.emptyMs)} end to end. A restore verification took ${msOrS(f.verifyMs)}.

**Failover** of enterprise tenants to their standbys is measured apart, by \`npm run bench -- failover\` (\`-- dr\` runs both)
(bench/failover.ts): the Failover subsection at the end of this section.

### Profile: where the time goes

${backupFindings(report, f)}

${restoreFindings(report, f)}

Statement by statement (timed in this process around every \`pg\` call, bench/dr-trace.ts; a COPY from
its start until its stream has finished, so Landlord's include the archive work done in the same
stream; registry statements are the activities' catalog, key and hold lookups):

${statementsTable(report)}

Each stage of the archive's own work alone, in memory, over the tenant's COPY text (bench/dr-stages.ts;
no Postgres, the sealed file's write and fsync on the same disk as the backups):

${stagesTable(report)}

A CPU profile of this process's main thread for one more run of each kind after the rounds (the
inspector's sampling profiler, 1 ms; each sample filed under the nearest frame on its stack that says
what it does, native code under the JS that called it; bench/cpu-profile.ts):

${profileTable(report)}

**Reproduce.** \`npm run bench -- backup\` (this run: ${Math.round(report.durationMs / 1000)} s, plus starting and stopping
the servers; writing the pool's rows took ${(report.seedMs / 1000).toFixed(0)} s). \`BENCH_QUICK=1\` is a smoke run
(${int(shapeRows(QUICK_SHAPE) + 1)} rows, two rounds) that leaves this file alone; \`BENCH_DR_JSON=<file>\` also writes the raw figures.

**Machine.** A shared ${m.cpus}-CPU box (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux; load
average at start ${report.loadAtStart.join(' / ')}, at the end ${report.loadAtEnd.join(' / ')}. Run on
${report.date}. Other work shares the machine: single figures are noisy, compare ratios from one run.`;
}

export function drConsoleSummary(report: DrReport): string {
  const f = figures(report);
  const rate = (ms: number) =>
    `${int(report.rows / (ms / 1000))} rows/s, ${(f.textBytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
  return [
    `Backup and restore of a pool tenant with ${int(report.rows)} rows (${mb(f.textBytes)} of COPY text; ${report.rounds.length} rounds, medians)`,
    `  backup:  Landlord ${secs(f.backup.landlordMs)} (${rate(f.backup.landlordMs)}), bare ${secs(f.backup.bareMs)} (${rate(f.backup.bareMs)})`,
    `  restore: Landlord ${secs(f.restore.landlordMs)} (stage ${secs(f.restore.stageMs)} + switch ${secs(f.restore.switchMs)}), bare ${secs(f.restore.bareMs)}`,
    `  verify ${secs(f.verifyMs)}; API backup ${secs(f.api.totalMs)} (snapshot ${secs(f.api.snapshotMs)}, overhead ${msOrS(f.api.overheadMs)}; empty tenant ${msOrS(f.api.emptyMs)})`,
    `  with ${report.withProjectIndex.index}: restore Landlord ${secs(indexFigures(report).landlordMs)}, bare ${secs(indexFigures(report).bareMs)} (${x(indexFigures(report).ratio)})`,

    `  Target (>= ${TARGET_RATIO}x the bare throughput): backup ${x(f.backup.ratio)} (${f.backup.met ? 'met' : 'NOT met'}), ` +
      `restore ${x(f.restore.ratio)} (${f.restore.met ? 'met' : 'NOT met'})`,
  ].join('\n');
}

export function writeDrDocsSection(file: string, report: DrReport): void {
  writeMarkedSection(file, SECTION, markdownSection(report));
}
