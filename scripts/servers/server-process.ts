/**
 * What `npm start` supervises: a server or a Landlord process it started, which can die, be
 * started again with the same files and port, and be stopped.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { forgetOnExit, stopWithThisProcess } from './reaper.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  /** e.g. "the registry Postgres server", "the lifecycle worker". */
  readonly name: string;
  /** The current process's pid; undefined while it is not running. */
  readonly pid: number | undefined;
  /** How the current process ended, whoever ended it; at once if it is not running. */
  exited(): Promise<ProcessExit>;
  /** Starts it again, with the same files and port, after it exited. */
  restart(): Promise<void>;
  /** Asks it to stop cleanly and waits for it; it is not started again. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would; the supervisor starts it again. */
  kill(): Promise<void>;
}

export const describeExit = ({ code, signal }: ProcessExit) =>
  signal ? `signal ${signal}` : `exit code ${code ?? 'none'}`;

/** How `child` ended; at once if it already has. */
export function exitOf(child: ChildProcess): Promise<ProcessExit> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Sends `signal` to `child` and waits for it to exit; SIGKILL if it has not after `graceMs`.
 */
export async function endChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs = 30_000,
): Promise<ProcessExit> {
  const exit = exitOf(child);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    void exit.then(() => clearTimeout(killer));
  }
  return exit;
}

/** How `managedProcess` starts a process, and what to do around it. */
export interface Launch {
  command: string;
  args: string[];
  options: SpawnOptions;
  /** Signal and command-line text for the reaper, which stops the process if this one dies. */
  reap: { signal: NodeJS.Signals; mustContain: string };
  /** Run once it has started (pipe its output); may return what to do once it exits. */
  started?: (child: ChildProcess) => (() => void) | void;
  /**
   * Whether this process may exit while it runs (servers: the reaper stops them then). A process
   * that is this one's work (a worker under `npm start`) keeps this process alive.
   */
  unref: boolean;
  /** Resolves when it serves; rejects (it is then killed) when it does not. */
  ready: (child: ChildProcess) => Promise<void>;
  /** What the error says when it did not become ready. */
  notReady?: (err: Error) => Promise<Error> | Error;
}

/**
 * A ServerProcess around a child this process starts (again) with `launch()`: in a process group
 * of its own, not keeping this process alive, stopped with it by the reaper, and forgotten by the
 * reaper once it exits. `stopSignal` stops it cleanly; SIGKILL after `graceMs`.
 */
export function managedProcess(
  name: string,
  launch: () => Promise<Launch>,
  { stopSignal, graceMs = 30_000 }: { stopSignal: NodeJS.Signals; graceMs?: number },
): ServerProcess & { start(): Promise<void> } {
  let child: ChildProcess | undefined;
  let lastExit: ProcessExit = { code: null, signal: null };
  const start = async () => {
    const how = await launch();
    const started = spawn(how.command, how.args, { ...how.options, detached: true });
    child = started;
    try {
      await new Promise<void>((resolve, reject) => {
        started.once('spawn', resolve);
        started.once('error', reject);
      });
    } catch (err) {
      child = undefined;
      throw new Error(`could not run ${how.command}: ${(err as Error).message}`);
    }
    started.on('error', () => undefined);
    if (how.unref) {
      // It does not keep this process alive: the reaper stops it should this process die.
      started.unref();
      for (const stream of [started.stdout, started.stderr])
        (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
    const onExit = how.started?.(started);
    if (started.pid) stopWithThisProcess(started.pid, how.reap.signal, how.reap.mustContain);
    void exitOf(started).then((exit) => {
      lastExit = exit;
      if (started.pid) forgetOnExit(started.pid);
      onExit?.();
    });
    try {
      await how.ready(started);
    } catch (err) {
      await endChild(started, 'SIGKILL');
      throw how.notReady ? await how.notReady(err as Error) : err;
    }
  };
  return {
    name,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    exited: () => (child ? exitOf(child) : Promise.resolve(lastExit)),
    start,
    restart: start,
    stop: async () => void (child && (await endChild(child, stopSignal, graceMs))),
    kill: async () => void (child && (await endChild(child, 'SIGKILL'))),
  };
}
