/**
 * Servers this process started stop when it dies, however it dies (an uncaught error, a failed
 * test run, SIGKILL): a small watcher process (reaper.mjs), in a process group of its own, holds a
 * pipe from this one and signals every server still registered once the pipe closes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

let reaper: ChildProcess | undefined;

function reaperProcess(): ChildProcess {
  if (reaper && reaper.exitCode === null) return reaper;
  reaper = spawn(process.execPath, [fileURLToPath(new URL('./reaper.mjs', import.meta.url))], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Neither the watcher nor its pipe keeps this process alive.
  reaper.unref();
  (reaper.stdin as unknown as { unref?: () => void }).unref?.();
  reaper.stdin!.on('error', () => undefined);
  return reaper;
}

/**
 * Has `pid` signalled with `signal` if this process exits before `forgetOnExit` is called, as long
 * as its command line still holds `mustContain` (a reused pid is left alone).
 */
export function stopWithThisProcess(pid: number, signal: NodeJS.Signals, mustContain: string): void {
  reaperProcess().stdin!.write(`watch ${pid} ${signal} ${mustContain.replaceAll('\n', ' ')}\n`);
}

/** The process has exited or been stopped: nothing to do for it any more. */
export function forgetOnExit(pid: number): void {
  if (reaper && reaper.exitCode === null) reaper.stdin!.write(`forget ${pid}\n`);
}
