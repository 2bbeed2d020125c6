/**
 * The provisioning worker as its own process, started the way `npm start` starts it
 * (`node --import tsx workers/provisioning.ts`), so that its memory and its stack runners' can be
 * measured apart from the benchmark's.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../config/index.js';

const ENTRY = fileURLToPath(new URL('../workers/provisioning.ts', import.meta.url));

export class ProvisioningWorkerProcess {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts the worker with `env` on top of this process's environment; resolves once it polls. */
  static async start(env: Record<string, string>): Promise<ProvisioningWorkerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
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
          if (chunk.toString().includes('provisioning worker polling')) resolve();
        });
        child.once('exit', (code) =>
          reject(new Error(`the provisioning worker exited (${code}) before polling: ${stderr.trim()}`)),
        );
      });
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    // Keep draining its output so that it never blocks on a full pipe.
    child.stdout!.resume();
    return new ProvisioningWorkerProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGTERM (the worker drains and exits), SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
