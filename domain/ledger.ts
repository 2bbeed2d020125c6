/**
 * The deletion ledger: one record per deletion Landlord makes (a retention batch, an erasure, an
 * offboarding's final deletion, an expired backup, the rows a restore replaced), hash-chained so
 * that a changed or missing record shows. No personal data: a data subject appears only as an
 * HMAC keyed per tenant.
 */

export const LEDGER_KINDS = [
  'retention.delete',
  'retention.objects',
  'erasure.delete',
  'erasure.anonymize',
  'offboard.delete',
  'backup.expire',
  'restore.replace',
] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** What a deleter records. */
export interface LedgerEntry {
  kind: LedgerKind;
  tenantId: string;
  region: string;
  /** The database the rows were in (absent for storage objects). */
  database?: string;
  /** The table, or the storage prefix. */
  target: string;
  dataClass?: string;
  count: number;
  unit: 'rows' | 'objects';
  /** The policy and its values that made the deletion due (e.g. `{ days: 30, source: 'tier' }`). */
  policy?: Record<string, unknown>;
  runId?: string;
  operationId?: string;
  /** Who asked: an API principal, or `schedule:<id>`. */
  requestedBy: string;
  /** A data subject, as an HMAC keyed per tenant; never the subject itself. */
  subjectHmac?: string;
  /** When the deletion committed (ISO), where that is earlier than the record (a batch's outbox). */
  deletedAt?: string;
  /** Unique per deletion (e.g. run, tenant, table and batch): a retried write records nothing twice. */
  recordKey: string;
}

export interface LedgerRecord extends LedgerEntry {
  seq: number;
  at: string;
  /** The hash of the record before (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 over prevHash and the record's canonical JSON (RFC 8785). */
  hash: string;
}

export const LEDGER_GENESIS = '0'.repeat(64);

/** The answer of a verification: the chain holds up to its head, or where it first breaks. */
export type LedgerVerification =
  | { ok: true; records: number; head: string }
  | { ok: false; records: number; brokenAt: number; reason: string };
