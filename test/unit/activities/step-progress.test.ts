import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Registry } from '../../../registry/index.js';
import { stepProgressWriter } from '../../../activities/step-progress.js';
import type { StepProgress } from '../../../domain/index.js';

/** Records what reached the registry, and lets a test hold a write in flight. */
function recordingStore() {
  const written: StepProgress[] = [];
  let hold: Promise<void> | undefined;
  const store = {
    operations: {
      recordStepProgress: async (_op: string, _run: number, _step: string, p: StepProgress) => {
        if (hold) await hold;
        written.push(p);
      },
    },
  } as unknown as Registry;
  return {
    store,
    written,
    holdWrites(): () => void {
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

const ref = { operationId: 'op-1', run: 1, step: 'provision-primary' };
const at = (done: number): StepProgress => ({ done, total: 5 });

describe('step progress writer', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('writes the first report at once and the last of a burst after the interval', async () => {
    const { store, written } = recordingStore();
    const shown = stepProgressWriter(store, ref, 500);
    shown.report(at(0));
    shown.report(at(1));
    shown.report(at(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([at(0)]);
    await vi.advanceTimersByTimeAsync(500);
    // The burst's last report lands even though nothing more is reported.
    expect(written).toEqual([at(0), at(2)]);
  });

  it('finish replaces a pending report and lands after writes already under way', async () => {
    const { store, written, holdWrites } = recordingStore();
    const shown = stepProgressWriter(store, ref, 500);
    const release = holdWrites();
    shown.report(at(1));
    shown.report(at(3));
    const finished = shown.finish(at(5));
    release();
    await finished;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(written).toEqual([at(1), at(5)]);
  });

  it('settle writes the pending report now and waits for it', async () => {
    const { store, written } = recordingStore();
    const shown = stepProgressWriter(store, ref, 500);
    shown.report(at(1));
    shown.report(at(2));
    await shown.settle();
    expect(written).toEqual([at(1), at(2)]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(written).toEqual([at(1), at(2)]);
  });

  it('writes nothing reported after finish or settle (a late event of an attempt that is over)', async () => {
    const { store, written } = recordingStore();
    const shown = stepProgressWriter(store, ref, 500);
    shown.report(at(1));
    await shown.finish(at(5));
    shown.report(at(2));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(written).toEqual([at(1), at(5)]);

    const { store: other, written: settled } = recordingStore();
    const failed = stepProgressWriter(other, ref, 500);
    failed.report(at(1));
    failed.report(at(3));
    await failed.settle();
    failed.report(at(4));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toEqual([at(1), at(3)]);
  });

  it('a failed write is skipped and later ones still land', async () => {
    const written: StepProgress[] = [];
    let calls = 0;
    const store = {
      operations: {
        recordStepProgress: async (_o: string, _r: number, _s: string, p: StepProgress) => {
          if (calls++ === 0) throw new Error('connection reset');
          written.push(p);
        },
      },
    } as unknown as Registry;
    const shown = stepProgressWriter(store, ref, 500);
    shown.report(at(1));
    await shown.finish(at(5));
    expect(written).toEqual([at(5)]);
  });

  it('writes nothing without a step to write to', async () => {
    const { store, written } = recordingStore();
    const shown = stepProgressWriter(store, undefined, 500);
    shown.report(at(1));
    await shown.finish(at(5));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(written).toEqual([]);
  });
});
