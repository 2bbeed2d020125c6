/**
 * Writes an activity's progress onto its operation's step at most twice a second. The latest
 * report always lands (a trailing write follows a burst), and writes land in the order they were
 * made, so the step never shows a count older than one already shown.
 */
import { throttle } from 'es-toolkit';
import type { StepProgress } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import type { StepRef } from './step-ref.js';

export interface StepProgressWriter {
  /** Records progress soon; cheap enough to call on every engine event. Ignored once closed. */
  report(progress: StepProgress): void;
  /** Closes the writer: drops any pending write and records `progress`, after the writes under way. */
  finish(progress: StepProgress): Promise<void>;
  /** Closes the writer: records the latest pending report now, and waits for every write to land. */
  settle(): Promise<void>;
}

export function stepProgressWriter(
  store: Registry,
  stepRef: StepRef | undefined,
  intervalMs = 500,
): StepProgressWriter {
  let chain: Promise<void> = Promise.resolve();
  const write = (progress: StepProgress): Promise<void> => {
    if (!stepRef) return chain;
    // Progress is shown, not relied upon: a failed write is skipped, never an activity failure.
    chain = chain.then(() =>
      store.operations
        .recordStepProgress(stepRef.operationId, stepRef.run, stepRef.step, progress)
        .catch(() => undefined),
    );
    return chain;
  };
  const throttled = throttle((progress: StepProgress) => void write(progress), intervalMs, {
    edges: ['leading', 'trailing'],
  });
  // After finish or settle the attempt is over: a late engine event must not overwrite the step
  // (the next attempt writes the same row).
  let closed = false;
  return {
    report: (progress) => {
      if (!closed) throttled(progress);
    },
    finish: (progress) => {
      closed = true;
      throttled.cancel();
      return write(progress);
    },
    settle: () => {
      if (!closed) throttled.flush();
      closed = true;
      throttled.cancel();
      return chain;
    },
  };
}
