/**
 * Starts and asks the failover benchmark's writer process (bench/failover-writer-main.ts): it
 * writes apart from the benchmark's process, so that the API, the lifecycle worker and the bare
 * promotions there do not delay its inserts, nor its inserts them.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../config/index.js';
import type {
  FailoverWriterCommand,
  FailoverWriterConfig,
  FailoverWriterMessage,
  TenantWrites,
} from './failover-writer-main.js';

const ENTRY = fileURLToPath(new URL('./failover-writer-main.ts', import.meta.url));

/** The `action` of every row the writer writes. */
export const FAILOVER_WRITER_ACTION = 'bench-failover-write';

export class FailoverWriter {
  private constructor(private readonly child: ChildProcess) {}

  /** Resolves once every tenant's connection is open and its inserts have begun. */
  static async start(config: Omit<FailoverWriterConfig, 'action'>): Promise<FailoverWriter> {
    const child = fork(ENTRY, [], {
      cwd: PROJECT_ROOT,
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        BENCH_FAILOVER_WRITER_CONFIG: JSON.stringify({ ...config, action: FAILOVER_WRITER_ACTION }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: FailoverWriterMessage) =>
        m.type === 'ready' ? resolve() : reject(new Error(`the writer did not start: ${JSON.stringify(m)}`)),
      );
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was ready`)));
    });
    return new FailoverWriter(child);
  }

  private send(command: FailoverWriterCommand): void {
    this.child.send(command);
  }

  /** Every tenant's writes so far. */
  async report(): Promise<TenantWrites[]> {
    const answer = new Promise<TenantWrites[]>((resolve) => {
      const on = (m: FailoverWriterMessage) => {
        if (m.type !== 'report') return;
        this.child.off('message', on);
        resolve(m.tenants);
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
