/**
 * A CPU profile of this process's main thread around one piece of work (the inspector's sampling
 * profiler, what `node --cpu-prof` writes), summed by what the time went to: each sample is filed
 * under the nearest frame on its stack that `classify` names (native code under the JS that called
 * it), `(idle)` being time the thread waited (on Postgres, the disk or a timer).
 */
import { Session } from 'node:inspector/promises';

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Milliseconds by category, largest first, the profile's whole length, and what `other` holds most of. */
export interface ProfileSummary {
  totalMs: number;
  categories: { name: string; ms: number }[];
  /** The frames with the most self time among those in no category: `function (file)`. */
  otherFrames: { frame: string; ms: number }[];
}

/** The name of what a frame does, or undefined to file it under its caller's. */
export type FrameClassifier = (frame: CallFrame) => string | undefined;

/** Runs `work` under the sampling profiler (1 ms samples) and sums its samples with `classify`. */
export async function profiled<T>(
  work: () => Promise<T>,
  classify: FrameClassifier,
): Promise<{ value: T; summary: ProfileSummary }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 1000 });
    await session.post('Profiler.start');
    let value: T;
    try {
      value = await work();
    } catch (err) {
      await session.post('Profiler.stop').catch(() => undefined);
      throw err;
    }
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    return { value, summary: summarize(profile, classify) };
  } finally {
    session.disconnect();
  }
}

function summarize(profile: CpuProfile, classify: FrameClassifier): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  const categoryOf = new Map<number, string>();
  const category = (id: number): string => {
    const known = categoryOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const parent = parentOf.get(id);
    const name = classify(node.callFrame) ?? (parent === undefined ? 'other' : category(parent));
    categoryOf.set(id, name);
    return name;
  };
  const ms = new Map<string, number>();
  const others = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const delta = (profile.timeDeltas[i] ?? 0) / 1000;
    // The inspector session's own call (the profile being built at its stop): not the work's.
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === 'dispatch' && url === '') return;
    totalMs += delta;
    const name = category(id);
    ms.set(name, (ms.get(name) ?? 0) + delta);
    if (name === 'other') {
      const frame = `${functionName || '(anonymous)'} (${url.split('/').slice(-2).join('/') || 'native'})`;
      others.set(frame, (others.get(frame) ?? 0) + delta);
    }
  });
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalMs,
    categories: sorted(ms).map(([name, v]) => ({ name, ms: v })),
    otherFrames: sorted(others)
      .slice(0, 8)
      .map(([frame, v]) => ({ frame, ms: v })),
  };
}
