/**
 * The disaster-recovery benchmark's baselines: a pool tenant's backup and restore as bare COPY,
 * what an operator's script with `psql \copy` would do, and nothing else: no tar, no sealing, no
 * checksums, no catalog, no fsync, no checks.
 *
 * - Backup: one REPEATABLE READ READ ONLY transaction, the same `COPY (SELECT … WHERE <tenant key>
 *   = '<id>' ORDER BY <primary key>) TO STDOUT` per table as the backup activity (and under the same
 *   session settings, so the text is the same byte for byte), each into a plain file.
 * - Restore: one transaction, the tenant's rows deleted from each table (children first), then
 *   `COPY <table> (<columns>) FROM STDIN` from each file.
 *
 * Each run opens a connection of its own, as a script would; its time includes the connect.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { DataPlaneManifest } from '../domain/index.js';
import { copyableColumns, primaryKeyOf } from '../dataplane/table-catalog.js';

const q = pg.escapeIdentifier;

/**
 * The backup activity's session settings for COPY text (activities/data/backup.ts,
 * COPY_TEXT_SETTINGS): with them the bare COPY writes the same bytes as the activity's.
 */
const COPY_TEXT_SETTINGS = [
  ['TimeZone', 'UTC'],
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '1'],
  ['bytea_output', 'hex'],
]
  .map(([name, value]) => `set_config(${pg.escapeLiteral(name!)}, ${pg.escapeLiteral(value!)}, true)`)
  .join(', ');

/** One table as the scripts read and write it. */
export interface TablePlan {
  name: string;
  tenantKey: string;
  columns: string[];
  /** The backup activity's query for the tenant's rows (its `tableSelect` for a pool tenant). */
  select: string;
}

/**
 * Each manifest table's columns and query, read from the catalog before anything is timed (a
 * script has them written in): the activity's `tableSelect` for a pool tenant.
 */
export async function tablePlans(
  c: pg.ClientBase,
  manifest: DataPlaneManifest,
  tenantId: string,
): Promise<TablePlan[]> {
  const plans: TablePlan[] = [];
  for (const table of manifest.tables) {
    const columns = await copyableColumns(c, table.name);
    const key = await primaryKeyOf(c, table.name);
    const order = key.length > 0 ? key.map((k) => `t.${q(k)}`).join(', ') : '(t.*)::text';
    const select =
      `SELECT ${columns.map((col) => `t.${q(col)}`).join(', ')} FROM public.${q(table.name)} t` +
      ` WHERE t.${q(table.tenantKey)} = ${pg.escapeLiteral(tenantId)} ORDER BY ${order}`;
    plans.push({ name: table.name, tenantKey: table.tenantKey, columns, select });
  }
  return plans;
}

/** One table's part of a bare run. */
export interface BareStep {
  table: string;
  /** COPY out: rows written; DELETE: rows deleted; COPY in: rows taken in. */
  rows: number;
  ms: number;
}

export interface BareBackup {
  wallMs: number;
  connectMs: number;
  /** Each table's COPY into its file. */
  steps: (BareStep & { bytes: number; file: string })[];
}

export interface BareRestore {
  wallMs: number;
  connectMs: number;
  deletes: BareStep[];
  copies: BareStep[];
  commitMs: number;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

async function connected<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<[T, number]> {
  const c = new pg.Client({ connectionString: url, application_name: 'bench-dr-baseline' });
  const [, connectMs] = await timed(() => c.connect());
  try {
    return [await work(c), connectMs];
  } finally {
    await c.end();
  }
}

/** The bare backup: each table's COPY text into `<folder>/<table>.copy`, from one snapshot. */
export async function bareBackup(url: string, plans: TablePlan[], folder: string): Promise<BareBackup> {
  const started = performance.now();
  const [steps, connectMs] = await connected(url, async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SELECT ${COPY_TEXT_SETTINGS}`);
    const out: BareBackup['steps'] = [];
    for (const plan of plans) {
      const file = join(folder, `${plan.name}.copy`);
      const copy = c.query(copyTo(`COPY (${plan.select}) TO STDOUT`));
      const [, ms] = await timed(() => pipeline(copy, createWriteStream(file)));
      out.push({ table: plan.name, rows: copy.rowCount, ms, bytes: statSync(file).size, file });
    }
    await c.query('COMMIT');
    return out;
  });
  return { wallMs: performance.now() - started, connectMs, steps };
}

/** The bare restore: the tenant's rows deleted (children first) and the files copied in, in one transaction. */
export async function bareRestore(
  url: string,
  plans: TablePlan[],
  tenantId: string,
  files: Record<string, string>,
): Promise<BareRestore> {
  const started = performance.now();
  const [result, connectMs] = await connected(url, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query(`SELECT ${COPY_TEXT_SETTINGS}`);
      const deletes: BareStep[] = [];
      for (const plan of [...plans].reverse()) {
        const [done, ms] = await timed(() =>
          c.query(`DELETE FROM public.${q(plan.name)} WHERE ${q(plan.tenantKey)} = $1`, [tenantId]),
        );
        deletes.push({ table: plan.name, rows: done.rowCount ?? 0, ms });
      }
      const copies: BareStep[] = [];
      for (const plan of plans) {
        const into = c.query(
          copyFrom(`COPY public.${q(plan.name)} (${plan.columns.map(q).join(', ')}) FROM STDIN`),
        );
        const [, ms] = await timed(() => pipeline(createReadStream(files[plan.name]!), into));
        copies.push({ table: plan.name, rows: into.rowCount, ms });
      }
      const [, commitMs] = await timed(() => c.query('COMMIT'));
      return { deletes, copies, commitMs };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  return { wallMs: performance.now() - started, connectMs, ...result };
}

/**
 * What the tenant holds now, as a backup would record it: each table's rows and the SHA-256 of its
 * COPY text (the same query and settings), from one snapshot. Not timed: a check after a restore.
 */
export async function tenantDigest(
  url: string,
  plans: TablePlan[],
): Promise<Record<string, { rows: number; sha256: string }>> {
  const [digests] = await connected(url, async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SELECT ${COPY_TEXT_SETTINGS}`);
    const out: Record<string, { rows: number; sha256: string }> = {};
    for (const plan of plans) {
      const hash = createHash('sha256');
      const copy = c.query(copyTo(`COPY (${plan.select}) TO STDOUT`));
      for await (const data of copy as AsyncIterable<Buffer>) hash.update(data);
      out[plan.name] = { rows: copy.rowCount, sha256: hash.digest('hex') };
    }
    await c.query('COMMIT');
    return out;
  });
  return digests;
}
