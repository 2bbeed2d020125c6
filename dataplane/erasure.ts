/**
 * Erasing one data subject's rows of a tenant in one database (data-subject erasure, GDPR Art. 17;
 * docs/erasure-and-offboarding.md), the way retention deletes expired rows (dataplane/expiry.ts):
 * short batches by primary key, each in one transaction with its evidence in
 * `landlord.deletion_outbox`, so a batch and its record commit together and a worker killed
 * anywhere erases nothing twice.
 *
 * - A table the manifest anonymizes keeps its rows with the named columns cleared; the subject key
 *   is one of them, so an anonymized row no longer matches and every batch finds only rows no
 *   batch has touched. No cursor is needed either way: what a batch did takes its rows out of the
 *   next batch's reach.
 * - A row other rows still reference through a foreign key is never deleted: that would cascade
 *   into (or null columns of) rows no record covers. Its referencing rows go first (the caller
 *   erases children before parents); whatever stays referenced is the caller's to report.
 * - Evidence names the subject only by its HMAC: no record key or outbox column carries a row key
 *   that is the subject itself.
 */
import pg from 'pg';
import { LandlordError } from '../domain/index.js';
import type { LedgerEntry } from '../domain/index.js';
import { comparableSubjects } from './expiry.js';
import type { BatchKey } from './expiry.js';

const q = pg.escapeIdentifier;

/** A manifest table that names the data subject of its rows. */
export interface ErasureTable {
  name: string;
  tenantKey: string;
  subjectKey: string;
}

/** Whose rows: one subject of one tenant. */
export interface ErasureScope {
  tenantId: string;
  subject: string;
}

/** The record key's start for what one erasure did to one table or storage prefix of one store. */
export const erasureRecordKeyPrefix = (
  erasureId: string,
  store: 'primary' | 'standby',
  target: string,
): string => `erasure:${erasureId}:${store}:${target}`;

/**
 * The subject's folder under a storage prefix, `<prefix><subject>/`; undefined when the subject
 * cannot be one path segment (empty, `.`, `..`, or with a separator): such a subject has no folder,
 * and taking it as one could reach outside the prefix.
 */
export function subjectFolder(prefix: string, subject: string): string | undefined {
  if (subject === '' || subject === '.' || subject === '..' || /[/\\\0]/.test(subject)) return undefined;
  return `${prefix}${subject}/`;
}

/** Answers of comparableSubjects per table key, so each subject is asked about once per table. */
const comparable = new WeakMap<BatchKey, Map<string, boolean>>();

function subjectType(table: ErasureTable, key: BatchKey): string {
  // batchKeyOf sets it for every table with a subject key.
  if (!key.subjectType) throw new Error(`table ${table.name} has no type for its column ${table.subjectKey}`);
  return key.subjectType;
}

/** The values among `subjects` the table's subject column can hold. */
function asColumnValues(c: pg.ClientBase, key: BatchKey, subjects: readonly string[]): Promise<string[]> {
  let known = comparable.get(key);
  if (!known) comparable.set(key, (known = new Map()));
  return comparableSubjects(c, key, subjects, known);
}

/**
 * Whether one of `held` names the subject as the table's subject column compares them (a UUID in
 * another case, say): a hold on that value covers the subject's rows there, written as it may be.
 */
export async function subjectAmong(
  c: pg.ClientBase,
  table: ErasureTable,
  key: BatchKey,
  subject: string,
  held: readonly string[],
): Promise<boolean> {
  const [values, candidates] = [await asColumnValues(c, key, [subject]), await asColumnValues(c, key, held)];
  if (values.length === 0 || candidates.length === 0) return false;
  const type = subjectType(table, key);
  const { rows } = await c.query<{ held: boolean }>(
    `SELECT $1::text::${type} = ANY($2::text[]::${type}[]) AS held`,
    [subject, candidates],
  );
  return rows[0]!.held;
}

// Types come from the catalog (format_type), never from any input.
const subjectIs = (table: ErasureTable, key: BatchKey) =>
  `${q(table.subjectKey)} = $2::text::${subjectType(table, key)}`;
const subjectWhere = (table: ErasureTable, key: BatchKey) =>
  `${q(table.tenantKey)} = $1 AND ${subjectIs(table, key)}`;

/**
 * How many rows of the table are about the subject, and how many of those other rows still
 * reference through a foreign key. A subject that is no value of the column's type has none.
 */
export async function countSubjectRows(
  c: pg.ClientBase,
  table: ErasureTable,
  key: BatchKey,
  scope: ErasureScope,
): Promise<{ rows: number; referenced: number }> {
  if ((await asColumnValues(c, key, [scope.subject])).length === 0) return { rows: 0, referenced: 0 };
  const { rows } = await c.query<{ rows: number; referenced: number }>(
    `SELECT count(*)::int AS rows, count(*) FILTER (WHERE ${key.referenced ?? 'false'})::int AS referenced
       FROM ${q(table.name)} WHERE ${subjectWhere(table, key)}`,
    [scope.tenantId, scope.subject],
  );
  return rows[0]!;
}

/**
 * Refuses, before any row changes, columns an anonymizing erasure cannot clear: missing ones,
 * NOT NULL ones (the rows would keep the subject, or the erasure would fail halfway) and generated
 * ones. The error names the table and the column.
 */
export async function checkAnonymizable(
  c: pg.ClientBase,
  table: Pick<ErasureTable, 'name'>,
  columns: readonly string[],
): Promise<void> {
  const { rows } = await c.query<{ name: string; found: boolean; not_null: boolean; generated: boolean }>(
    `SELECT col.name, a.attname IS NOT NULL AS found, coalesce(a.attnotnull, false) AS not_null,
            coalesce(a.attgenerated <> '' OR a.attidentity <> '', false) AS generated
       FROM unnest($2::text[]) WITH ORDINALITY AS col(name, n)
       LEFT JOIN pg_attribute a
         ON a.attrelid = $1::regclass AND a.attname = col.name AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY col.n`,
    [`public.${q(table.name)}`, columns],
  );
  for (const r of rows) {
    const column = `${table.name}.${r.name}`;
    if (!r.found)
      throw new LandlordError(
        'Misconfigured',
        `the manifest anonymizes ${column} on erasure, but table ${table.name} has no column ${r.name}`,
        { table: table.name, column: r.name },
      );
    if (r.not_null)
      throw new LandlordError(
        'Misconfigured',
        `the manifest anonymizes ${column} on erasure, but the column is NOT NULL: make it nullable, or erase the table's rows by deleting them`,
        { table: table.name, column: r.name },
      );
    if (r.generated)
      throw new LandlordError(
        'Misconfigured',
        `the manifest anonymizes ${column} on erasure, but the column is generated and cannot be cleared`,
        { table: table.name, column: r.name },
      );
  }
}

/** What an erasure's batch records but its tenant, target, count and key, which the batch fills in. */
export type ErasureEntry = Omit<
  LedgerEntry,
  'kind' | 'unit' | 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt'
> & { subjectHmac: string };

export interface ErasureBatchResult {
  /** Rows deleted, or anonymized. */
  erased: number;
  /** How long the batch's transaction held its locks. */
  lockMs: number;
}

/**
 * One batch of a tenant's rows taken in primary key order, and the outbox record of what it did.
 * Shared by the deleters that go by key (a subject's erasure, a tenant's offboarding).
 */
export interface KeyedBatch {
  key: BatchKey;
  /** SQL narrowing the tenant's rows (the tenant id is `$1`, `params` follow from `$2`). */
  where?: string;
  params?: readonly unknown[];
  /** Rows after this key only (keyset order); absent: from the first. */
  afterKey?: string;
  /** Columns to clear (`UPDATE … SET column = NULL`); absent: the rows are deleted. */
  clear?: readonly string[];
  limit: number;
  /** How long to wait for a row lock the application holds (default 1 s). */
  lockTimeoutMs?: number;
  /**
   * The caller's open transaction holds the batch (a restore re-applies erasures inside its own):
   * no BEGIN, COMMIT, ROLLBACK or lock timeout of the batch's own; a failure aborts the caller's.
   */
  inTransaction?: boolean;
  /** The record's key, from the first key the batch took. */
  recordKey: (firstKey: string) => string;
  /** Whether the outbox may keep the batch's first and last key (not where a key is a subject). */
  keysInOutbox: boolean;
  /** The ledger entry of the batch but its tenant, table, count and key, which the batch fills in. */
  entry: Omit<LedgerEntry, 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt'>;
}

/**
 * Deletes, or clears columns of, up to `limit` of the tenant's rows in primary key order, in one
 * transaction with its outbox record. A batch that finds nothing records nothing.
 */
export async function changeKeyedBatch(
  c: pg.ClientBase,
  table: Pick<ErasureTable, 'name' | 'tenantKey'>,
  tenantId: string,
  batch: KeyedBatch,
): Promise<{ changed: number; lastKey?: string; lockMs: number }> {
  const started = performance.now();
  const own = !batch.inTransaction;
  if (own) await c.query('BEGIN');
  try {
    // Waiting on the application's row locks costs the budget too: past the timeout the batch
    // changes nothing and the caller tries again.
    if (own)
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [
        `${Math.max(1, Math.round(batch.lockTimeoutMs ?? 1000))}ms`,
      ]);
    const key = q(batch.key.name);
    const name = q(table.name);
    const params = [tenantId, ...(batch.params ?? []), batch.limit];
    const limit = `$${params.length}`;
    let where = `${q(table.tenantKey)} = $1${batch.where ? ` AND ${batch.where}` : ''}`;
    if (batch.afterKey !== undefined) {
      params.push(batch.afterKey);
      // The type comes from the catalog (format_type), never from any input.
      where += ` AND ${key} > $${params.length}::text::${batch.key.type}`;
    }
    const change = batch.clear
      ? `UPDATE ${name} x SET ${batch.clear.map((col) => `${q(col)} = NULL`).join(', ')} FROM victims`
      : `DELETE FROM ${name} x USING victims`;
    const { rows } = await c.query(
      `WITH victims AS (
         SELECT ${key} AS k FROM ${name} WHERE ${where}
          ORDER BY ${key} LIMIT ${limit} FOR UPDATE
       ), changed AS (
         ${change} WHERE x.${q(table.tenantKey)} = $1 AND x.${key} = victims.k
         RETURNING x.${key} AS k
       )
       SELECT count(*)::int AS n, ((array_agg(k ORDER BY k))[1])::text AS first,
              ((array_agg(k ORDER BY k DESC))[1])::text AS last FROM changed`,
      params,
    );
    const { n, first, last } = rows[0] as { n: number; first: string | null; last: string | null };
    if (n > 0) {
      const recordKey = batch.recordKey(first!);
      const entry: LedgerEntry = { ...batch.entry, tenantId, target: table.name, count: n, recordKey };
      await c.query(
        `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry, first_key, last_key)
         VALUES ($1, $2, $3, $4, $5)`,
        [
          recordKey,
          tenantId,
          JSON.stringify(entry),
          batch.keysInOutbox ? first : null,
          batch.keysInOutbox ? last : null,
        ],
      );
    }
    if (own) await c.query('COMMIT');
    return { changed: n, ...(last ? { lastKey: last } : {}), lockMs: performance.now() - started };
  } catch (err) {
    if (own) await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Deletes, or anonymizes (`UPDATE … SET column = NULL`), up to `limit` of the subject's rows in
 * primary key order, in one transaction with its outbox record (kind `erasure.delete` or
 * `erasure.anonymize`). A deleting batch leaves rows other rows reference. The record's key ends
 * with the first key the batch took, which no other batch takes, or with `subject` where the key
 * is the subject itself (then the table holds one row of the subject). A batch that finds
 * nothing records nothing.
 */
export async function eraseSubjectBatch(
  c: pg.ClientBase,
  table: ErasureTable,
  scope: ErasureScope,
  batch: {
    key: BatchKey;
    mode: 'delete' | 'anonymize';
    /** The columns an anonymizing batch clears; they include the subject key. */
    columns?: readonly string[];
    limit: number;
    /** The record key's start (erasure, store, table); the first key taken completes it. */
    recordKeyPrefix: string;
    /** How long to wait for a row lock the application holds (default 1 s). */
    lockTimeoutMs?: number;
    /** The caller's open transaction holds the batch (see KeyedBatch.inTransaction). */
    inTransaction?: boolean;
    entry: ErasureEntry;
  },
): Promise<ErasureBatchResult> {
  const columns = batch.columns ?? [];
  // A row that still names its subject after the batch would be found by every later batch.
  if (batch.mode === 'anonymize' && !columns.includes(table.subjectKey))
    throw new Error(`anonymizing ${table.name} must clear its subject key ${table.subjectKey}`);
  if ((await asColumnValues(c, batch.key, [scope.subject])).length === 0) return { erased: 0, lockMs: 0 };
  const unreferenced =
    batch.mode === 'delete' && batch.key.referenced ? ` AND NOT (${batch.key.referenced})` : '';
  const keyIsSubject = batch.key.name === table.subjectKey;
  const { changed, lockMs } = await changeKeyedBatch(c, table, scope.tenantId, {
    key: batch.key,
    where: `${subjectIs(table, batch.key)}${unreferenced}`,
    params: [scope.subject],
    ...(batch.mode === 'anonymize' ? { clear: columns } : {}),
    limit: batch.limit,
    ...(batch.lockTimeoutMs !== undefined ? { lockTimeoutMs: batch.lockTimeoutMs } : {}),
    ...(batch.inTransaction ? { inTransaction: true } : {}),
    recordKey: (first) => `${batch.recordKeyPrefix}:${keyIsSubject ? 'subject' : first}`,
    keysInOutbox: !keyIsSubject,
    entry: {
      ...batch.entry,
      kind: batch.mode === 'delete' ? 'erasure.delete' : 'erasure.anonymize',
      unit: 'rows',
    },
  });
  return { erased: changed, lockMs };
}

/** The count of each outbox record whose key starts with `recordKeyPrefix`, by record key. */
export async function outboxCounts(
  c: pg.ClientBase,
  tenantId: string,
  recordKeyPrefix: string,
): Promise<Map<string, number>> {
  const { rows } = await c.query<{ record_key: string; count: number }>(
    `SELECT record_key, (entry->>'count')::int AS count FROM landlord.deletion_outbox
      WHERE tenant_id = $1 AND starts_with(record_key, $2)`,
    [tenantId, recordKeyPrefix],
  );
  return new Map(rows.map((r) => [r.record_key, r.count]));
}

/**
 * Records that an erasure found nothing of the subject in a target, or an offboarding's deletion
 * nothing of the tenant (`<prefix>:none`, count 0), so that the ledger says so; recording it again
 * adds nothing.
 */
export async function recordNothingErased(
  c: pg.ClientBase,
  record: {
    tenantId: string;
    target: string;
    recordKeyPrefix: string;
    entry: Omit<LedgerEntry, 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt'>;
  },
): Promise<void> {
  const recordKey = `${record.recordKeyPrefix}:none`;
  const entry: LedgerEntry = {
    ...record.entry,
    tenantId: record.tenantId,
    target: record.target,
    count: 0,
    recordKey,
  };
  await c.query(
    `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ($1, $2, $3)
     ON CONFLICT (record_key) DO NOTHING`,
    [recordKey, record.tenantId, JSON.stringify(entry)],
  );
}
