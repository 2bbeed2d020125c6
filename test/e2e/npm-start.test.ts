import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeRegExp } from 'es-toolkit';
import { afterAll, describe, expect, it } from 'vitest';
import { commandLineOf, pidFrom, stopLeftover } from '../../scripts/servers/leftovers.js';
import { freePort, freePortRange } from '../../scripts/servers/ports.js';
import { loadConfig } from '../../config/index.js';
import { freshClone } from '../support/fresh-clone.js';
import type { FreshClone } from '../support/fresh-clone.js';

const START = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));
/** The tsx CLI, which `npm start` runs the script with (it relays signals to the script's process). */
const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const ADMIN_KEY = 'e2e-admin-key-'.padEnd(40, 'z');

/** `npm start`'s script as a user runs it: its own process, its own data folder, Ctrl-C to stop. */
function start(
  env: Record<string, string>,
  { root }: { root?: string } = {},
): {
  child: ChildProcess;
  output: () => string;
  running: Promise<void>;
} {
  const child = spawn(
    process.execPath,
    root ? [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'scripts/start.ts')] : [TSX_CLI, START],
    {
      env: { ...process.env, ...env },
      ...(root ? { cwd: root } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own, as a terminal gives the command it runs.
      detached: true,
    },
  );
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
  const clones: FreshClone[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'landlord-e2e-'));
    chmodSync(dir, 0o755);
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    // A failed test may leave servers running on these folders: stop them before deleting them.
    for (const dir of [...dirs, ...clones.map((c) => join(c.root, '.data'))]) {
      const temporal = pidFrom(join(dir, 'temporal', 'temporal.db.pid'));
      if (temporal) await stopLeftover(temporal, dir);
      for (const name of ['registry', 'local-a', 'local-b']) {
        const postgres = pidFrom(join(dir, 'postgres', name, 'postmaster.pid'));
        if (postgres) await stopLeftover(postgres, 'postgres', { signal: 'SIGINT' });
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    for (const clone of clones) clone.remove();
  });

  /** Resolves once `check` holds, checking every 200 ms; fails after `timeoutMs`. */
  const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const client = (port: number) => {
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/json',
          ...init.headers,
        },
      });
    const onboard = async (name: string, region: string) => {
      const created = await api('/v1/tenants', {
        method: 'POST',
        body: JSON.stringify({ name, tier: 'basic', region, adminEmail: 'a@e2e.test' }),
      });
      expect(created.status).toBe(202);
      const operationId = ((await created.json()) as { id: string }).id;
      let status = 'running';
      for (let i = 0; i < 600 && status === 'running'; i++) {
        status = ((await (await api(`/v1/operations/${operationId}?wait=10s`)).json()) as { status: string })
          .status;
        if (status === 'running') await new Promise((r) => setTimeout(r, 100));
      }
      return status;
    };
    return { api, onboard };
  };

  /** The processes the script (under tsx) started, by what they run. */
  const processesOf = (starter: ChildProcess) => {
    const script = childrenOf(starter.pid!)[0]!;
    const byKind: Record<string, number> = {};
    for (const pid of childrenOf(script)) {
      const cmd = commandLineOf(pid) ?? '';
      const entry = /(workers\/\w+|api\/main)\.ts/.exec(cmd)?.[1];
      if (entry) byKind[entry] = pid;
      else if (cmd.includes('start-dev')) byKind.temporal = pid;
      else if (cmd.includes('reaper.mjs')) byKind.reaper = pid;
      else {
        const postgres = /postgres -D \S*\/(registry|local-[ab])\b/.exec(cmd)?.[1];
        if (postgres) byKind[`postgres/${postgres}`] = pid;
      }
    }
    return { script, byKind };
  };

  it('runs from a fresh clone in a private mktemp folder, keeps every process it started running, and stops on Ctrl-C', async () => {
    const clone = freshClone();
    clones.push(clone);
    // As root the Postgres servers run as the user postgres, which cannot enter the 0700 folder:
    // their binaries and data go to per-clone folders in the embedded home.
    const home = dataDir();
    const tools = loadConfig();
    // The data folder is the default one, .data inside the clone.
    const { env: stack, port, ports } = await stackEnv(join(clone.root, '.data'));
    const env = {
      ...stack,
      LANDLORD_POSTGRES_HOME: home,
      LANDLORD_TEMPORAL_CLI: tools.temporal.cliPath!,
      LANDLORD_PULUMI_CLI: tools.pulumi.cliPath!,
    };
    const { api, onboard } = client(port);

    const first = start(env, { root: clone.root });
    await first.running;
    expect(first.output()).toMatch(/Temporal UI {4}http:\/\/127\.0\.0\.1:\d+/);
    expect(first.output()).toContain('Authorization: Bearer $LANDLORD_ADMIN_KEY');
    // The workers start without a warning.
    expect(first.output()).not.toMatch(/\[(worker|provisioning|data)\] .*\[WARN\]/);
    expect(await onboard('E2E Corp', 'local-b')).toBe('succeeded');
    // The lifecycle worker made the retention Schedule when it started, and a run goes through
    // every process: the API, the run's workflow, the tenant's workflow and the data worker.
    const schedule = await api('/v1/retention/schedule');
    expect(schedule.status).toBe(200);
    expect(await schedule.json()).toMatchObject({ id: 'landlord-retention', paused: false });
    const started = await api('/v1/retention/runs', {
      method: 'POST',
      body: JSON.stringify({ dryRun: true, tenants: ['e2e-corp'] }),
    });
    expect(started.status).toBe(202);
    const runUrl = started.headers.get('location')!;
    let run = { status: 'running', parts: [] as { tenantId: string; status: string }[] };
    await until('the retention run to end', async () => {
      run = (await (await api(runUrl)).json()) as typeof run;
      return run.status !== 'running';
    });
    expect(run).toMatchObject({
      status: 'succeeded',
      parts: [{ tenantId: 'e2e-corp', status: 'succeeded' }],
    });
    if (process.getuid?.() === 0) {
      expect(readdirSync(home).some((f) => f.startsWith('postgres-'))).toBe(true);
      expect(readdirSync(home).some((f) => f.startsWith('data-'))).toBe(true);
    }

    // Each process got only the secrets its job uses: the API not the master secret, the
    // region servers' superuser URLs or the admin key; no worker the admin key.
    const environOf = (pid: number) =>
      Object.fromEntries(
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
    const { byKind } = processesOf(first.child);
    expect(Object.keys(byKind).sort()).toEqual([
      'api/main',
      'postgres/local-a',
      'postgres/local-b',
      'postgres/registry',
      'reaper',
      'temporal',
      'workers/data',
      'workers/lifecycle',
      'workers/provisioning',
    ]);
    const apiEnv = environOf(byKind['api/main']!);
    expect(Object.keys(apiEnv)).toContain('LANDLORD_REGISTRY_URL');
    expect(Object.keys(apiEnv).filter((k) => /SECRET|ADMIN_KEY|REGION_.*_URL/.test(k))).toEqual([]);
    for (const worker of ['workers/lifecycle', 'workers/provisioning', 'workers/data']) {
      const workerEnv = environOf(byKind[worker]!);
      expect(workerEnv.LANDLORD_SECRET, worker).toBeDefined();
      expect(workerEnv.LANDLORD_ADMIN_KEY, worker).toBeUndefined();
    }

    // Each kind of process dies once, as a crash would: the supervisor logs it with its exit and
    // starts it again, and the stack goes on serving.
    for (const [kind, name] of [
      ['workers/lifecycle', 'the lifecycle worker'],
      ['api/main', 'the API'],
      ['temporal', 'the Temporal dev server'],
      ['postgres/registry', 'the registry Postgres server'],
      ['postgres/local-a', 'the local-a Postgres server'],
    ] as const) {
      process.kill(byKind[kind]!, 'SIGKILL');
      await until(`${name} to run again`, () => first.output().includes(`${name} is running again`));
      expect(first.output()).toContain(`${name} exited (signal SIGKILL); starting it again in 1 s`);
    }
    await until(
      'the API to be ready',
      async () => (await api('/readyz').catch(() => undefined))?.ok === true,
    );
    expect(await onboard('After Crash Corp', 'local-a')).toBe('succeeded');
    expect(processesOf(first.child).byKind['workers/lifecycle']).not.toBe(byKind['workers/lifecycle']);

    expect(await stop(first.child, 'ctrl-c')).toBe(0);
    // It waited for its workers and stopped its servers, in order, before exiting.
    expect(first.output()).toContain('Stopped. Data is kept in');
    // Everything it started is gone: the API, Temporal and the three Postgres servers.
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));

    const second = start(env, { root: clone.root });
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
  }, 420_000);

  it('refuses a second start on the same data folder, stops its servers when killed, and clears what a crash left behind', async () => {
    const { env, port, temporalPort, ports } = await stackEnv(dataDir());
    const first = start(env);
    await first.running;
    const second = start(env);
    await expect(second.running).rejects.toThrow(/Landlord is already running with the data folder/);
    expect(second.child.exitCode).toBe(1);

    // Killed outright: the script cannot stop anything. Its workers and API notice their parent is
    // gone and stop themselves; the reaper it started stops Temporal and Postgres.
    const { script, byKind } = processesOf(first.child);
    const started = Object.values(byKind);
    process.kill(script, 'SIGKILL');
    await until('every process to be gone', () => started.every((pid) => !commandLineOf(pid)));
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));

    // The script and its reaper killed at once, as a machine's OOM killer might: the servers stay
    // behind, holding their ports and files, and the next start stops them first.
    const third = start(env);
    await third.running;
    const killed = processesOf(third.child);
    process.kill(killed.byKind.reaper!, 'SIGKILL');
    process.kill(killed.script, 'SIGKILL');
    await until('the workers to stop', () =>
      ['api/main', 'workers/lifecycle'].every((k) => !commandLineOf(killed.byKind[k]!)),
    );
    expect(await listening(port)).toBe(false);
    expect(await listening(temporalPort)).toBe(true);

    const fourth = start(env);
    await fourth.running;
    try {
      expect(fourth.output()).toContain('Stopped a Temporal server an earlier run left behind');
      expect(fourth.output()).toContain('Postgres server an earlier run left behind');
      const res = await fetch(`http://127.0.0.1:${port}/v1/tenants`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(res.status).toBe(200);
    } finally {
      expect(await stop(fourth.child, 'sigterm')).toBe(0);
    }
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));
  }, 300_000);

  it.runIf(process.getuid?.() === 0)(
    'says in one line why the Postgres servers cannot run where it was put, and leaves nothing running',
    async () => {
      // Data and the embedded home both behind a private folder the user postgres cannot enter.
      const hidden = mkdtempSync(join(tmpdir(), 'landlord-private-'));
      dirs.push(hidden);
      const { env, temporalPort, ports } = await stackEnv(join(hidden, 'data'));
      const run = start({ ...env, LANDLORD_POSTGRES_HOME: join(hidden, 'home') });
      await expect(run.running).rejects.toThrow(/exited \(1\)/);
      const lines = run
        .output()
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('Starting Landlord') && !/^Stopp/.test(l));
      // The binaries' folder or the data's, whichever it tried first (a clone in a private folder
      // needs both moved).
      const home = escapeRegExp(join(hidden, 'home'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^npm start: the system user postgres, which runs the embedded Postgres servers, cannot enter ${home}/(postgres|data)-\\S+: make every folder above it enterable \\(chmod o\\+x\\), or set LANDLORD_POSTGRES_HOME to one it can enter$`,
        ),
      );
      // Temporal, started first, was stopped again.
      expect(await listening(temporalPort)).toBe(false);
      expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));
    },
    120_000,
  );

  it('stops every server a starter started when the starter is killed outright, as a crashed test run is', async () => {
    const { env, ports } = await stackEnv(dataDir());
    const crash = spawn(
      process.execPath,
      [TSX_CLI, fileURLToPath(new URL('../support/crash-after-start.ts', import.meta.url))],
      {
        env: { ...process.env, ...env, LANDLORD_SECRET: 'crash-secret-'.padEnd(40, 'c') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    crash.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    crash.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      crash.once('exit', (_code, signal) => r(signal)),
    );
    // tsx relays the script's death: it ends the same way.
    await exited;
    expect(output).toContain('READY');
    // Temporal and the three Postgres servers were up; the reaper stops them.
    const [, temporalPort, ...postgresPorts] = ports;
    await until('the servers to stop', async () =>
      (await Promise.all([temporalPort!, ...postgresPorts].map(listening))).every((up) => !up),
    );
  }, 120_000);
});
