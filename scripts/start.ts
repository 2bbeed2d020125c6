/**
 * `npm start`: the whole stack with embedded defaults. Starts (or connects to) Temporal and
 * Postgres, then the lifecycle, provisioning and data workers and the API as child processes,
 * prints where everything is, and stops it all on Ctrl-C. Data lives under LANDLORD_DATA_DIR (.data/) across restarts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../config/index.js';
import { resolveSecret } from '../config/secret.js';
import { tenantKekFromSecret } from '../activities/keys/local-kek.js';
import { connectRegistry } from '../registry/index.js';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { startInfrastructure } from './servers/infrastructure.js';
import type { Infrastructure } from './servers/infrastructure.js';
import { childEnvironment } from './servers/child-environment.js';
import type { LandlordProcess } from './servers/child-environment.js';
import { commandLineOf, pidFrom } from './servers/leftovers.js';
import { StackSetupError } from './servers/postgres.js';
import { describeExit, managedProcess } from './servers/server-process.js';
import type { ServerProcess } from './servers/server-process.js';
import { Supervisor } from './servers/supervisor.js';

const redact = (url: string) => {
  const u = new URL(url);
  u.password = '';
  u.username = u.username ? u.username : '';
  return u.toString().replace(/:@/, '@');
};

/**
 * A Landlord process (a worker or the API) in a process group of its own: a terminal's Ctrl-C
 * reaches this script only, which stops everything in order. Its output is prefixed with `label`.
 * It also stops itself when this process is gone (LANDLORD_PARENT_PID). A worker drains its
 * running activities on SIGTERM; SIGKILL after 15 s.
 */
function landlordProcess(name: string, label: string, entry: string, env: Record<string, string>) {
  const script = fileURLToPath(new URL(entry, import.meta.url));
  return managedProcess(
    name,
    async () => ({
      command: process.execPath,
      args: ['--import', 'tsx', script],
      options: { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
      reap: { signal: 'SIGTERM', mustContain: script },
      unref: false,
      started: (child) => {
        for (const stream of [child.stdout!, child.stderr!])
          createInterface({ input: stream }).on('line', (line) => console.log(`[${label}] ${line}`));
      },
      ready: async () => undefined,
    }),
    { stopSignal: 'SIGTERM', graceMs: 15_000 },
  );
}

async function waitForHttp(url: string, api: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (api.pid === undefined)
      throw new Error(`${url} did not come up: ${api.name} exited (${describeExit(await api.exited())})`);
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

const children: ServerProcess[] = [];
let infraStarting: Promise<Infrastructure> | undefined;
let stopping = false;
let stoppingSince = 0;
let dataDir = '';
const supervisor = new Supervisor({
  log: (line) => console.error(`[supervisor] ${line}`),
  onGiveUp: () => void stop(1),
});

/** Stops the workers and the API, then Temporal, then Postgres, and exits with `code`. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  stoppingSince = Date.now();
  supervisor.stop();
  console.log('\nStopping Landlord…');
  await Promise.all(children.map((c) => c.stop()));
  // Still starting: let the servers come up, then stop them, rather than leave them behind.
  const infra = await infraStarting?.catch(() => undefined);
  await infra?.stop();
  console.log('Stopped. Data is kept in', dataDir);
  process.exit(code);
}

/** A second Ctrl-C while stopping: kill what is left; the next start stops any server left behind. */
function stopNow(): void {
  console.log('\nStopping at once; the next npm start stops any server left behind.');
  for (const c of children) void c.kill();
  process.exit(130);
}

async function main(): Promise<void> {
  const config = loadConfig();
  dataDir = config.dataDir;
  claimDataFolder(config.dataDir);
  // A closed terminal must not turn the stop into a crash.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // Installed before anything starts, so a Ctrl-C during start-up stops what has started so far.
  // Every process this script starts runs in a process group of its own: a terminal's Ctrl-C
  // reaches this script alone, which stops the workers first, while Temporal and Postgres are
  // still up for them to drain against, and the servers last.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (!stopping) return void stop(0);
      // tsx and npm relay the terminal's signal, which this process may also get itself: only a
      // later one is a second Ctrl-C.
      if (Date.now() - stoppingSince > 1_000) stopNow();
    });
  }
  const secret = resolveSecret(config);
  console.log('Starting Landlord…');
  infraStarting = startInfrastructure(config, secret);
  const infra = await infraStarting;
  if (stopping) return;
  for (const server of infra.servers) supervisor.watch(server);

  const store = connectRegistry(infra.registryUrl, 1);
  const firstKey = await bootstrapAdminKey(store, config.adminKey).finally(() => store.close());

  const extra = {
    PORT: String(config.api.port),
    LANDLORD_HOST: config.api.host,
    LANDLORD_PARENT_PID: String(process.pid),
  };
  // Each process sees only the secrets its job uses.
  const provided = { ...infra.env, LANDLORD_TENANT_KEK: tenantKekFromSecret(secret) };
  const envOf = (kind: LandlordProcess) => childEnvironment(kind, process.env, provided, extra);
  const processes = [
    landlordProcess('the lifecycle worker', 'worker', '../workers/lifecycle.ts', envOf('lifecycle')),
    landlordProcess(
      'the provisioning worker',
      'provisioning',
      '../workers/provisioning.ts',
      envOf('provisioning'),
    ),
    landlordProcess('the data worker', 'data', '../workers/data.ts', envOf('data')),
    landlordProcess('the API', 'api', '../api/main.ts', envOf('api')),
  ];
  for (const p of processes) {
    await p.start();
    children.push(p);
    supervisor.watch(p);
  }
  const api = processes[3]!;
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
    err instanceof ConfigError || err instanceof StackSetupError
      ? `npm start: ${err.message}`
      : `npm start failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  // Stop whatever did start (workers, servers) before exiting.
  if (infraStarting) void stop(1);
  else process.exit(1);
});
