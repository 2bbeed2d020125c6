/**
 * What `npm start` supervises: a server or a Landlord process it started, which can die, be
 * started again with the same files and port, and be stopped.
 */
import type { ChildProcess } from 'node:child_process';

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
