/**
 * The pool-onboarding results as a console table and as its section of docs/benchmarks.md, which
 * other benchmarks share: only the text between this benchmark's markers is replaced.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { writeMarkedSection } from './docs-section.js';
import type { ActivityCounts } from './landlord.js';
import { percentile, throughput } from './load.js';
import type { LevelResult } from './load.js';

const SECTION = 'pool-onboarding';

/** The p50 at concurrency 1 the issue asks for, and the largest onboarding/baseline p50 ratio. */
/** Targets, all ratios to the baseline of the same run: p50 at concurrency 1, throughput at 8 and 32. */
export const TARGET_P50_RATIO = 1.6;
export const TARGET_THROUGHPUT_RATIO = 0.6;
const THROUGHPUT_LEVELS = [8, 32];

export interface LevelComparison {
  onboarding: LevelResult;
  /** Of the onboarding's POST alone (update-with-start until the 202). */
  acceptLatencies: number[];
  baseline: LevelResult;
}

export interface PoolOnboardingReport {
  date: string;
  warmup: number;
  counts: ActivityCounts;
  baselineWorkflowTasks: number;
  levels: LevelComparison[];
  /** Load average when the benchmark started, to judge how quiet the machine was. */
  loadAtStart: number[];
}

export function machineFacts(): { cpus: number; cpuModel: string; node: string; memoryGiB: number } {
  let cpuModel = 'unknown';
  try {
    cpuModel =
      /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: the model stays unknown.
  }
  return {
    cpus: availableParallelism(),
    cpuModel,
    node: process.version,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

export function currentLoad(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const rate = (v: number) => `${v.toFixed(1)}/s`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function rows(report: PoolOnboardingReport): string[][] {
  return report.levels.map(({ onboarding: o, acceptLatencies, baseline: b }) => [
    String(o.concurrency),
    String(o.count),
    ms(percentile(o.latencies, 50)),
    ms(percentile(o.latencies, 95)),
    rate(throughput(o)),
    ms(percentile(acceptLatencies, 50)),
    ms(percentile(b.latencies, 50)),
    ms(percentile(b.latencies, 95)),
    rate(throughput(b)),
    ratio(percentile(o.latencies, 50), percentile(b.latencies, 50)),
    ratio(percentile(o.latencies, 95), percentile(b.latencies, 95)),
  ]);
}

const HEADERS = [
  'concurrency',
  'onboardings',
  'onboarding p50',
  'onboarding p95',
  'onboarding throughput',
  'POST 202 p50',
  'baseline p50',
  'baseline p95',
  'baseline throughput',
  'p50 ratio',
  'p95 ratio',
];

/**
 * Whether the targets hold: p50 at concurrency 1 at most 1.6x the baseline's, and throughput at
 * concurrency 8 and 32 at least 0.6x the baseline's. Each missed target says by how much.
 */
export function targetVerdict(report: PoolOnboardingReport): { met: boolean; text: string } {
  const parts: string[] = [];
  let met = true;
  const one = report.levels.find((l) => l.onboarding.concurrency === 1);
  if (one) {
    const r = percentile(one.onboarding.latencies, 50) / percentile(one.baseline.latencies, 50);
    const ok = r <= TARGET_P50_RATIO;
    met &&= ok;
    parts.push(
      `p50 at concurrency 1 is ${r.toFixed(2)}x the baseline's (target <= ${TARGET_P50_RATIO}x: ${ok ? 'met' : `NOT met, by ${(r - TARGET_P50_RATIO).toFixed(2)}x`})`,
    );
  } else {
    met = false;
    parts.push('p50 at concurrency 1 not measured');
  }
  for (const c of THROUGHPUT_LEVELS) {
    const level = report.levels.find((l) => l.onboarding.concurrency === c);
    if (!level) {
      met = false;
      parts.push(`throughput at ${c} not measured`);
      continue;
    }
    const r = throughput(level.onboarding) / throughput(level.baseline);
    const ok = r >= TARGET_THROUGHPUT_RATIO;
    met &&= ok;
    parts.push(
      `throughput at ${c} is ${r.toFixed(2)}x the baseline's (target >= ${TARGET_THROUGHPUT_RATIO}x: ${ok ? 'met' : `NOT met, by ${(TARGET_THROUGHPUT_RATIO - r).toFixed(2)}x`})`,
    );
  }
  return { met, text: parts.join('; ') };
}

/** A plain-text table for the terminal. */
export function consoleTable(report: PoolOnboardingReport): string {
  const table = [HEADERS, ...rows(report)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table
    .map((r) =>
      r.map((cell, i) => (i < 2 ? cell.padStart(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

function markdownSection(report: PoolOnboardingReport): string {
  const m = machineFacts();
  const { counts } = report;
  const table = [
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map(() => '---:').join('|')}|`,
    ...rows(report).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  return `## Pool onboarding

_Written by \`npm run bench\` (bench/run.ts); edit the benchmark, not this section._

**What is measured.** Onboarding latency is the time from sending \`POST /v1/tenants\` (tier
\`basic\`, region \`local-a\`, a fresh id) to reading \`status: "succeeded"\` from
\`GET /v1/operations/{id}?wait=30s\` (a long poll, answered as soon as the operation ends). Everything runs for real on loopback:
the HTTP API, the Temporal dev server (SQLite), embedded Postgres (registry and pool region), the
lifecycle worker, and webhook delivery of both notifications to a local receiver (every delivery is
checked to have arrived). The API, the worker, the webhook receiver and the load generator share
one Node process, as in the integration tests. Each concurrency level is a closed loop: that many
callers each onboard one tenant after another until the level's count is done; throughput is
onboardings over the level's wall-clock time. ${report.warmup} onboardings and ${report.warmup}
baseline runs warm up first and are not measured. "POST 202 p50" is the update-with-start alone.

**Baseline.** On the same Temporal server, in the same run, a bare workflow on its own worker and
task queue (same slot and cache settings as the lifecycle worker) runs the same number of no-op
activities in sequence, started and awaited with \`client.workflow.execute\`. The counts are read
from one onboarding's histories (tenant workflow \`tenant:<id>\` plus its operation's child
workflow): **${counts.activities} regular activities** (\`ActivityTaskScheduled\`) and
**${counts.localActivities} local activities** (\`MarkerRecorded\`), over ${counts.workflowTasks}
workflow tasks; the baseline needs ${report.baselineWorkflowTasks} workflow tasks for the same
activities. Ratios are onboarding / baseline.

**Reproduce.** \`npm run bench\` (under five minutes on 2 CPUs; \`BENCH_QUICK=1 npm run bench\` is a
short smoke run that does not update this file;
\`BENCH_LEVELS=8:120,32:256\` other levels, also without updating this file). \`npx tsx
bench/trace-onboarding.ts\` prints one onboarding's timeline from its histories.

**Machine.** ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux; load average
at start ${report.loadAtStart.join(' / ')}. Run on ${report.date}.

${table}

**Targets** (same run, same server: p50 at concurrency 1 at most ${TARGET_P50_RATIO}x the baseline's;
throughput at concurrency ${THROUGHPUT_LEVELS.join(' and ')} at least ${TARGET_THROUGHPUT_RATIO}x the baseline's):
${targetVerdict(report).met ? 'met' : 'not all met'}. ${targetVerdict(report).text}.`;
}

/** Writes (or replaces) this benchmark's section of docs/benchmarks.md. */
export function writeDocsSection(file: string, report: PoolOnboardingReport): void {
  writeMarkedSection(file, SECTION, markdownSection(report));
}
