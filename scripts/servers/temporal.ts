/**
 * The Temporal dev server (`temporal server start-dev`) with its state in a SQLite file, so that a
 * restart finds every workflow where it was.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { pidFrom, stopLeftover } from './leftovers.js';
import { managedProcess } from './server-process.js';
import type { ServerProcess } from './server-process.js';

export interface DevServer extends ServerProcess {
  address: string;
  uiUrl: string;
}

export interface DevServerOptions {
  cliPath: string;
  dbFile: string;
  port: number;
  uiPort: number;
  namespace?: string;
  /** Where the server's own log goes; default: discarded. */
  log?: NodeJS.WritableStream;
}

/** Waits until a Temporal frontend answers at `address`. */
export async function waitForTemporal(
  address: string,
  timeoutMs = 60_000,
  isDead: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isDead()) throw new Error(`the Temporal server exited before it answered at ${address}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(
          `no Temporal server answered at ${address} within ${timeoutMs / 1000}s: ${(err as Error).message}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Starts the dev server in a process group of its own: a terminal's Ctrl-C (which signals the
 * whole foreground group) must not stop it while workers still drain against it; whoever started
 * it stops it last, and it is stopped with this process if this process dies first.
 */
export async function startTemporalDevServer({
  cliPath,
  dbFile,
  port,
  uiPort,
  namespace = 'default',
  log,
}: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(dbFile), { recursive: true });
  const pidFile = `${dbFile}.pid`;
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    dbFile,
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableExecuteMultiOperation=true',
    '--dynamic-config-value',
    'system.enableEagerWorkflowStart=true',
    // Write-ahead log with NORMAL sync: durable across process crashes (the tests kill the server),
    // far fewer fsyncs than the default rollback journal; only an OS crash can lose the last commits.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
  ];
  const server = managedProcess(
    'the Temporal dev server',
    async () => {
      // A server an earlier run left behind (its starter and the reaper were killed outright)
      // holds the port and the file.
      const leftover = pidFrom(pidFile);
      if (leftover && (await stopLeftover(leftover, dbFile)))
        console.warn(`Stopped a Temporal server an earlier run left behind (pid ${leftover}).`);
      return {
        command: cliPath,
        args,
        options: { stdio: ['ignore', log ? 'pipe' : 'ignore', log ? 'pipe' : 'ignore'] },
        reap: { signal: 'SIGTERM', mustContain: dbFile },
        unref: true,
        started: (child) => {
          if (log) {
            child.stdout?.pipe(log, { end: false });
            child.stderr?.pipe(log, { end: false });
          }
          if (child.pid) writeFileSync(pidFile, `${child.pid}\n`);
          return () => {
            if (pidFrom(pidFile) === child.pid) rmSync(pidFile, { force: true });
          };
        },
        ready: (child) =>
          waitForTemporal(address, 60_000, () => child.exitCode !== null || child.signalCode !== null),
      };
    },
    { stopSignal: 'SIGTERM' },
  );
  await server.start();
  return Object.assign(server, { address, uiUrl: `http://127.0.0.1:${uiPort}` });
}
