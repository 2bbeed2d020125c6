/**
 * Scratch databases: throwaway databases on a region's server that a restore verification
 * restores a backup into, as the server's superuser. No tenant role can connect to one: it is
 * made with connections off and opened only once PUBLIC lost its rights on it. Each is dropped
 * when its work ends; one a crashed worker left behind carries its creation time in its name
 * (`landlord_scratch_<unix seconds>_<8 hex>`), for sweepScratchDatabases.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { LandlordError } from '../../domain/index.js';
import { withDatabase } from '../../dataplane/connection.js';
import { createClosedDatabase } from '../../dataplane/hardening.js';

const q = pg.escapeIdentifier;
/** The names scratch databases have, and nothing else has. */
export const SCRATCH_DATABASE_NAME = /^landlord_scratch_(\d{1,12})_[0-9a-f]{8}$/;
/** CREATE DATABASE … ALLOW_CONNECTIONS: Postgres 9.5. */
const ALLOW_CONNECTIONS_SINCE = 90_500;
/** DROP DATABASE … WITH (FORCE): Postgres 13. */
const DROP_FORCE_SINCE = 130_000;

/**
 * A new scratch database's name, made at `now` (ms). `tag` (8 hex characters) replaces the random
 * part: a drill names its copies after its operation (drillTag), so that it finds and drops every
 * one an attempt of it left, whoever made it.
 */
export function scratchDatabaseName(now = Date.now(), tag?: string): string {
  return `landlord_scratch_${Math.floor(now / 1000)}_${tag ?? randomBytes(4).toString('hex')}`;
}

/** The tag of a drill's copies: the same for every attempt and run of its operation. */
export function drillTag(operationId: string): string {
  return createHash('sha256').update(`drill:${operationId}`).digest('hex').slice(0, 8);
}

/** When a scratch database was made (ms), from its name; undefined for any other name. */
export function scratchDatabaseMadeAt(name: string): number | undefined {
  const match = SCRATCH_DATABASE_NAME.exec(name);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** Runs `work` on the server's maintenance database as the superuser `serverUrl` names. */
async function onServer<T>(
  serverUrl: string,
  work: (c: pg.Client, version: number) => Promise<T>,
): Promise<T> {
  const c = new pg.Client({
    connectionString: withDatabase(serverUrl, 'postgres'),
    application_name: 'landlord-scratch',
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const { rows } = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    return await work(c, Number(rows[0]!.v));
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function dropOn(c: pg.Client, version: number, name: string): Promise<void> {
  if (version >= DROP_FORCE_SINCE) {
    await c.query(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
    return;
  }
  await c.query(`ALTER DATABASE ${q(name)} ALLOW_CONNECTIONS false`).catch(() => undefined);
  await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name]);
  await c.query(`DROP DATABASE IF EXISTS ${q(name)}`);
}

/**
 * Makes a scratch database on the server (a superuser URL) and returns its name: created with
 * connections off, PUBLIC's rights revoked, then opened, so that no tenant could connect to it at
 * any moment. `now` (ms) is the time its name carries.
 */
export async function createScratchDatabase(
  serverUrl: string,
  now = Date.now(),
  tag?: string,
): Promise<string> {
  const name = scratchDatabaseName(now, tag);
  return onServer(serverUrl, async (c, version) => {
    if (version < ALLOW_CONNECTIONS_SINCE)
      throw new LandlordError(
        'Misconfigured',
        `the Postgres server (version ${version}) cannot make a database closed to connections; scratch databases need 9.5 or later`,
      );
    try {
      await createClosedDatabase(c, name);
    } catch (err) {
      await dropOn(c, version, name).catch(() => undefined);
      throw err;
    }
    return name;
  });
}

/** Drops a scratch database, ending whatever is connected to it; dropping one that is gone is no error. */
export async function dropScratchDatabase(serverUrl: string, name: string): Promise<void> {
  if (!SCRATCH_DATABASE_NAME.test(name)) throw new Error(`${name} is no scratch database`);
  await onServer(serverUrl, (c, version) => dropOn(c, version, name));
}

/**
 * Runs `work` with a scratch database on the server (its superuser URL, and its name), and drops
 * it afterwards, whether `work` succeeded or not.
 */
export async function withScratchDatabase<T>(
  serverUrl: string,
  work: (databaseUrl: string, database: string) => Promise<T>,
  tag?: string,
): Promise<T> {
  const name = await createScratchDatabase(serverUrl, Date.now(), tag);
  try {
    return await work(withDatabase(serverUrl, name), name);
  } finally {
    await dropScratchDatabase(serverUrl, name);
  }
}

/**
 * Drops the scratch databases on the server made more than `olderThanMs` before `now` (those a
 * crashed worker left); returns their names.
 */
export async function sweepScratchDatabases(
  serverUrl: string,
  olderThanMs: number,
  now = Date.now(),
): Promise<string[]> {
  return onServer(serverUrl, async (c, version) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'landlord\\_scratch\\_%' ORDER BY datname`,
    );
    const old = rows
      .map((r) => r.datname)
      .filter((name) => {
        const madeAt = scratchDatabaseMadeAt(name);
        return madeAt !== undefined && madeAt < now - olderThanMs;
      });
    for (const name of old) await dropOn(c, version, name);
    return old;
  });
}

/** Drops every scratch database on the server that carries `tag` (a drill's copies); returns their names. */
export async function dropTaggedScratchDatabases(serverUrl: string, tag: string): Promise<string[]> {
  if (!/^[0-9a-f]{8}$/.test(tag)) throw new Error(`${tag} is no scratch database tag`);
  return onServer(serverUrl, async (c, version) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'landlord\\_scratch\\_%' ORDER BY datname`,
    );
    const tagged = rows
      .map((r) => r.datname)
      .filter((name) => SCRATCH_DATABASE_NAME.test(name) && name.endsWith(`_${tag}`));
    for (const name of tagged) await dropOn(c, version, name);
    return tagged;
  });
}
