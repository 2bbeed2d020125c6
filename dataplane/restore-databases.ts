/**
 * What a tenant restore (activities/data/restore.ts) keeps in and asks of the databases it
 * restores: its record in the restored database, the evidence of the rows it replaced, and a
 * silo's staging and pre-restore databases on the region server.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { siloNames } from '../domain/index.js';
import type { LedgerEntry } from '../domain/index.js';

const q = pg.escapeIdentifier;
/** DROP DATABASE … WITH (FORCE): Postgres 13. */
const DROP_FORCE_SINCE = 130_000;

/**
 * Landlord's record of each restore in the database it restored (the pool, or the silo's staging
 * database that becomes the live one): a retried step finds what the first attempt did here, in
 * the same database and committed with the same transaction as the rows. Tenants have no right on
 * schema landlord.
 */
export const RESTORES_SQL = `
CREATE SCHEMA IF NOT EXISTS landlord;
CREATE TABLE IF NOT EXISTS landlord.restores (
  operation_id text NOT NULL,
  run integer NOT NULL,
  tenant_id text NOT NULL,
  backup_id text NOT NULL,
  result jsonb NOT NULL,
  restored_at timestamptz NOT NULL DEFAULT now(),
  switched_at timestamptz,
  PRIMARY KEY (operation_id, run)
);`;

/**
 * The databases a silo restore works with, derived from the operation so that every attempt finds
 * the same ones. The suffixes follow a `$`, which no silo database name has (tenant ids are
 * `[a-z0-9-]`), so no other tenant's database can ever be taken for one of these; the marker,
 * the staging database's comment, goes live with it and tells a retried switch that it happened.
 */
export function siloRestoreNames(tenantId: string, operationId: string, run = 1) {
  const live = siloNames(tenantId).database;
  const tag = createHash('sha256').update(`${operationId}:${run}`).digest('hex').slice(0, 8);
  return {
    live,
    staged: `${live}$restore_${tag}`,
    preRestore: `${live}$pre_${tag}`,
    marker: `landlord restore of tenant ${tenantId}: operation ${operationId} run ${run}`,
  };
}

/** A database of the region server as pg_database shows it. */
export interface ServerDatabase {
  name: string;
  allowConnections: boolean;
  comment: string | null;
}

/** The silo's live database and every database named after it with a `$` suffix (a restore's). */
export async function siloDatabases(c: pg.ClientBase, live: string): Promise<ServerDatabase[]> {
  const { rows } = await c.query<{ name: string; allow: boolean; comment: string | null }>(
    `SELECT d.datname::text AS name, d.datallowconn AS allow, shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_catalog.pg_database d
      WHERE d.datname::text = $1::text OR starts_with(d.datname::text, $1::text || '$')`,
    [live],
  );
  return rows.map((r) => ({ name: r.name, allowConnections: r.allow, comment: r.comment }));
}

/** Drops a database of a restore, ending whatever is connected to it; one that is gone is no error. */
export async function dropRestoreDatabase(c: pg.ClientBase, name: string): Promise<void> {
  if (!name.includes('$')) throw new Error(`${name} is no restore's database`);
  const { rows } = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
  if (rows[0]!.v >= DROP_FORCE_SINCE) {
    await c.query(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
    return;
  }
  await c.query(`ALTER DATABASE ${q(name)} ALLOW_CONNECTIONS false`).catch(() => undefined);
  await c.query(`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1`, [name]);
  await c.query(`DROP DATABASE IF EXISTS ${q(name)}`);
}

/**
 * Lets the silo's owner connect to a restore database the switch closed (a pre-restore database),
 * so that its rows can be counted before it is dropped: CONNECT is taken from PUBLIC and from the
 * tenant's role first, so that nobody else reaches it. Run as the server's superuser.
 */
export async function openRestoreDatabaseToOwner(
  c: pg.ClientBase,
  database: ServerDatabase,
  tenantRole: string,
): Promise<void> {
  if (!database.name.includes('$')) throw new Error(`${database.name} is no restore's database`);
  if (database.allowConnections) return;
  await c.query(`REVOKE CONNECT ON DATABASE ${q(database.name)} FROM PUBLIC, ${q(tenantRole)}`);
  await c.query(`ALTER DATABASE ${q(database.name)} ALLOW_CONNECTIONS true`);
}

/**
 * The rows of each table in the silo database `c` is connected to (the whole table: a silo holds
 * one tenant's rows); a table the database lacks (a staging database cut short) counts 0.
 */
export async function siloTableRows(
  c: pg.ClientBase,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  for (const name of tables) {
    const present = await c.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
      `public.${q(name)}`,
    ]);
    rows[name] = present.rows[0]!.present
      ? Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM public.${q(name)}`)).rows[0]!.n)
      : 0;
  }
  return rows;
}

/** What a restore's `restore.replace` records share: all but the table, its class and its count. */
export type ReplacedRowsEntry = Omit<
  LedgerEntry,
  'kind' | 'unit' | 'tenantId' | 'target' | 'dataClass' | 'count' | 'recordKey' | 'deletedAt'
> & { operationId: string };

/**
 * Records in the outbox of the database `c` is connected to (in the caller's transaction, if one
 * is open) how many of the tenant's rows a restore replaced, one `restore.replace` record per
 * table that had any, keyed by the restore's operation, run and table: a retry records nothing
 * twice. A restore replaces a tenant's rows all at once by design (one transaction in the pool, a
 * database's rename in a silo), so the records are per table, not per batch.
 */
export async function recordReplacedRows(
  c: pg.ClientBase,
  {
    tenantId,
    run,
    tables,
    entry,
  }: {
    tenantId: string;
    run: number;
    tables: readonly { name: string; dataClass?: string; rows: number }[];
    entry: ReplacedRowsEntry;
  },
): Promise<void> {
  for (const t of tables) {
    if (t.rows === 0) continue;
    const recordKey = `restore.replace:${entry.operationId}:${run}:${t.name}`;
    const record: LedgerEntry = {
      ...entry,
      kind: 'restore.replace',
      unit: 'rows',
      tenantId,
      target: t.name,
      ...(t.dataClass ? { dataClass: t.dataClass } : {}),
      count: t.rows,
      recordKey,
    };
    await c.query(
      `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ($1, $2, $3)
       ON CONFLICT (record_key) DO NOTHING`,
      [recordKey, tenantId, JSON.stringify(record)],
    );
  }
}

/** What a restore recorded of itself in this database, if it did. */
export async function recordedRestore<R>(
  c: pg.ClientBase,
  operationId: string,
  run: number,
): Promise<{ result: R; switchedAt?: string } | undefined> {
  const present = await c.query<{ present: boolean }>(
    `SELECT to_regclass('landlord.restores') IS NOT NULL AS present`,
  );
  if (!present.rows[0]!.present) return undefined;
  const { rows } = await c.query<{ result: R; switched_at: Date | null }>(
    'SELECT result, switched_at FROM landlord.restores WHERE operation_id = $1 AND run = $2',
    [operationId, run],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { result: row.result, ...(row.switched_at ? { switchedAt: row.switched_at.toISOString() } : {}) };
}
