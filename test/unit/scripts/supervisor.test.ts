import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../../scripts/servers/supervisor.js';
import type { ProcessExit, ServerProcess } from '../../../scripts/servers/server-process.js';

/** A process that dies when told to, and whose restarts can be made to fail. */
class FakeProcess implements ServerProcess {
  pid: number | undefined = 100;
  starts = 0;
  stops = 0;
  failRestarts = false;
  private death?: (exit: ProcessExit) => void;
  private lastExit: ProcessExit = { code: null, signal: null };

  constructor(readonly name: string) {}

  exited(): Promise<ProcessExit> {
    if (this.pid === undefined) return Promise.resolve(this.lastExit);
    return new Promise((resolve) => (this.death = resolve));
  }
  die(exit: ProcessExit): void {
    this.pid = undefined;
    this.lastExit = exit;
    this.death?.(exit);
  }
  async restart(): Promise<void> {
    this.starts++;
    if (this.failRestarts) throw new Error('port in use');
    this.pid = 100 + this.starts;
  }
  async stop(): Promise<void> {
    this.stops++;
    this.die({ code: 0, signal: null });
  }
  async kill(): Promise<void> {
    this.die({ code: null, signal: 'SIGKILL' });
  }
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(check()).toBe(true);
};

describe('Supervisor', () => {
  const setup = (overrides: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}) => {
    const lines: string[] = [];
    const gaveUp: string[] = [];
    const supervisor = new Supervisor({
      log: (l) => lines.push(l),
      onGiveUp: (p, exit) => gaveUp.push(`${p.name} ${exit.code}`),
      firstDelayMs: 1,
      maxDelayMs: 4,
      ...overrides,
    });
    return { supervisor, lines, gaveUp };
  };

  it('starts a process that died again, and logs the death with its exit code', async () => {
    const { supervisor, lines } = setup();
    const worker = new FakeProcess('the lifecycle worker');
    supervisor.watch(worker);
    worker.die({ code: 3, signal: null });
    await until(() => worker.pid !== undefined);
    expect(worker.starts).toBe(1);
    expect(supervisor.restartsOf('the lifecycle worker')).toBe(1);
    expect(lines).toEqual([
      'the lifecycle worker exited (exit code 3); starting it again in 0.001 s',
      'the lifecycle worker is running again (pid 101)',
    ]);
    worker.die({ code: null, signal: 'SIGKILL' });
    await until(() => worker.pid !== undefined);
    expect(lines[2]).toBe('the lifecycle worker exited (signal SIGKILL); starting it again in 0.002 s');
    supervisor.stop();
  });

  it('backs off after each quick death and gives up after the fifth in a row', async () => {
    const { supervisor, lines, gaveUp } = setup();
    const server = new FakeProcess('the Temporal dev server');
    server.failRestarts = true;
    supervisor.watch(server);
    server.die({ code: 1, signal: null });
    await until(() => gaveUp.length === 1);
    expect(gaveUp).toEqual(['the Temporal dev server 1']);
    // Four restarts tried (delays 1, 2, 4, 4 ms: doubled, capped), each failing; the fifth death gives up.
    expect(server.starts).toBe(4);
    expect(
      lines.filter((l) => l.includes('starting it again in')).map((l) => /in ([\d.]+) s/.exec(l)![1]),
    ).toEqual(['0.001', '0.002', '0.004', '0.004']);
    expect(lines.filter((l) => l.includes('did not start again: port in use'))).toHaveLength(4);
    expect(lines.at(-1)).toBe(
      'the Temporal dev server exited (exit code 1) 5 times in a row within 30 s of starting; giving up',
    );
  });

  it('counts a death long after the last start as the first of a new series', async () => {
    const { supervisor, gaveUp } = setup({ quickMs: 5, maxQuickDeaths: 2 });
    const worker = new FakeProcess('the data worker');
    supervisor.watch(worker);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
      worker.die({ code: 1, signal: null });
      await until(() => worker.pid !== undefined);
    }
    expect(worker.starts).toBe(4);
    expect(gaveUp).toEqual([]);
    supervisor.stop();
  });

  it('starts nothing once stopped, not even a restart already waiting', async () => {
    const { supervisor } = setup({ firstDelayMs: 50, maxDelayMs: 50 });
    const api = new FakeProcess('the API');
    supervisor.watch(api);
    api.die({ code: 1, signal: null });
    await new Promise((r) => setTimeout(r, 5));
    supervisor.stop();
    await new Promise((r) => setTimeout(r, 80));
    expect(api.starts).toBe(0);
    expect(api.pid).toBeUndefined();
  });
});
