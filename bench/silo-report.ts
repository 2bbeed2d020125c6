/** The silo-onboarding results as console tables and as their section of docs/benchmarks.md. */
import { writeMarkedSection } from './docs-section.js';
import { percentile } from './load.js';
import { machineFacts } from './report.js';
import type { RssPeaks } from './rss-sampler.js';
import type { CpuSpent, SiloOnboardingReport } from './silo.js';
import { SILO_TIER } from './silo.js';
import { table } from './markdown-table.js';

const SECTION = 'silo-onboarding';

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const p50 = (values: number[]) => percentile(sorted(values), 50);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const x = (ratio: number) => `${ratio.toFixed(2)}x`;
const more = (ms: number) => (ms >= 0 ? `${s(ms)} more` : `${s(-ms)} less`);
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/** The figures the tables show, worked out once. */
function figures(report: SiloOnboardingReport) {
  const landlord = report.sequential.map((o) => o.latencyMs);
  const bareWall = report.bare.map((b) => b.wallMs);
  const bareUp = report.bare.map((b) => b.actionMs);
  const c = report.concurrent;
  // One at a time, the concurrent level's onboardings would have taken this long.
  const oneByOne = c.count * mean(landlord);
  return {
    landlord,
    bareWall,
    bareUp,
    bareStart: report.bare.map((b) => b.startMs),
    bareSetup: report.bare.map((b) => b.setupMs),
    ratio: p50(landlord) / p50(bareWall),
    ratioUpAlone: p50(landlord) / p50(bareUp),
    levels: [
      {
        concurrency: 1,
        count: landlord.length,
        totalMs: landlord.reduce((a, b) => a + b, 0),
        latencies: sorted(landlord),
        vsOneByOne: 1,
        memory: report.memory.sequential,
      },
      {
        concurrency: c.concurrency,
        count: c.count,
        totalMs: c.wallMs,
        latencies: c.latencies,
        vsOneByOne: c.wallMs / oneByOne,
        memory: report.memory.concurrent,
      },
    ],
  };
}

function comparisonTable(report: SiloOnboardingReport): string {
  const f = figures(report);
  const row = (what: string, values: number[]) => [
    what,
    String(values.length),
    s(p50(values)),
    s(Math.min(...values)),
    s(Math.max(...values)),
    values.map((v) => (v / 1000).toFixed(2)).join(', '),
  ];
  return table(
    ['', 'runs', 'p50', 'min', 'max', 'each run, in order (s)'],
    [
      row('Landlord: `POST /v1/tenants` → `succeeded`', f.landlord),
      row('Baseline: bare process, spawn → exit', f.bareWall),
      row('… of which `stack.up()` (`pulumi up`)', f.bareUp),
      row('… of which SDK load, workspace and config', f.bareSetup),
      row('… of which Node and tsx start-up', f.bareStart),
    ],
    ['l', 'r', 'r', 'r', 'r', 'l'],
  );
}

function concurrencyTable(report: SiloOnboardingReport): string {
  const first = figures(report).levels[0]!;
  return table(
    [
      'concurrency',
      'onboardings',
      'total wall',
      'per-onboarding p50',
      'max',
      'total vs. one at a time',
      'p50 vs. concurrency 1',
    ],
    figures(report).levels.map((l) => [
      String(l.concurrency),
      String(l.count),
      s(l.totalMs),
      s(percentile(l.latencies, 50)),
      s(l.latencies.at(-1)!),
      x(l.vsOneByOne),
      x(percentile(l.latencies, 50) / percentile(first.latencies, 50)),
    ]),
    ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

function memoryTable(report: SiloOnboardingReport): string {
  const { memory, plan } = report;
  const row = (what: string, peaks: RssPeaks, own = mib(peaks.rootBytes)) => [
    what,
    own,
    mib(peaks.treeBytes),
    String(peaks.processes),
    String(peaks.samples),
  ];
  return table(
    [
      'provisioning worker',
      'worker process peak RSS',
      'worker + descendants peak (sum of RSS)',
      'most processes',
      'samples',
    ],
    [
      row('just started, polling (2 s, before any onboarding)', memory.idle),
      row('onboardings one at a time', memory.sequential),
      row(`${plan.concurrency} onboardings at once`, memory.concurrent),
      row('baseline: one bare run (process, CLI, provider host)', memory.bare, '—'),
    ],
    ['l', 'r', 'r', 'r', 'r'],
  );
}

function cpuTable(report: SiloOnboardingReport): string {
  const { cpus } = machineFacts();
  const row = (what: string, c: CpuSpent, showWorker: boolean, showBare: boolean) => {
    const per = (v: number) => `${(v / c.runs).toFixed(1)} s`;
    return [
      what,
      String(c.runs),
      per(c.wallMs / 1000),
      showWorker ? per(c.worker) : '—',
      per(c.landlord),
      showBare ? per(c.bare) : '—',
      per(c.machine),
      `${Math.round((100 * c.machine) / ((c.wallMs / 1000) * cpus))}%`,
    ];
  };
  return table(
    [
      'per run',
      'runs',
      'wall',
      'CPU: provisioning worker + descendants',
      'CPU: benchmark process (API, lifecycle worker, samplers)',
      'CPU: bare run + descendants',
      'CPU: whole machine',
      `machine busy (of ${cpus} CPUs)`,
    ],
    [
      row('Landlord, one at a time', report.cpu.sequential, true, false),
      row('baseline, one at a time', report.cpu.bare, false, true),
      row(`Landlord, ${report.plan.concurrency} at once`, report.cpu.concurrent, true, false),
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** Plain text for the terminal. */
export function siloConsoleSummary(report: SiloOnboardingReport): string {
  const f = figures(report);
  const worst = Math.max(report.memory.sequential.treeBytes, report.memory.concurrent.treeBytes);
  return [
    `Silo onboarding (tier ${SILO_TIER}, local-a) vs. the same program by the Automation API alone`,
    '',
    `  Landlord p50 ${s(p50(f.landlord))} [${f.landlord.map((v) => s(v)).join(', ')}]`,
    `  baseline p50 ${s(p50(f.bareWall))} [${f.bareWall.map((v) => s(v)).join(', ')}]`,
    `  ratio ${x(f.ratio)} (vs. pulumi up alone, p50 ${s(p50(f.bareUp))}: ${x(f.ratioUpAlone)})`,
    '',
    ...f.levels.map(
      (l) =>
        `  concurrency ${l.concurrency}: ${l.count} onboardings in ${s(l.totalMs)}, p50 ${s(percentile(l.latencies, 50))}, ${x(l.vsOneByOne)} of one at a time`,
    ),
    '',
    `  worker peak RSS during onboardings ${mib(Math.max(report.memory.sequential.rootBytes, report.memory.concurrent.rootBytes))} ` +
      `(VmHWM ${mib(report.memory.workerHighWaterBytes)}), with descendants ${mib(worst)}; ` +
      `idle ${mib(report.memory.idle.rootBytes)}; one bare run's tree ${mib(report.memory.bare.treeBytes)}`,
    '',
    '  CPU per run:',
    cpuTable(report)
      .split('\n')
      .filter((_, i) => i !== 1)
      .map((line) => `  ${line}`)
      .join('\n'),
  ].join('\n');
}

function markdownSection(report: SiloOnboardingReport): string {
  const m = machineFacts();
  const f = figures(report);
  const { plan, cpu } = report;
  const perOnboarding = (v: number) => `${(v / cpu.concurrent.runs).toFixed(1)}`;
  return `## Silo onboarding

_Written by \`npm run bench\` (bench/silo.ts; \`npm run bench -- silo\` runs it alone); edit the
benchmark, not this section._

**What is measured.** The wall time from sending \`POST /v1/tenants\` (tier \`${SILO_TIER}\`: a
silo of its own, no DR; region \`local-a\`; a fresh id) to reading \`status: "succeeded"\` from
\`GET /v1/operations/{id}?wait=30s\` (a long poll); the tenant is then \`active\`
(checked after each onboarding, outside the timing). That is the whole onboarding saga: validate,
record, \`provision-primary\` (a \`pulumi up\` of the tenant's stack
\`landlord-silo/<tenant>.local-a\`: role, database, the application's migrations, storage folder,
data key), the admin user in the new database, two webhook notifications to a loopback receiver,
activate. Everything is real and on loopback: the API and the lifecycle worker in the benchmark
process; the **provisioning worker in a process of its own**, started as \`npm start\` starts it
(\`node --import tsx workers/provisioning.ts\`), which runs each stack action in a child process
(pulumi/run-stack.ts) with the Pulumi CLI and the dynamic-provider host under that; the Temporal
dev server (SQLite); embedded Postgres for the registry and \`local-a\`; the Pulumi file backend,
passphrase secrets and \`PULUMI_HOME\` in a throwaway data folder. ${plan.warmup} onboarding and
${plan.warmup} baseline run warm up first and are not measured.

**Baseline: the same program without Landlord.** bench/bare-pulumi.ts runs the same inline
program (\`localSiloProgram\`, component \`LocalTenantSilo\`) with the Automation API from a
plain process of its own (\`LocalWorkspace.createOrSelectStack\`, \`setAllConfig\`,
\`stack.up()\`) and nothing else: no API, Temporal, worker or registry. Its spec comes from
Landlord's policy code for the same request body with a fresh tenant id; its stack config is the
one the provisioning activity sets (\`local-a\`'s server, objects folder, migrations); it uses the
same Pulumi CLI (\`${report.pulumiVersion}\`), file backend, passphrase, \`PULUMI_HOME\` and
environment as the worker's stack runner, against the same Postgres server, in the same run. Its
time is from spawning the process to its exit; the rows under it split that up as the process
measured it. Baseline and Landlord runs alternate, one at a time, each going first every other
time; the ${report.bareDestroyed} baseline stacks are destroyed and removed afterwards, outside the
timing.

It is not \`pulumi up\` typed on the CLI in a \`Pulumi.yaml\` project: that needs the
\`pulumi-language-nodejs\` language host, which the \`@pulumi/pulumi\` npm package does not ship
(only the dynamic-provider host) and the Go module proxy does not serve
(\`github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3\` answers 403), so the
project cannot install it. The Automation API is that same run with the language host in-process:
it serves the program itself and runs the same CLI as
\`pulumi up --yes --skip-preview --client=<its host>\`, after its own workspace calls
(\`pulumi version\`, \`stack select\`, then \`stack init\` for a new stack, \`config set-all\`),
exactly as Landlord's stack runner does. So the ratio is what Temporal, the API, the worker and the
rest of the saga add to one stack update.

${comparisonTable(report)}

**Landlord / baseline (p50): ${x(f.ratio)}**, ${more(p50(f.landlord) - p50(f.bareWall))} per
onboarding; against \`stack.up()\` alone: ${x(f.ratioUpAlone)}. Landlord's stack runner is a fresh
process per action too, so it pays the baseline's start-up and workspace calls as well.

**Concurrency.** Onboardings on the one provisioning worker (${report.workerSlots} activity slots).
At concurrency 1 they are the onboardings above, one at a time, and the total is the sum of their
times; at concurrency ${plan.concurrency}, ${plan.concurrency} callers each onboard one tenant after
another until ${plan.concurrentCount} are done, and the total is that level's wall-clock time.
"Total vs. one at a time" is the total over (onboardings × the mean concurrency-1 time).

${concurrencyTable(report)}

**CPU.** Per onboarding or bare run, from \`/proc\`: a process's user + system time plus that of
the children it has waited for (\`utime\`, \`stime\`, \`cutime\`, \`cstime\` in
\`/proc/<pid>/stat\`; the stack runners, CLIs and provider hosts have all exited by the end of a
run), and the whole machine's busy time from \`/proc/stat\` (Temporal and Postgres included).
"Wall" at concurrency ${plan.concurrency} is the level's wall time over its onboardings.

${cpuTable(report)}

At concurrency ${plan.concurrency} the ${cpu.concurrent.runs} onboardings used
${cpu.concurrent.machine.toFixed(1)} CPU-seconds in all (${perOnboarding(cpu.concurrent.worker)} of
each onboarding's ${perOnboarding(cpu.concurrent.machine)} under the provisioning worker), which
${m.cpus} CPUs need at least ${(cpu.concurrent.machine / m.cpus).toFixed(1)} s for; the level took
${(cpu.concurrent.wallMs / 1000).toFixed(1)} s.

**Memory.** The provisioning worker's process and every process under it (its stack runners, the
Pulumi CLI each one runs, the dynamic-provider host the CLI starts), sampled every
${plan.rssIntervalMs} ms from \`/proc\`: descendants found by each process's parent id in
\`/proc/<pid>/stat\`, and \`VmRSS\` from \`/proc/<pid>/status\`. "Worker + descendants" is the
largest sum of those RSS values at one sample; it counts pages shared between processes (the Node
binary, libraries) once per process, so it is an upper bound of what they take together. The
kernel's own peak RSS of the worker process (\`VmHWM\`) at the end of the run:
**${mib(report.memory.workerHighWaterBytes)}**.

${memoryTable(report)}

**Reproduce.** \`npm run bench -- silo\` (this run: ${Math.round(report.durationMs / 1000)} s, plus
starting and stopping the servers; \`npm run bench\` runs the pool benchmark too).
\`BENCH_QUICK=1\` is a short smoke run, and \`BENCH_SILO_SEQUENTIAL\` (default 5),
\`BENCH_SILO_CONCURRENCY\` (4) and \`BENCH_SILO_CONCURRENT\` (onboardings at that concurrency,
default the concurrency) set other counts; neither updates this file. \`BENCH_RSS_INTERVAL_MS\`
changes the memory sampler's interval.

**Machine.** ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux; load
average at start ${report.loadAtStart.join(' / ')}, at the end ${report.loadAtEnd.join(' / ')}.
Run on ${report.date}.`;
}

/** Writes (or replaces) this benchmark's section of docs/benchmarks.md. */
export function writeSiloDocsSection(file: string, report: SiloOnboardingReport): void {
  writeMarkedSection(file, SECTION, markdownSection(report));
}
