/**
 * What every worker process does around its worker: read the config, open the registry (migrating
 * it), connect to Temporal, run until SIGINT/SIGTERM (the SDK's default shutdown signals), close.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config/index.js';
import type { RegistryStore } from '../activities/registry/store.js';
import type { EndedSession } from '../activities/pool/lock-watchdog.js';

/** The line a worker prints when its lock watchdog ends a tenant's session. */
export function logEndedSession(region: string, s: EndedSession): void {
  console.warn(
    `${region}: ended session ${s.pid} of ${s.role}: it kept ${s.blockedRole} (${s.blockedApplication || 'no application name'}) waiting on a lock`,
  );
}

/** Temporal's runtime logs at WARN and above; once per process, before the first worker. */
export function installQuietRuntime(): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN'),
      // The SDK's default shutdown signals, and SIGHUP: a closed terminal stops a worker as Ctrl-C does.
      shutdownSignals: ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGHUP'],
    });
  } catch {
    // Already installed in this process.
  }
}

export interface WorkerProcessContext {
  config: Config;
  store: RegistryStore;
  connection: NativeConnection;
}

/**
 * Runs `build`'s worker as this process's work; `build` may return what else to close at the end.
 * Prints `<name> worker polling <queue>` once polling, which `npm start` and the tests wait for.
 */
export async function runWorkerProcess(
  name: string,
  build: (
    context: WorkerProcessContext,
  ) => Promise<{ worker: Worker; taskQueue: string; close?: () => Promise<unknown> }>,
  { registryPoolSize = 10 }: { registryPoolSize?: number } = {},
): Promise<void> {
  const { loadConfig } = await import('../config/index.js');
  const { connectWorker } = await import('../client/temporal.js');
  const { RegistryStore } = await import('../activities/registry/store.js');
  const { stopWithParent } = await import('../config/lifetime.js');
  const config = loadConfig();
  stopWithParent(config);
  if (!config.postgres.registryUrl)
    throw new Error('LANDLORD_REGISTRY_URL is not set (npm start sets it for the embedded stack)');
  installQuietRuntime();
  const store = RegistryStore.connect(config.postgres.registryUrl, registryPoolSize);
  await store.migrate();
  const connection = await connectWorker(config.temporal);
  const { worker, taskQueue, close } = await build({ config, store, connection });
  console.log(`${name} worker polling ${taskQueue}`);
  try {
    await worker.run();
  } finally {
    await Promise.allSettled([store.close(), connection.close(), close?.()]);
  }
}

/** Runs `main` when `moduleUrl` is the process's entry point; a failure is printed and exits 1. */
export function runAsMain(moduleUrl: string, name: string, main: () => Promise<void>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  main().catch((err: unknown) => {
    console.error(`${name} worker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
