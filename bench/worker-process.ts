/**
 * A Landlord worker as its own process, started the way `npm start` starts it
 * (`node --import tsx workers/<kind>.ts`), so that its memory and CPU, and its stack runners', can
 * be measured apart from the benchmark's.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../config/index.js';

export type WorkerKind = 'provisioning' | 'data';

export class WorkerProcess {
  private stopping = false;
  /** Rejects when the process exits without being asked to, with the end of its stderr. */
  readonly died: Promise<never>;

  private constructor(
    private readonly child: ChildProcess,
    kind: WorkerKind,
    stderrTail: () => string,
  ) {
    this.died = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => {
        if (!this.stopping)
          reject(new Error(`the ${kind} worker exited (${code ?? signal}): ${stderrTail().trim()}`));
      }),
    );
    // Only raced against the work: unobserved otherwise.
    this.died.catch(() => undefined);
  }

  /**
   * Starts `workers/<kind>.ts` with `env` on top of this process's environment; resolves once it
   * polls. `nodeArgs` go after tsx's loader, before the entry (`--cpu-prof`, `--import <a .ts file>`).
   */
  static async start(
    kind: WorkerKind,
    env: Record<string, string>,
    { nodeArgs = [] }: { nodeArgs?: string[] } = {},
  ): Promise<WorkerProcess> {
    const entry = fileURLToPath(new URL(`../workers/${kind}.ts`, import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, entry], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes(`${kind} worker polling`)) resolve();
        });
        child.once('exit', (code) =>
          reject(new Error(`the ${kind} worker exited (${code}) before polling: ${stderr.trim()}`)),
        );
      });
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    // Keep draining its output so that it never blocks on a full pipe.
    child.stdout!.resume();
    return new WorkerProcess(child, kind, () => stderr);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGTERM (the worker drains and exits), SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const { child } = this;
    this.stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
