/**
 * A Postgres server started apart from Landlord, as a user who brings their own would run one: the
 * machine's own installation (Debian's postgresql package, or LANDLORD_TEST_POSTGRES_BIN), its own
 * initdb, a password-protected superuser, a port of its own, prepared transactions allowed. The
 * test run points region local-b at
 * it, so every test that uses that region runs against a server (and major version) Landlord did
 * not start.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidFrom } from '../../scripts/servers/leftovers.js';
import { REPLICATION_FLAGS } from '../../scripts/servers/postgres.js';
import { stopWithThisProcess } from '../../scripts/servers/reaper.js';

export interface ExternalPostgres {
  url: string;
  /** e.g. "15.18" */
  version: string;
  stop(): void;
}

/** The bin folder of the newest Postgres installed on this machine, if any. */
function findBinaries(): string | undefined {
  const configured = process.env.LANDLORD_TEST_POSTGRES_BIN;
  if (configured) return existsSync(join(configured, 'pg_ctl')) ? configured : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** Starts the server in `dir` on `port`, or returns undefined when no Postgres is installed. */
export function startExternalPostgres(dir: string, port: number): ExternalPostgres | undefined {
  const bin = findBinaries();
  if (!bin) return undefined;
  // initdb refuses to run as root: as root, the server runs as the system's postgres user.
  const asRoot = process.getuid?.() === 0;
  // From a folder the postgres user can enter: the clone may sit in a private one.
  const as = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir })
      : execFileSync(cmd, args, { cwd: dir });
  const data = join(dir, 'data');
  const password = 'external-superuser-password';
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  if (asRoot) spawnSync('chown', ['-R', 'postgres', dir]);
  as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`]);
  as(join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-w',
    '-l',
    join(dir, 'server.log'),
    '-o',
    // Prepared transactions on, as some users run them: a tenant's must not hold a lock for ever.
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c max_prepared_transactions=10 ${REPLICATION_FLAGS.filter(
      (f) => f !== '-c',
    )
      .map((f) => `-c ${f}`)
      .join(' ')}`,
    'start',
  ]);
  // Stopped with the test run however it ends.
  const pid = pidFrom(join(data, 'postmaster.pid'));
  if (pid) stopWithThisProcess(pid, 'SIGINT', data);
  // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
  const version =
    /\(PostgreSQL\) (\S+)/.exec(
      execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }),
    )?.[1] ?? 'unknown';
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    version,
    stop: () => {
      as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
  };
}
