/**
 * Who waits for which operation to end: a long poll registers here, and whatever learns that an
 * operation ended (a Postgres notification, an in-memory write) wakes its waiters.
 */
export class EndWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /**
   * Waits until `wake(id)`, `timeoutMs` or `signal`; `isEnded` is asked once the wait is
   * registered (so an end between a caller's read and its wait is not missed) and again every
   * `recheckMs`, in case a wake-up was lost (a dropped connection).
   */
  async wait(
    id: string,
    timeoutMs: number,
    isEnded: () => Promise<boolean>,
    { signal, recheckMs = 2_000 }: { signal?: AbortSignal | undefined; recheckMs?: number } = {},
  ): Promise<void> {
    if (signal?.aborted || timeoutMs <= 0) return;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const set = this.waiting.get(id) ?? new Set();
    set.add(done);
    this.waiting.set(id, set);
    const timer = setTimeout(done, timeoutMs);
    const recheck = setInterval(
      () =>
        void isEnded().then(
          (ended) => ended && done(),
          () => undefined,
        ),
      recheckMs,
    );
    signal?.addEventListener('abort', done, { once: true });
    try {
      if (await isEnded().catch(() => false)) return;
      await finished;
    } finally {
      clearTimeout(timer);
      clearInterval(recheck);
      signal?.removeEventListener('abort', done);
      set.delete(done);
      if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
    }
  }

  wake(id: string): void {
    for (const done of this.waiting.get(id) ?? []) done();
  }
}
