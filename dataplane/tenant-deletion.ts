/**
 * Deleting every row of an offboarded tenant in one database (offboarding's final deletion;
 * docs/erasure-and-offboarding.md), the way erasure and retention delete: short batches in primary
 * key order from a cursor, each in one transaction with its evidence in `landlord.deletion_outbox`
 * (the batch is erasure's, `changeKeyedBatch`), so a worker killed anywhere deletes nothing twice.
 *
 * A row another row still references through a foreign key is never taken: deleting it would
 * cascade into (or null columns of) rows no ledger record covers. The caller empties children
 * before their parents, so a row that stays referenced is referenced from a table the manifest
 * does not list (or lists out of order), and the deletion fails naming that table.
 */
import pg from 'pg';
import { LandlordError } from '../domain/index.js';
import type { LedgerEntry } from '../domain/index.js';
import { changeKeyedBatch } from './erasure.js';
import { foreignKeysInto } from './expiry.js';
import type { BatchKey } from './expiry.js';

const q = pg.escapeIdentifier;

/** A manifest table, as far as deleting a tenant's rows of it goes. */
export interface TenantTable {
  name: string;
  tenantKey: string;
}

/** The record key's start for what one offboarding deleted from one table or storage target of one store. */
export const offboardRecordKeyPrefix = (
  operationId: string,
  store: 'primary' | 'standby',
  target: string,
): string => `offboard:${operationId}:${store}:${target}`;

/** What an offboarding batch records but its kind, unit, tenant, table, count and key, which the batch fills in. */
export type OffboardEntry = Omit<
  LedgerEntry,
  'kind' | 'unit' | 'tenantId' | 'target' | 'count' | 'recordKey' | 'deletedAt'
>;

/**
 * Deletes up to `limit` of the tenant's rows after `afterKey` that no other row references, in one
 * transaction with its outbox record (kind `offboard.delete`, key `<prefix>:<first key deleted>`:
 * a row is deleted once, so no two batches share a key). A batch that finds nothing records nothing.
 */
export async function deleteTenantBatch(
  c: pg.ClientBase,
  table: TenantTable,
  tenantId: string,
  batch: {
    key: BatchKey;
    afterKey?: string;
    limit: number;
    /** The record key's start (offboarding, store, table); the first key deleted completes it. */
    recordKeyPrefix: string;
    /** How long to wait for a row lock the application holds (default 1 s). */
    lockTimeoutMs?: number;
    entry: OffboardEntry;
  },
): Promise<{ deleted: number; lastKey?: string; lockMs: number }> {
  const { changed, ...rest } = await changeKeyedBatch(c, table, tenantId, {
    key: batch.key,
    ...(batch.key.referenced ? { where: `NOT (${batch.key.referenced})` } : {}),
    ...(batch.afterKey !== undefined ? { afterKey: batch.afterKey } : {}),
    limit: batch.limit,
    ...(batch.lockTimeoutMs !== undefined ? { lockTimeoutMs: batch.lockTimeoutMs } : {}),
    recordKey: (first) => `${batch.recordKeyPrefix}:${first}`,
    keysInOutbox: true,
    entry: { ...batch.entry, kind: 'offboard.delete', unit: 'rows' },
  });
  return { deleted: changed, ...rest };
}

/** How many rows of the tenant the table holds. */
export async function tenantRowCount(
  c: pg.ClientBase,
  table: TenantTable,
  tenantId: string,
): Promise<number> {
  const { rows } = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${q(table.name)} WHERE ${q(table.tenantKey)} = $1`,
    [tenantId],
  );
  return rows[0]!.n;
}

/**
 * Fails (non-retryable, naming the tables) when rows of other tables reference the tenant's rows
 * of `table` through a foreign key. Tables in `except` are not looked at: before anything is
 * deleted, the manifest's own, which the deletion empties first.
 */
export async function refuseReferencedRows(
  c: pg.ClientBase,
  table: TenantTable,
  tenantId: string,
  { manifestTables, except = [] }: { manifestTables: readonly string[]; except?: readonly string[] },
): Promise<void> {
  const byTable = new Map<string, string[]>();
  for (const fk of await foreignKeysInto(c, table.name)) {
    const name = fk.childSchema === 'public' ? fk.child : `${fk.childSchema}.${fk.child}`;
    if (fk.childSchema === 'public' && except.includes(fk.child)) continue;
    const exists = `EXISTS (SELECT 1 FROM ${q(fk.childSchema)}.${q(fk.child)} ref WHERE ${fk.pairs
      .map(([childCol, parentCol]) => `ref.${q(childCol)} = p.${q(parentCol)}`)
      .join(' AND ')})`;
    byTable.set(name, [...(byTable.get(name) ?? []), exists]);
  }
  if (byTable.size === 0) return;
  const tables = [...byTable];
  // One pass over the tenant's rows: how many each table references, and how many any does.
  const { rows: counts } = await c.query<Record<string, number>>(
    `SELECT ${tables
      .map(([, exists], i) => `count(*) FILTER (WHERE ${exists.join(' OR ')})::int AS t${i}`)
      .join(
        ', ',
      )}, count(*) FILTER (WHERE ${tables.flatMap(([, exists]) => exists).join(' OR ')})::int AS rows
       FROM ${q(table.name)} p WHERE p.${q(table.tenantKey)} = $1`,
    [tenantId],
  );
  const { rows, ...perTable } = counts[0]!;
  const referencing = tables.flatMap(([name], i) => (perTable[`t${i}`]! > 0 ? [name] : []));
  if (!rows) return;
  const names = referencing
    .map((name) => (manifestTables.includes(name) ? name : `${name} (not in the manifest)`))
    .join(', ');
  throw new LandlordError(
    'DataRejected',
    `${rows} row(s) of the tenant in table ${table.name} are referenced through a foreign key by rows of ${names}, so they were not deleted: a delete would cascade into rows no ledger record covers; delete or detach the referencing rows (or list their table in the manifest, after the tables it references), then offboard again`,
    { table: table.name, rows, referencedBy: referencing },
  );
}
