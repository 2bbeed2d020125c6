/**
 * Starts and steers the concurrent writer process (bench/insert-writer-main.ts): it runs apart from
 * the benchmark's process so that the API, the lifecycle worker and the baseline's own work in this
 * process do not delay its inserts; it shares the machine's CPUs with everything, as an application
 * next to its database would.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../config/index.js';
import type { PhaseSamples, WriterCommand, WriterConfig, WriterMessage } from './insert-writer-main.js';

const ENTRY = fileURLToPath(new URL('./insert-writer-main.ts', import.meta.url));

export class InsertWriter {
  private constructor(private readonly child: ChildProcess) {}

  static async start(config: WriterConfig): Promise<InsertWriter> {
    const child = fork(ENTRY, [], {
      cwd: PROJECT_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_WRITER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: WriterMessage) =>
        m.type === 'ready' ? resolve() : reject(new Error(`the writer did not start: ${JSON.stringify(m)}`)),
      );
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was ready`)));
    });
    return new InsertWriter(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private send(command: WriterCommand): void {
    this.child.send(command);
  }

  /** Inserts from now on count towards `phase`; null pauses the writer. */
  phase(phase: string | null): void {
    this.send({ type: 'phase', phase });
  }

  /** Every phase's samples so far. */
  async report(): Promise<Record<string, PhaseSamples>> {
    const answer = new Promise<Record<string, PhaseSamples>>((resolve) => {
      const on = (m: WriterMessage) => {
        if (m.type !== 'report') return;
        this.child.off('message', on);
        resolve(m.phases);
      };
      this.child.on('message', on);
    });
    this.send({ type: 'report' });
    return answer;
  }

  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    this.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
