/**
 * Deleting a tenant's expired rows, one short batch at a time (retention runs; docs/retention.md).
 *
 * - Batches go by the table's primary key within the tenant (keyset order), each its own
 *   transaction, so no lock is held longer than one batch; the next batch size is adapted to the
 *   lock-time budget from the time the last one took.
 * - Each batch records what it deleted in `landlord.deletion_outbox` in the same transaction, so a
 *   deletion and its evidence commit together; the outbox is then forwarded to the registry's
 *   ledger (idempotently, by record key) and emptied. A worker killed anywhere in between loses
 *   nothing and deletes nothing twice: a committed batch's rows are gone and its record waits in
 *   the outbox; an uncommitted one changed nothing.
 * - Rows about a held subject are never selected; a held data class is never touched.
 */
import pg from 'pg';
import { holdActive, holdCovers } from '../domain/index.js';
import type { LedgerEntry, LegalHold } from '../domain/index.js';

const q = pg.escapeIdentifier;

/** Landlord's outbox in a tenant database (the pool's `landlord` schema, or a silo's). */
export const DELETION_OUTBOX_SQL = `
CREATE SCHEMA IF NOT EXISTS landlord;
CREATE TABLE IF NOT EXISTS landlord.deletion_outbox (
  id bigserial PRIMARY KEY,
  record_key text NOT NULL UNIQUE,
  tenant_id text NOT NULL,
  -- The whole ledger entry, as the ledger will hold it: the drainer adds nothing of its own.
  entry jsonb NOT NULL,
  first_key text,
  last_key text,
  deleted_at timestamptz NOT NULL DEFAULT now()
);
-- A storage batch's ledger entry, written down before it takes any file and removed when the batch
-- is recorded (dataplane/storage-expiry.ts).
CREATE TABLE IF NOT EXISTS landlord.object_deletions (
  record_key text PRIMARY KEY,
  tenant_id text NOT NULL,
  entry jsonb NOT NULL
);`;

export interface ExpiryTable {
  name: string;
  tenantKey: string;
  timestampColumn: string;
  subjectKey?: string;
}

export interface ExpiryScope {
  tenantId: string;
  /** Rows with a timestamp before this (ISO) are expired. */
  cutoff: string;
  /** Subjects a legal hold covers: their rows stay. */
  heldSubjects: readonly string[];
}

/**
 * What the tenant's holds (read afresh before each batch, so a hold placed mid-run counts from
 * the next batch) leave of a table: nothing when one holds its data class or the whole tenant,
 * otherwise its rows but those of held subjects.
 */
export function holdsOn(
  holds: readonly LegalHold[],
  dataClass: string,
  at: string,
): { tableHeld: boolean; heldSubjects: string[] } {
  const active = holds.filter((h) => holdActive(h, at));
  return {
    // A hold without scope, or naming this class, keeps the whole table.
    tableHeld: active.some((h) => holdCovers(h, { dataClass }, at)),
    heldSubjects: [...new Set(active.flatMap((h) => h.subjects ?? []))],
  };
}

/** The primary key column that orders a tenant's rows (the key beside the tenant key), and its type. */
export interface BatchKey {
  name: string;
  type: string;
  /** The subject key column's type: held subjects are compared as that (a UUID in any case, say). */
  subjectType?: string;
  /**
   * SQL that is true of a row other rows still reference through a foreign key (built from the
   * catalog only). Such a row is kept: deleting it would cascade into, or null columns of, rows
   * no hold check and no ledger record would cover. Its referencing rows go first, by their own
   * policy, and the row goes in a later run.
   */
  referenced?: string;
}

export async function batchKeyOf(c: pg.ClientBase, table: ExpiryTable): Promise<BatchKey> {
  const { rows } = await c.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary`,
    [`public.${q(table.name)}`],
  );
  const keys = (rows as BatchKey[]).filter((k) => k.name !== table.tenantKey);
  const subject = table.subjectKey
    ? await c.query(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
        [`public.${q(table.name)}`, table.subjectKey],
      )
    : undefined;
  if (keys.length !== 1)
    throw new Error(
      `table ${table.name} needs a primary key of one column besides ${table.tenantKey} to delete in batches; it has ${keys.length}`,
    );
  const subjectType = (subject?.rows[0] as { type?: string } | undefined)?.type;
  if (table.subjectKey && !subjectType)
    throw new Error(`table ${table.name} has no column ${table.subjectKey}`);
  const referenced = await referencedSql(c, table.name);
  return { ...keys[0]!, ...(subjectType ? { subjectType } : {}), ...(referenced ? { referenced } : {}) };
}

/** A foreign key into a table: the referencing table and its (referencing, referenced) column pairs. */
export interface ForeignKeyInto {
  childSchema: string;
  child: string;
  pairs: [string, string][];
}

/** The foreign keys that reference `table` (in schema public), from the catalog. */
export async function foreignKeysInto(c: pg.ClientBase, table: string): Promise<ForeignKeyInto[]> {
  const { rows } = await c.query<ForeignKeyInto>(
    `SELECT n.nspname AS "childSchema", cl.relname AS child,
            array(SELECT ARRAY[ca.attname::text, pa.attname::text]
                    FROM unnest(k.conkey, k.confkey) AS u(ck, pk)
                    JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = u.ck
                    JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = u.pk) AS pairs
       FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE k.contype = 'f' AND k.confrelid = $1::regclass
      ORDER BY k.oid`,
    [`public.${q(table)}`],
  );
  return rows;
}

/** `EXISTS (…)` for each foreign key that references `table`, or'ed; undefined when none does. */
async function referencedSql(c: pg.ClientBase, table: string): Promise<string | undefined> {
  const rows = await foreignKeysInto(c, table);
  if (rows.length === 0) return undefined;
  return rows
    .map(
      (r) =>
        `EXISTS (SELECT 1 FROM ${q(r.childSchema)}.${q(r.child)} ref WHERE ${r.pairs
          .map(([childCol, parentCol]) => `ref.${q(childCol)} = ${q(table)}.${q(parentCol)}`)
          .join(' AND ')})`,
    )
    .join(' OR ');
}

/**
 * The held subjects a table's subject column can hold. A subject that is no value of the column's
 * type (a name where the column holds UUIDs) is about no row of the table, and comparing it as that
 * type would fail every batch; `known` remembers each answer across batches. Postgres 16 and later
 * answer without an error (`pg_input_is_valid`), so no held subject reaches the server's log; older
 * servers are asked by a cast, whose failure they log.
 */
export async function comparableSubjects(
  c: pg.ClientBase,
  key: BatchKey,
  subjects: readonly string[],
  known: Map<string, boolean> = new Map(),
): Promise<string[]> {
  if (!key.subjectType) return [...subjects];
  const unknown = subjects.filter((s) => !known.has(s));
  if (unknown.length > 0 && (await serverVersion(c)) >= 160000) {
    const { rows } = await c.query<{ s: string; ok: boolean }>(
      'SELECT s, pg_input_is_valid(s, $2) AS ok FROM unnest($1::text[]) AS s',
      [unknown, key.subjectType],
    );
    for (const r of rows) known.set(r.s, r.ok);
  }
  for (const subject of unknown) {
    if (known.has(subject)) continue;
    try {
      await c.query(`SELECT $1::text::${key.subjectType}`, [subject]);
      known.set(subject, true);
    } catch (err) {
      // A data exception (class 22) or a domain's check (23514): not a value of the type.
      const code = String((err as { code?: string }).code);
      if (!code.startsWith('22') && code !== '23514') throw err;
      known.set(subject, false);
    }
  }
  return subjects.filter((s) => known.get(s));
}

const versions = new WeakMap<pg.ClientBase, number>();
async function serverVersion(c: pg.ClientBase): Promise<number> {
  let version = versions.get(c);
  if (version === undefined) {
    version = Number((await c.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v);
    versions.set(c, version);
  }
  return version;
}

function heldSql(table: ExpiryTable, key: BatchKey): string {
  return table.subjectKey
    ? `${q(table.subjectKey)} = ANY($3::text[]::${key.subjectType}[])`
    : '($3::text[] IS NULL)';
}

function expiredWhere(table: ExpiryTable, key: BatchKey): string {
  // Types come from the catalog (format_type), not from any input.
  const subject = table.subjectKey
    ? ` AND (${q(table.subjectKey)} IS NULL OR NOT ${heldSql(table, key)})`
    : ' AND $3::text[] IS NOT NULL';
  const referenced = key.referenced ? ` AND NOT (${key.referenced})` : '';
  return `${q(table.tenantKey)} = $1 AND ${q(table.timestampColumn)} < $2${subject}${referenced} AND ($4::text IS NULL OR ${q(key.name)} > $4::text::${key.type})`;
}

/**
 * How many rows the tenant has in the table, how many are expired, how many of those a held
 * subject keeps, and how many other rows still reference (kept for a later run).
 */
export async function countExpired(
  c: pg.ClientBase,
  table: ExpiryTable,
  key: BatchKey,
  scope: ExpiryScope,
): Promise<{ total: number; expired: number; held: number; referenced: number }> {
  const expired = `${q(table.timestampColumn)} < $2`;
  const held = `${expired} AND ${heldSql(table, key)}`;
  const referenced = key.referenced
    ? `${expired} AND NOT (${heldSql(table, key)}) IS TRUE AND (${key.referenced})`
    : 'false';
  const { rows } = await c.query(
    `SELECT count(*)::bigint AS total,
            count(*) FILTER (WHERE ${expired})::bigint AS expired,
            count(*) FILTER (WHERE ${held})::bigint AS held,
            count(*) FILTER (WHERE ${referenced})::bigint AS referenced
       FROM ${q(table.name)} WHERE ${q(table.tenantKey)} = $1`,
    [scope.tenantId, scope.cutoff, scope.heldSubjects],
  );
  const r = rows[0] as { total: string; expired: string; held: string; referenced: string };
  return {
    total: Number(r.total),
    expired: Number(r.expired),
    held: Number(r.held),
    referenced: Number(r.referenced),
  };
}

export interface BatchResult {
  deleted: number;
  /** The last key deleted: where the next batch starts (the cursor to heartbeat). */
  lastKey?: string;
  /** How long the batch's transaction held its locks. */
  lockMs: number;
}

/**
 * Deletes up to `limit` expired rows after `afterKey`, in one transaction with its outbox record.
 * The record's key ends with the first key deleted: a row is deleted once, so no two batches share
 * a key, even when a worker resumes from a cursor older than its last commit (heartbeats are
 * throttled), and a clash is an error, never a record silently dropped. A batch that finds
 * nothing records nothing.
 */
export async function deleteExpiredBatch(
  c: pg.ClientBase,
  table: ExpiryTable,
  scope: ExpiryScope,
  batch: {
    key: BatchKey;
    afterKey?: string;
    limit: number;
    /** The record key's start (run, tenant, table); the first key deleted completes it. */
    recordKeyPrefix: string;
    /** How long to wait for a row lock the application holds (default 1 s). */
    lockTimeoutMs?: number;
    /** The ledger entry of this batch but its tenant, table, count and key, which the batch fills in. */
    entry: Omit<LedgerEntry, 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt'>;
  },
): Promise<BatchResult> {
  const started = performance.now();
  await c.query('BEGIN');
  try {
    // Waiting on the application's row locks costs the budget too: past the timeout the batch
    // changes nothing and the caller tries again.
    await c.query(`SELECT set_config('lock_timeout', $1, true)`, [
      `${Math.max(1, Math.round(batch.lockTimeoutMs ?? 1000))}ms`,
    ]);
    const key = q(batch.key.name);
    const { rows } = await c.query(
      `WITH victims AS (
         SELECT ${key} AS k FROM ${q(table.name)}
          WHERE ${expiredWhere(table, batch.key)}
          ORDER BY ${key} LIMIT $5 FOR UPDATE
       ), deleted AS (
         DELETE FROM ${q(table.name)} t USING victims
          WHERE t.${q(table.tenantKey)} = $1 AND t.${key} = victims.k
         RETURNING t.${key} AS k
       )
       SELECT count(*)::int AS n, ((array_agg(k ORDER BY k))[1])::text AS first,
              ((array_agg(k ORDER BY k DESC))[1])::text AS last FROM deleted`,
      [scope.tenantId, scope.cutoff, scope.heldSubjects, batch.afterKey ?? null, batch.limit],
    );
    const { n, first, last } = rows[0] as { n: number; first: string | null; last: string | null };
    if (n > 0) {
      const recordKey = `${batch.recordKeyPrefix}:${first}`;
      const entry = { ...batch.entry, tenantId: scope.tenantId, target: table.name, count: n, recordKey };
      await c.query(
        `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry, first_key, last_key)
         VALUES ($1, $2, $3, $4, $5)`,
        [recordKey, scope.tenantId, JSON.stringify(entry), first, last],
      );
    }
    await c.query('COMMIT');
    return { deleted: n, ...(last ? { lastKey: last } : {}), lockMs: performance.now() - started };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The next batch size: what fits the lock budget at the last batch's pace, within bounds. */
export function nextBatchSize(current: number, lastLockMs: number, budgetMs: number): number {
  const pace = current / Math.max(lastLockMs, 1);
  // Halfway towards the size the budget allows, so one slow batch does not swing it.
  const target = Math.round((current + pace * budgetMs) / 2);
  return Math.min(10_000, Math.max(10, target));
}

/**
 * Hands every outbox entry of the tenant to `forward` (the ledger) in order, with the time its
 * deletion committed, then removes it from the outbox.
 */
export async function drainOutbox(
  c: pg.ClientBase,
  tenantId: string,
  forward: (entry: LedgerEntry) => Promise<void>,
): Promise<number> {
  let drained = 0;
  for (;;) {
    const { rows } = await c.query(
      'SELECT id, entry, deleted_at FROM landlord.deletion_outbox WHERE tenant_id = $1 ORDER BY id LIMIT 100',
      [tenantId],
    );
    if (rows.length === 0) return drained;
    for (const r of rows as { id: string; entry: LedgerEntry; deleted_at: Date }[]) {
      await forward({ ...r.entry, deletedAt: r.deleted_at.toISOString() });
      await c.query('DELETE FROM landlord.deletion_outbox WHERE id = $1', [r.id]);
      drained += 1;
    }
  }
}
