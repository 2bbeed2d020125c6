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

export interface DevServer {
  address: string;
  uiUrl: string;
  /** Stops the server cleanly (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

export interface DevServerOptions {
  cliPath: string;
  dbFile: string;
  port: number;
  uiPort: number;
  namespace?: string;
  /** Where the server's own log goes; default: discarded. */
  log?: NodeJS.WritableStream;
  /**
   * Runs the server in a process group of its own, so a terminal's Ctrl-C (which signals the whole
   * foreground group) does not stop it while workers still drain against it; whoever started it
   * stops it last. It is killed if this process exits without having stopped it.
   */
  ownProcessGroup?: boolean;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
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

export async function startTemporalDevServer({
  cliPath,
  dbFile,
  port,
  uiPort,
  namespace = 'default',
  log,
  ownProcessGroup = false,
}: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(dbFile), { recursive: true });
  // A server an earlier run left behind (its starter was killed outright) holds the port and the file.
  const pidFile = `${dbFile}.pid`;
  const leftover = pidFrom(pidFile);
  if (leftover && (await stopLeftover(leftover, dbFile)))
    console.warn(`Stopped a Temporal server an earlier run left behind (pid ${leftover}).`);
  const child = spawn(
    cliPath,
    [
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
    ],
    {
      stdio: ['ignore', log ? 'pipe' : 'ignore', log ? 'pipe' : 'ignore'],
      detached: ownProcessGroup,
    },
  );
  if (log) {
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
  }
  let dead = false;
  // Outside the terminal's process group nothing else would stop it if this process ended first.
  const killOnExit = () => void child.kill('SIGKILL');
  if (ownProcessGroup) process.once('exit', killOnExit);
  if (child.pid) writeFileSync(pidFile, `${child.pid}\n`);
  child.once('exit', () => {
    dead = true;
    process.removeListener('exit', killOnExit);
    rmSync(pidFile, { force: true });
  });
  const address = `127.0.0.1:${port}`;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (!dead) child.kill(signal);
    await exited(child);
  };
  try {
    await waitForTemporal(address, 60_000, () => dead);
  } catch (err) {
    await stopWith('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}
