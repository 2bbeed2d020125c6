/**
 * Erasures applied again after a restore (docs/erasure-and-offboarding.md, docs/disaster-recovery.md):
 * a backup taken before a data subject was erased still holds the subject's rows, so every entry
 * of the tenant's erasure list from the backup's snapshot on is applied to the restored rows
 * before they go live, the same way erase-subject applies it (dataplane/erasure.ts), with its
 * evidence in the restored database's deletion outbox.
 */
import pg from 'pg';
import { LandlordError, tableErasure } from '../../domain/index.js';
import type { DataPlaneManifest, ErasureListEntry, LedgerEntry, TableErasure } from '../../domain/index.js';
import {
  checkAnonymizable,
  countSubjectRows,
  eraseSubjectBatch,
  outboxCounts,
  recordNothingErased,
} from '../../dataplane/erasure.js';
import type { ErasureTable } from '../../dataplane/erasure.js';
import { batchKeyOf } from '../../dataplane/expiry.js';
import type { BatchKey } from '../../dataplane/expiry.js';
import { tallyOf } from './forwarded-evidence.js';

const q = pg.escapeIdentifier;
/**
 * Rows per batch. The batches run inside the restore's own transaction, so the size bounds one
 * statement, not how long locks are held.
 */
const ERASURE_BATCH = 5_000;
/** Distinct subject values read per query while matching the restored rows against the erasure list. */
const SUBJECT_PAGE = 5_000;

/** What re-applying the erasure list to restored rows did. */
export interface ErasureReapplication {
  /** Erasure list entries from the backup's snapshot on (less the clock margin): each looked for. */
  erasuresChecked: number;
  /** Of those, the ones whose subject had rows in the backup, now erased again. */
  erasuresReapplied: number;
  /** Rows deleted or anonymized by re-application. */
  rowsErased: number;
}

/** What reapplyErasures takes. */
export interface ReapplyErasuresInput {
  manifest: Pick<DataPlaneManifest, 'tables'>;
  tenantId: string;
  /** The erasure list's entries to apply again (those from about the backup's snapshot on). */
  erasures: readonly ErasureListEntry[];
  /** The tenant's subject HMAC (TenantKeyring.withSubjectHmac): how the restored rows' subjects are compared. */
  hmac: (subject: string) => string;
  /** Record keys start `<prefix>:<erasure>:<table>:`; `restore:<operation>:<run>` for a restore. */
  recordKeyPrefix: string;
  /** What each evidence record says of where the rows are and who asked. */
  entry: Pick<LedgerEntry, 'region' | 'database' | 'operationId' | 'requestedBy' | 'policy'>;
  /** Called after each batch and page (heartbeats, cancellation). */
  onBatch?: () => void;
}

/** What reapplyErasures did, from its evidence: the counts, and rows deleted per table. */
export interface ReappliedErasures extends ErasureReapplication {
  deleted: Record<string, number>;
}

/**
 * Applies erasures of the tenant's erasure list again to its rows in the database `c` is connected
 * to, inside the caller's open transaction: each subject whose HMAC is on the list has its rows
 * deleted or anonymized as the manifest says (children first), with dataplane/erasure.ts's batches,
 * each with its `erasure.delete` / `erasure.anonymize` record in the deletion outbox; an entry with
 * nothing in a table gets a record of count 0 there. Subjects are known only by HMAC, so each
 * distinct subject value of the restored rows is hashed as the column prints it, and lower- and
 * upper-cased (a UUID an erasure request wrote in capitals). Counts come from the outbox, so a
 * second pass over the same rows (a retried switch) erases and records nothing twice.
 */
export async function reapplyErasures(
  c: pg.ClientBase,
  input: ReapplyErasuresInput,
): Promise<ReappliedErasures> {
  const { tenantId, erasures, hmac, recordKeyPrefix, onBatch } = input;
  const tables: (ErasureTable & { timestampColumn: string; dataClass: string; erasure: TableErasure })[] = [
    ...input.manifest.tables,
  ]
    .reverse()
    .flatMap((t) => (t.subjectKey ? [{ ...t, subjectKey: t.subjectKey, erasure: tableErasure(t) }] : []));
  if (erasures.length === 0 || tables.length === 0)
    return { erasuresChecked: erasures.length, erasuresReapplied: 0, rowsErased: 0, deleted: {} };

  const keys = new Map<string, BatchKey>();
  for (const t of tables) keys.set(t.name, await batchKeyOf(c, t));
  for (const t of tables)
    if (t.erasure.mode === 'anonymize') await checkAnonymizable(c, t, t.erasure.columns);

  const wanted = new Map<string, string[]>();
  for (const e of erasures) wanted.set(e.subjectHmac, [...(wanted.get(e.subjectHmac) ?? []), e.erasureId]);
  // Each erasure's subject, written as it matched (the form whose HMAC is on the list).
  const subjects = new Map<string, string>();
  for (const t of tables) {
    const column = q(t.subjectKey);
    // The type comes from the catalog (format_type), never from any input.
    const type = keys.get(t.name)!.subjectType!;
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: { v: string }[] } = await c.query(
        `SELECT s::text AS v FROM (
           SELECT DISTINCT ${column} AS s FROM public.${q(t.name)}
            WHERE ${q(t.tenantKey)} = $1 AND ${column} IS NOT NULL
              AND ($2::text IS NULL OR ${column} > $2::text::${type})
            ORDER BY 1 LIMIT ${SUBJECT_PAGE}) d
          ORDER BY s`,
        [tenantId, after],
      );
      for (const { v } of rows)
        for (const form of new Set([v, v.toLowerCase(), v.toUpperCase()]))
          for (const id of wanted.get(hmac(form)) ?? []) if (!subjects.has(id)) subjects.set(id, form);
      onBatch?.();
      if (rows.length < SUBJECT_PAGE) break;
      after = rows.at(-1)!.v;
    }
  }

  const prefixOf = (erasureId: string, table: string) => `${recordKeyPrefix}:${erasureId}:${table}`;
  const entryOf = (e: ErasureListEntry, dataClass: string) => ({
    ...input.entry,
    dataClass,
    subjectHmac: e.subjectHmac,
    policy: { ...input.entry.policy, erasureId: e.erasureId },
  });
  for (const e of erasures) {
    const subject = subjects.get(e.erasureId);
    if (subject === undefined) continue;
    const scope = { tenantId, subject };
    for (const t of tables) {
      const key = keys.get(t.name)!;
      for (;;) {
        const { erased } = await eraseSubjectBatch(c, t, scope, {
          key,
          mode: t.erasure.mode,
          ...(t.erasure.mode === 'anonymize' ? { columns: t.erasure.columns } : {}),
          limit: ERASURE_BATCH,
          recordKeyPrefix: prefixOf(e.erasureId, t.name),
          inTransaction: true,
          entry: entryOf(e, t.dataClass),
        });
        onBatch?.();
        if (erased < ERASURE_BATCH) break;
      }
      if (t.erasure.mode === 'delete') {
        // As erase-subject does: no cascade deletes rows behind the ledger's back.
        const { referenced } = await countSubjectRows(c, t, key, scope);
        if (referenced > 0)
          throw new LandlordError(
            'DataRejected',
            `${referenced} restored row(s) of erasure ${e.erasureId}'s subject in table ${t.name} are still referenced by other rows through a foreign key, so they cannot be erased again; the manifest should name the referencing table's subject key`,
            { table: t.name, referenced, erasureId: e.erasureId },
          );
      }
    }
  }

  let records = await outboxCounts(c, tenantId, `${recordKeyPrefix}:`);
  for (const e of erasures)
    for (const t of tables)
      if (tallyOf(records, prefixOf(e.erasureId, t.name)).batches === 0)
        await recordNothingErased(c, {
          tenantId,
          target: t.name,
          recordKeyPrefix: prefixOf(e.erasureId, t.name),
          entry: {
            ...entryOf(e, t.dataClass),
            kind: t.erasure.mode === 'delete' ? 'erasure.delete' : 'erasure.anonymize',
            unit: 'rows',
          },
        });
  records = await outboxCounts(c, tenantId, `${recordKeyPrefix}:`);

  const result: ReappliedErasures = {
    erasuresChecked: erasures.length,
    erasuresReapplied: 0,
    rowsErased: 0,
    deleted: {},
  };
  for (const e of erasures) {
    let erased = 0;
    for (const t of tables) {
      const { count } = tallyOf(records, prefixOf(e.erasureId, t.name));
      erased += count;
      if (t.erasure.mode === 'delete') result.deleted[t.name] = (result.deleted[t.name] ?? 0) + count;
    }
    result.rowsErased += erased;
    if (erased > 0) result.erasuresReapplied += 1;
  }
  return result;
}
