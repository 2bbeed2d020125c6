/**
 * The ledger's hash chain, in one place for both registries: how a record's hash is computed, and
 * how a chain is verified page by page.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { findUnsafeText, LEDGER_GENESIS } from '../domain/index.js';
import type { LedgerEntry, LedgerRecord, LedgerVerification } from '../domain/index.js';

// canonicalize (RFC 8785 JSON Canonicalization) is CommonJS whose types declare an ES default
// export; loading it with require gives the function itself under every module setting.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string | undefined;

const ENTRY_FIELDS = [
  'kind',
  'tenantId',
  'region',
  'database',
  'target',
  'dataClass',
  'count',
  'unit',
  'policy',
  'runId',
  'operationId',
  'requestedBy',
  'subjectHmac',
  'deletedAt',
  'recordKey',
] as const satisfies readonly (keyof LedgerEntry)[];

/**
 * Exactly the fields a record stores, nothing a caller's object carries besides, so that what is
 * hashed is what is stored; text the registry cannot store exactly (NUL, lone surrogates) is refused.
 */
export function ledgerEntryOf(entry: LedgerEntry): LedgerEntry {
  const picked = Object.fromEntries(
    ENTRY_FIELDS.filter((f) => entry[f] !== undefined).map((f) => [f, entry[f]]),
  ) as unknown as LedgerEntry;
  const unsafe = findUnsafeText(picked)[0];
  if (unsafe) throw new Error(`ledger entry ${unsafe.path.join('.')} ${unsafe.message}`);
  return JSON.parse(JSON.stringify(picked)) as LedgerEntry;
}

/** Throws unless a record already under `entry`'s key is that same entry (a retried append). */
export function sameEntryOrThrow(existing: LedgerRecord, entry: LedgerEntry): void {
  const stored = ledgerEntryOf(existing);
  if (canonicalize(stored) !== canonicalize(entry))
    throw new Error(
      `ledger record key ${entry.recordKey} already holds a different record (seq ${existing.seq})`,
    );
}

/** SHA-256 (hex) over the previous hash and the record's canonical JSON, its own hash left out. */
export function ledgerHash(record: Omit<LedgerRecord, 'hash'>): string {
  return createHash('sha256')
    .update(`${record.prevHash}\n${canonicalize(record) ?? ''}`)
    .digest('hex');
}

/** Checks every record in `seq` order: each one's hash, and its link to the one before. */
export async function verifyLedger(
  page: (afterSeq: number, limit: number) => Promise<LedgerRecord[]>,
  pageSize = 1000,
): Promise<LedgerVerification> {
  let previous: LedgerRecord | undefined;
  let records = 0;
  for (;;) {
    const rows = await page(previous?.seq ?? 0, pageSize);
    for (const record of rows) {
      const { hash, ...rest } = record;
      const expectedPrev = previous?.hash ?? LEDGER_GENESIS;
      const expectedSeq = (previous?.seq ?? 0) + 1;
      if (record.seq !== expectedSeq)
        return { ok: false, records, brokenAt: expectedSeq, reason: 'the record is missing' };
      if (record.prevHash !== expectedPrev)
        return {
          ok: false,
          records,
          brokenAt: record.seq,
          reason: 'its link to the record before does not match',
        };
      if (ledgerHash(rest) !== hash)
        return { ok: false, records, brokenAt: record.seq, reason: 'its content does not match its hash' };
      previous = record;
      records += 1;
    }
    if (rows.length < pageSize) break;
  }
  return { ok: true, records, head: previous?.hash ?? LEDGER_GENESIS };
}
