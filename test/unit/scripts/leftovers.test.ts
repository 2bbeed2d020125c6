import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandLineOf, pidFrom, stopLeftover } from '../../../scripts/servers/leftovers.js';

const started: ChildProcess[] = [];

/** A real process whose command line carries `marker`; `ignoreTerm` makes it shrug off SIGTERM. */
async function sleeper(marker: string, ignoreTerm = false): Promise<ChildProcess> {
  const script = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} console.log('up'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, '--', marker], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  started.push(child);
  await new Promise((resolve, reject) => {
    child.stdout!.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the test process exited (${code})`)));
  });
  return child;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
/** How the child ended, once Node has reaped it (stopLeftover may return while it is a zombie). */
const endOf = (child: ChildProcess): Promise<NodeJS.Signals | null> =>
  exited(child)
    ? Promise.resolve(child.signalCode)
    : new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

afterEach(() => {
  for (const child of started.splice(0)) if (!exited(child)) child.kill('SIGKILL');
});

describe('leftover servers', () => {
  it('reads a live process command line, and nothing for a pid that is gone', async () => {
    const child = await sleeper('--leftover-marker-a');
    expect(commandLineOf(child.pid!)).toContain('--leftover-marker-a');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(commandLineOf(child.pid!)).toBeUndefined();
    expect(commandLineOf(0)).toBeUndefined();
  });

  it('stops a process only when its command line names what it was started for', async () => {
    const child = await sleeper('--leftover-marker-b');
    expect(await stopLeftover(child.pid!, '--some-other-folder')).toBe(false);
    expect(exited(child)).toBe(false);
    expect(await stopLeftover(child.pid!, '--leftover-marker-b')).toBe(true);
    expect(await endOf(child)).toBe('SIGTERM');
  });

  it('kills a process that ignores the polite signal once the grace period is over', async () => {
    const child = await sleeper('--leftover-marker-c', true);
    expect(await stopLeftover(child.pid!, '--leftover-marker-c', { graceMs: 300 })).toBe(true);
    expect(await endOf(child)).toBe('SIGKILL');
  });

  it('reads the pid from the first line of a pid file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'landlord-pid-'));
    try {
      const file = join(dir, 'postmaster.pid');
      expect(pidFrom(file)).toBeUndefined();
      writeFileSync(file, '4242\n/var/lib/data\n1795000000\n');
      expect(pidFrom(file)).toBe(4242);
      writeFileSync(file, 'not a pid\n');
      expect(pidFrom(file)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
