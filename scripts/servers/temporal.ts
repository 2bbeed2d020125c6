/**
 * The Temporal dev server (`temporal server start-dev`) with its state in a SQLite file, so that a
 * restart finds every workflow where it was.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { pidFrom, stopLeftover } from './leftovers.js';
import { forgetOnExit, stopWithThisProcess } from './reaper.js';
import { endChild, exitOf } from './server-process.js';
import type { ProcessExit, ServerProcess } from './server-process.js';

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
  let child: ChildProcess | undefined;
  let lastExit: ProcessExit = { code: null, signal: null };
  const launch = async () => {
    // A server an earlier run left behind (its starter and the reaper were killed outright) holds
    // the port and the file.
    const leftover = pidFrom(pidFile);
    if (leftover && (await stopLeftover(leftover, dbFile)))
      console.warn(`Stopped a Temporal server an earlier run left behind (pid ${leftover}).`);
    const started = spawn(cliPath, args, {
      stdio: ['ignore', log ? 'pipe' : 'ignore', log ? 'pipe' : 'ignore'],
      detached: true,
    });
    child = started;
    try {
      await new Promise<void>((resolve, reject) => {
        started.once('spawn', resolve);
        started.once('error', reject);
      });
    } catch (err) {
      child = undefined;
      throw new Error(`could not run ${cliPath}: ${(err as Error).message}`);
    }
    started.on('error', () => undefined);
    // The server does not keep this process alive: it is stopped with it (the reaper).
    started.unref();
    if (log) {
      started.stdout?.pipe(log, { end: false });
      started.stderr?.pipe(log, { end: false });
    }
    if (started.pid) {
      writeFileSync(pidFile, `${started.pid}\n`);
      stopWithThisProcess(started.pid, 'SIGTERM', dbFile);
    }
    void exitOf(started).then((exit) => {
      lastExit = exit;
      if (started.pid) forgetOnExit(started.pid);
      if (pidFrom(pidFile) === started.pid) rmSync(pidFile, { force: true });
    });
    try {
      await waitForTemporal(address, 60_000, () => started.exitCode !== null || started.signalCode !== null);
    } catch (err) {
      await endChild(started, 'SIGKILL');
      throw err;
    }
  };
  await launch();
  return {
    name: 'the Temporal dev server',
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    exited: () => (child ? exitOf(child) : Promise.resolve(lastExit)),
    restart: launch,
    stop: async () => void (child && (await endChild(child, 'SIGTERM'))),
    kill: async () => void (child && (await endChild(child, 'SIGKILL'))),
  };
}
