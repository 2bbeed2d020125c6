/** What of a deleter's evidence the ledger already holds, for counts that stay exact across calls. */
import type pg from 'pg';
import { outboxCounts } from '../../dataplane/erasure.js';
import type { LedgerKind } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';

const LEDGER_PAGE = 500;
const DAY_MS = 86_400_000;

/**
 * The ledger's records of `kinds` for the tenant whose record key starts with `prefix`, as record
 * key → count, looking no further back than a day before `since` (nothing of the deletion is older
 * than its request; the day covers clocks that differ). Read once per call: no forwarding of the
 * tenant's outbox runs while the deletion does (a tenant's operations run one at a time).
 */
export async function forwardedRecordCounts(
  store: Pick<Registry, 'ledger'>,
  {
    tenantId,
    kinds,
    prefix,
    since,
  }: { tenantId: string; kinds: readonly LedgerKind[]; prefix: string; since?: string },
): Promise<Map<string, number>> {
  const from = since ? new Date(Date.parse(since) - DAY_MS).toISOString() : undefined;
  const records = new Map<string, number>();
  for (const kind of kinds) {
    let afterSeq = 0;
    for (;;) {
      const page = await store.ledger.list({
        tenantId,
        kind,
        ...(from ? { from } : {}),
        afterSeq,
        limit: LEDGER_PAGE,
      });
      for (const r of page) if (r.recordKey.startsWith(prefix)) records.set(r.recordKey, r.count);
      if (page.length < LEDGER_PAGE) break;
      afterSeq = page.at(-1)!.seq;
    }
  }
  return records;
}

/**
 * Every record of a deletion in one store, by record key: those forwarded already (`forwarded`,
 * read once per call) and those still in the store's outbox.
 */
export async function recordedEvidence(
  c: pg.ClientBase,
  tenantId: string,
  storePrefix: string,
  forwarded: ReadonlyMap<string, number>,
): Promise<Map<string, number>> {
  const records = new Map(forwarded);
  for (const [key, n] of await outboxCounts(c, tenantId, storePrefix)) records.set(key, n);
  return records;
}

/** What the committed batches of one target did, from their records: the sum, and how many. */
export function tallyOf(
  records: ReadonlyMap<string, number>,
  targetPrefix: string,
): { count: number; batches: number } {
  const prefix = `${targetPrefix}:`;
  let [count, batches] = [0, 0];
  for (const [key, n] of records)
    if (key.startsWith(prefix)) {
      count += n;
      batches += 1;
    }
  return { count, batches };
}
