/**
 * Data-subject erasure (GDPR Art. 17; docs/erasure-and-offboarding.md): a request to erase one
 * subject's data from a tenant, carried out by an `erase-subject` operation. Rows are deleted, or
 * anonymized where the manifest says a table's rows must survive; objects under the subject's
 * folders go too. The subject itself is kept only until it is erased: after that the registry
 * holds its per-tenant HMAC, in the ledger and in the tenant's erasure list.
 */
import type { ErrorInfo } from './errors.js';
import { holdCovers } from './legal-hold.js';
import type { LegalHold } from './legal-hold.js';
import type { DataPlaneManifest } from './manifest.js';

/**
 * Where a request stands. `queued` until its operation starts; `blocked-by-hold` while a legal
 * hold covers the subject or one of its data classes (it goes on once the hold ends); `erased`
 * once every store is done; `failed` or `cancelled` as its operation ended.
 */
export const ERASURE_STATUSES = [
  'queued',
  'erasing',
  'blocked-by-hold',
  'erased',
  'failed',
  'cancelled',
] as const;
export type ErasureStatus = (typeof ERASURE_STATUSES)[number];

/** What an erasure did in one table or storage prefix of one store (the primary or its standby). */
export interface ErasureCount {
  store: 'primary' | 'standby';
  region: string;
  /** The database (absent for storage objects). */
  database?: string;
  /** The table, or the storage prefix. */
  target: string;
  /** `delete` (rows or objects gone) or `anonymize` (rows kept, the subject's columns cleared). */
  mode: 'delete' | 'anonymize';
  unit: 'rows' | 'objects';
  count: number;
}

export interface ErasureRequest {
  id: string;
  tenantId: string;
  /** The `erase-subject` operation carrying it out, once asked for. */
  operationId?: string;
  status: ErasureStatus;
  reason: string;
  /** When the controller received the data subject's request (ISO). */
  receivedAt: string;
  /** receivedAt plus the configured answer period (30 days, GDPR Art. 12(3)). */
  dueBy: string;
  /** Not erased by `dueBy`. */
  overdue: boolean;
  requestedBy: string;
  /** The subject as an HMAC keyed per tenant, once the erasure has begun. */
  subjectHmac?: string;
  counts: ErasureCount[];
  /** The holds it waits for while `blocked-by-hold`. */
  blockedBy?: string[];
  error?: ErrorInfo;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** One line of a tenant's erasure list: what a restore re-applies to a backup taken before `erasedAt`. */
export interface ErasureListEntry {
  tenantId: string;
  erasureId: string;
  subjectHmac: string;
  erasedAt: string;
}

/** Subject keys are values of application columns: printable text of 1 to 256 characters. */
export const SUBJECT_MAX_LENGTH = 256;

/**
 * Whether a request is past its due date at `at` (ISO) and not erased: failed, cancelled and held
 * requests count too, since the answer to the subject is still owed.
 */
export const erasureOverdue = (r: Pick<ErasureRequest, 'status' | 'dueBy'>, at: string): boolean =>
  r.status !== 'erased' && at > r.dueBy;

/**
 * The data classes an erasure touches: those of the manifest's tables with a subject key, and of
 * its storage areas kept in folders per subject.
 */
export function erasureDataClasses(manifest: Pick<DataPlaneManifest, 'tables' | 'storage'>): string[] {
  const classes = [
    ...manifest.tables.filter((t) => t.subjectKey).map((t) => t.dataClass),
    ...manifest.storage.filter((a) => a.subjectFolders).map((a) => a.dataClass),
  ];
  return [...new Set(classes)];
}

/**
 * The holds that keep a subject's erasure waiting at `at`: one that holds the whole tenant, names
 * the subject, or names a data class the erasure touches. An erasure is all or nothing while
 * held, so that what it reports as erased is all of the subject's data.
 */
export function holdsBlockingErasure(
  holds: readonly LegalHold[],
  dataClasses: readonly string[],
  subject: string,
  at: string,
): LegalHold[] {
  return holds.filter(
    (h) =>
      holdCovers(h, { subject }, at) || dataClasses.some((dataClass) => holdCovers(h, { dataClass }, at)),
  );
}
