/**
 * Servers an earlier run left behind. If `npm start` was killed outright, its Temporal and Postgres
 * servers keep running and hold their ports and files; the next start stops them first. A process
 * is only signalled when its command line names the file or folder it was started for, so a reused
 * pid never hits someone else's process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isProcessAlive } from '../../activities/processes.js';

/** The command line of a live process, or undefined if there is none (or it cannot be read). */
export function commandLineOf(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() || undefined;
  } catch {
    // No /proc (macOS): ask ps.
  }
  try {
    return (
      execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Whether `pid` still runs: alive, and not a zombie waiting for a parent that never reaps it. */
function running(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    // /proc/<pid>/stat: "pid (name) state …"; the name may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return commandLineOf(pid) !== undefined;
  }
}

/** Sends `signal`; false if the process was already gone. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Stops process `pid` if it is still running `mustContain`: `signal` first, SIGKILL if it has not
 * exited within `graceMs`. Returns whether there was such a process; throws if it outlives SIGKILL.
 */
export async function stopLeftover(
  pid: number,
  mustContain: string,
  { signal: first = 'SIGTERM', graceMs = 15_000 }: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<boolean> {
  if (!commandLineOf(pid)?.includes(mustContain)) return false;
  if (!signal(pid, first)) return true;
  const killAt = Date.now() + graceMs;
  const giveUpAt = killAt + 10_000;
  let killed = false;
  while (running(pid)) {
    const now = Date.now();
    if (now > giveUpAt)
      throw new Error(`process ${pid} (${mustContain}) is still running after SIGKILL; stop it by hand`);
    if (!killed && now > killAt) {
      signal(pid, 'SIGKILL');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** The first line of a pid file as a pid, or undefined. */
export function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]!.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
