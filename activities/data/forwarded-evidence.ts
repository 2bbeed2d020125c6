/** What of a deleter's evidence the ledger already holds, for counts that stay exact across calls. */
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
