/**
 * What every worker process does around its worker: read the config, open the registry (migrating
 * it), connect to Temporal, run until SIGINT/SIGTERM (the SDK's default shutdown signals), close.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Logger, LogLevel, LogMetadata, NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config/index.js';
import type { Registry } from '../registry/index.js';
import type { EndedSession } from '../activities/pool/lock-watchdog.js';

const watchdogErrorsShown = new Map<string, number>();

/** The line a worker prints when its lock watchdog cannot look (at most once a minute per region). */
export function logWatchdogError(region: string, err: Error): void {
  const last = watchdogErrorsShown.get(region) ?? 0;
  if (Date.now() - last < 60_000) return;
  watchdogErrorsShown.set(region, Date.now());
  console.warn(`${region}: the lock watchdog could not look at the pool database: ${err.message}`);
}

/** The line a worker prints when its lock watchdog ends a tenant's session. */
export function logEndedSession(region: string, s: EndedSession): void {
  const what = s.gid ? `prepared transaction ${JSON.stringify(s.gid)}` : `session ${s.pid}`;
  const why =
    s.reason === 'strong-lock'
      ? 'it held or asked for a table lock stronger than writes take'
      : 'it kept Landlord waiting on a lock';
  console.warn(`${region}: ended ${what} of ${s.role}: ${why}`);
}

/**
 * What the SDK says, at WARN, to a worker that registers no workflows. The provisioning and data
 * workers run activities only by design; that is not worth a warning on every start.
 */
export const ACTIVITY_ONLY_NOTICE = 'No workflows registered, not polling for workflow tasks';

/** The SDK's own logger at WARN and above, less the notice above. */
export class WorkerLogger implements Logger {
  constructor(private readonly inner: Logger = new DefaultLogger('WARN')) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (message !== ACTIVITY_ONLY_NOTICE) this.inner.log(level, message, meta);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** Temporal's runtime logs at WARN and above; once per process, before the first worker. */
export function installQuietRuntime(): void {
  try {
    Runtime.install({
      logger: new WorkerLogger(),
      // The SDK's default shutdown signals, and SIGHUP: a closed terminal stops a worker as Ctrl-C does.
      shutdownSignals: ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGHUP'],
    });
  } catch {
    // Already installed in this process.
  }
}

export interface WorkerProcessContext {
  config: Config;
  store: Registry;
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
  const { connectRegistry } = await import('../registry/index.js');
  const { stopWithParent } = await import('../config/lifetime.js');
  const config = loadConfig();
  stopWithParent(config);
  if (!config.postgres.registryUrl)
    throw new Error('LANDLORD_REGISTRY_URL is not set (npm start sets it for the embedded stack)');
  installQuietRuntime();
  const store = connectRegistry(config.postgres.registryUrl, registryPoolSize);
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
