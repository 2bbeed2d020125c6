/**
 * Writes an activity's progress onto its operation's step at most twice a second. The latest
 * report always lands (a trailing write follows a burst), and writes land in the order they were
 * made, so the step never shows a count older than one already shown.
 */
import { throttle } from 'es-toolkit';
import type { StepProgress } from '../domain/index.js';
import type { RegistryStore } from './registry/store.js';
import type { StepRef } from './step-ref.js';

export interface StepProgressWriter {
  /** Records progress soon; cheap enough to call on every engine event. */
  report(progress: StepProgress): void;
  /** Drops any pending write and records `progress` now, after the writes already under way. */
  finish(progress: StepProgress): Promise<void>;
  /** Records the latest pending report now, and waits for every write to land. */
  settle(): Promise<void>;
}

export function stepProgressWriter(
  store: RegistryStore,
  stepRef: StepRef | undefined,
  intervalMs = 500,
): StepProgressWriter {
  let chain: Promise<void> = Promise.resolve();
  const write = (progress: StepProgress): Promise<void> => {
    if (!stepRef) return chain;
    // Progress is shown, not relied upon: a failed write is skipped, never an activity failure.
    chain = chain.then(() =>
      store
        .recordStepProgress(stepRef.operationId, stepRef.run, stepRef.step, progress)
        .catch(() => undefined),
    );
    return chain;
  };
  const throttled = throttle((progress: StepProgress) => void write(progress), intervalMs, {
    edges: ['leading', 'trailing'],
  });
  return {
    report: (progress) => throttled(progress),
    finish: (progress) => {
      throttled.cancel();
      return write(progress);
    },
    settle: () => {
      throttled.flush();
      return chain;
    },
  };
}
