/**
 * Keeps what `npm start` started running: a worker, the API, the Temporal dev server or an
 * embedded Postgres server that dies is started again after a backoff, and the death is logged
 * with its exit code. Temporal retries the activity the death interrupted, so a crash costs the
 * user nothing but that retry. Only repeated quick deaths (a process that cannot stay up) make
 * the supervisor give up, and then the whole stack stops.
 */
import { describeExit } from './server-process.js';
import type { ProcessExit, ServerProcess } from './server-process.js';

export interface SupervisorOptions {
  log: (line: string) => void;
  /** Called once when a process died `maxQuickDeaths` times in a row within `quickMs` of its start. */
  onGiveUp: (process: ServerProcess, exit: ProcessExit) => void;
  /** A death this soon after a start is a quick one (default 30 s). */
  quickMs?: number;
  /** Quick deaths in a row before giving up (default 5). */
  maxQuickDeaths?: number;
  /** First delay before a restart, doubled after each quick death (default 1 s, at most 30 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export class Supervisor {
  private stopped = false;
  private readonly wakeUps = new Set<() => void>();
  private readonly restarts = new Map<string, number>();

  constructor(private readonly options: SupervisorOptions) {}

  /** How many times `name` has been started again. */
  restartsOf(name: string): number {
    return this.restarts.get(name) ?? 0;
  }

  /** Watches `process` (already running) until `stop()`. */
  watch(process: ServerProcess): void {
    void this.keep(process);
  }

  /** No restart from now on (the stack is stopping); pending restart delays end at once. */
  stop(): void {
    this.stopped = true;
    for (const wake of this.wakeUps) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeUps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeUps.add(wake);
    });
  }

  private async keep(process: ServerProcess): Promise<void> {
    const { log, onGiveUp } = this.options;
    const quickMs = this.options.quickMs ?? 30_000;
    const maxQuickDeaths = this.options.maxQuickDeaths ?? 5;
    const firstDelayMs = this.options.firstDelayMs ?? 1_000;
    const maxDelayMs = this.options.maxDelayMs ?? 30_000;
    let startedAt = Date.now();
    let quickDeaths = 0;
    for (;;) {
      const exit = await process.exited();
      if (this.stopped) return;
      quickDeaths = Date.now() - startedAt < quickMs ? quickDeaths + 1 : 1;
      if (quickDeaths >= maxQuickDeaths) {
        log(
          `${process.name} exited (${describeExit(exit)}) ${quickDeaths} times in a row within ${quickMs / 1000} s of starting; giving up`,
        );
        onGiveUp(process, exit);
        return;
      }
      const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (quickDeaths - 1));
      log(`${process.name} exited (${describeExit(exit)}); starting it again in ${delayMs / 1000} s`);
      await this.sleep(delayMs);
      if (this.stopped) return;
      startedAt = Date.now();
      try {
        await process.restart();
        this.restarts.set(process.name, this.restartsOf(process.name) + 1);
        log(`${process.name} is running again (pid ${process.pid ?? 'unknown'})`);
      } catch (err) {
        // Counts as another quick death: exited() answers at once for a process that is not running.
        log(`${process.name} did not start again: ${(err as Error).message}`);
      }
      if (this.stopped) {
        await process.stop();
        return;
      }
    }
  }
}
