/** Closed-loop load: `concurrency` callers each run one sample after another until `count` ran. */

export interface LevelResult {
  concurrency: number;
  count: number;
  /** Per-sample latency in ms, sorted ascending. */
  latencies: number[];
  wallMs: number;
}

/** Runs `sample` `count` times with at most `concurrency` in flight; any failure fails the level. */
export async function runLevel(
  concurrency: number,
  count: number,
  sample: (index: number) => Promise<number>,
): Promise<LevelResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const caller = async () => {
    while (next < count) {
      const index = next++;
      latencies.push(await sample(index));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, caller));
  const wallMs = performance.now() - started;
  return { concurrency, count, latencies: latencies.sort((a, b) => a - b), wallMs };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Samples per second over the level's wall-clock time. */
export function throughput(result: LevelResult): number {
  return result.count / (result.wallMs / 1000);
}
