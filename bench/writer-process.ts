/**
 * A benchmark's writer process, forked with tsx and steered over IPC: it writes apart from the
 * benchmark's process, so that the API and workers there do not delay its inserts, nor they them.
 * The process answers `ready` once it writes, `report` to a report, and ends on `stop`.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../config/index.js';

export class WriterProcess<Command extends { type: string }, Message extends { type: string }> {
  private constructor(private readonly child: ChildProcess) {}

  /** Forks `entry` with `config` as JSON in the environment variable `configVar`; resolves once it is ready. */
  static async start<C extends { type: string }, M extends { type: string }>(
    entry: string,
    configVar: string,
    config: unknown,
  ): Promise<WriterProcess<C, M>> {
    const child = fork(entry, [], {
      cwd: PROJECT_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, [configVar]: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: M) =>
        m.type === 'ready' ? resolve() : reject(new Error(`the writer did not start: ${JSON.stringify(m)}`)),
      );
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was ready`)));
    });
    return new WriterProcess<C, M>(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(command: Command): void {
    this.child.send(command);
  }

  /** Asks for a report and resolves with the process's answer. */
  async report(): Promise<Extract<Message, { type: 'report' }>> {
    const answer = new Promise<Extract<Message, { type: 'report' }>>((resolve) => {
      const on = (m: Message) => {
        if (m.type !== 'report') return;
        this.child.off('message', on);
        resolve(m as Extract<Message, { type: 'report' }>);
      };
      this.child.on('message', on);
    });
    this.send({ type: 'report' } as Command);
    return answer;
  }

  /** Asks the process to stop, killing it after 10 s; resolves once it has exited. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    this.send({ type: 'stop' } as Command);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
