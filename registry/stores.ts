/**
 * The registry: the API's database and the workflows' projection target, one store per concern.
 * Postgres implements them (registry/postgres/); an in-memory Registry (registry/memory.ts) lets
 * API tests and pure tests run without a server. The same contract suite runs against both.
 */
import type {
  ApiKeyRecord,
  AuditEvent,
  ErasureCount,
  ErasureListEntry,
  ErasureRequest,
  ErrorInfo,
  LedgerEntry,
  LedgerKind,
  LegalHold,
  LedgerRecord,
  LedgerVerification,
  OperationKind,
  OperationSnapshot,
  OperationStatus,
  ReplicationStatus,
  RetentionRun,
  RetentionRunRequest,
  TenantBackup,
  RetentionRunStatus,
  RetentionTenantPart,
  Role,
  StepProgress,
  TenantRecord,
  TenantKeyDestruction,
  TenantKeyInfo,
  TenantExport,
  TenantStatus,
  VerificationResult,
  VerificationRun,
  VerificationRunDetail,
  VerificationRunRequest,
} from '../domain/index.js';

export interface TenantFilter {
  tier?: string;
  region?: string;
  status?: TenantStatus;
  limit: number;
  /** Cursor from a previous page (CURSOR_PATTERN). */
  cursor?: string;
}

export interface TenantStore {
  /** Writes the tenant's projection; an older version never overwrites a newer one. */
  upsert(tenant: TenantRecord): Promise<void>;
  get(id: string): Promise<TenantRecord | undefined>;
  /** Keyset pages on (createdAt, id): stable while tenants are added. */
  list(filter: TenantFilter): Promise<{ items: TenantRecord[]; nextCursor?: string }>;
}

export interface OperationFilter {
  status?: OperationStatus | 'waiting-approval';
  tenantId?: string;
  kind?: OperationKind;
  limit: number;
}

export interface OperationStore {
  /** Writes an operation snapshot; an older version never overwrites a newer one. */
  upsert(operation: OperationSnapshot): Promise<void>;
  /** A failed attempt of a step, shown on the running step; a repeat is a no-op. */
  recordStepFailure(
    operationId: string,
    run: number,
    step: string,
    attempt: number,
    error: ErrorInfo,
  ): Promise<void>;
  /** Latest progress of a long step; shown on the step while it runs. */
  recordStepProgress(operationId: string, run: number, step: string, progress: StepProgress): Promise<void>;
  /** The operation with live attempt counts and progress merged into its running steps. */
  get(id: string): Promise<OperationSnapshot | undefined>;
  /** A tenant's operations, oldest first. */
  listForTenant(tenantId: string): Promise<OperationSnapshot[]>;
  /**
   * Operations across tenants, most recently changed first: those of a status, or running with a
   * step waiting for approval (`waiting-approval`); of one tenant or kind when given.
   */
  list(filter: OperationFilter): Promise<OperationSnapshot[]>;
  /**
   * Resolves as soon as operation `id` is no longer running (or does not exist), or after
   * `timeoutMs`, or when `signal` aborts, whichever comes first.
   */
  waitUntilEnded(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

/** An audit event to append: the stored event less what the registry assigns, plus its dedup key. */
export type AuditInput = Omit<AuditEvent, 'seq' | 'at' | 'detail'> & {
  /** Makes a retried append a no-op. */
  eventKey: string;
  detail?: Record<string, unknown>;
};

export interface AuditFilter {
  /** A tenant's events; `null`: only events about no tenant (API keys, fleet-wide runs). */
  tenantId?: string | null;
  action?: string;
  actor?: string;
  outcome?: string;
  /** Events at or after / before this ISO time. */
  since?: string;
  until?: string;
  /** Events after this sequence number (the previous page's last). */
  afterSeq?: number;
  limit: number;
}

export interface AuditStore {
  /** Appends an event; a retried append with the same key is a no-op. */
  append(event: AuditInput): Promise<void>;
  /** Events in sequence order. */
  list(filter: AuditFilter): Promise<AuditEvent[]>;
}

export interface LedgerFilter {
  tenantId?: string;
  kind?: LedgerKind;
  /** Records at or after this time (ISO). */
  from?: string;
  /** Records before this time (ISO). */
  to?: string;
  afterSeq?: number;
  limit: number;
}

export interface LedgerStore {
  /**
   * Appends a record as the chain's next link and returns it; appending the same `recordKey`
   * again returns the record made the first time and adds nothing.
   */
  append(entry: LedgerEntry): Promise<LedgerRecord>;
  /** Records in chain order. */
  list(filter: LedgerFilter): Promise<LedgerRecord[]>;
  /** Recomputes the chain from the first record. */
  verify(): Promise<LedgerVerification>;
}

export interface PlaceHold {
  tenantId: string;
  reason: string;
  dataClasses?: string[];
  subjects?: string[];
  until?: string;
  createdBy: string;
}

export interface LegalHoldStore {
  place(hold: PlaceHold): Promise<LegalHold>;
  get(tenantId: string, id: string): Promise<LegalHold | undefined>;
  /** A tenant's holds, oldest first, released ones included. */
  list(tenantId: string): Promise<LegalHold[]>;
  /** Releases a hold: `released` now, `already` before (the hold as it was released), or `unknown`. */
  release(
    tenantId: string,
    id: string,
    by: { releasedBy: string; reason: string },
  ): Promise<{ outcome: 'released' | 'already'; hold: LegalHold } | { outcome: 'unknown' }>;
}

export interface RetentionRunStore {
  /** Records a run as started; starting it again (a retried activity) returns it as it is. */
  start(run: RetentionRunRequest): Promise<RetentionRun>;
  /** How many tenants the run goes over, once counted. */
  setTotal(id: string, total: number): Promise<void>;
  /** A tenant's part, once it has ended; recording it again replaces it. */
  recordPart(id: string, part: RetentionTenantPart): Promise<void>;
  finish(
    id: string,
    status: Exclude<RetentionRunStatus, 'running'>,
    error?: RetentionRun['error'],
  ): Promise<void>;
  /** The run with its progress and totals. */
  get(id: string): Promise<RetentionRun | undefined>;
  /** Newest first; `before`: the id of the previous page's last run. */
  list(filter: { limit: number; before?: string }): Promise<RetentionRun[]>;
  /** A run's tenants' parts in tenant id order, after `afterTenant`. */
  parts(id: string, filter: { limit: number; afterTenant?: string }): Promise<RetentionTenantPart[]>;
  /** The tenant's part in its latest real (not dry) run that succeeded for it, other than `exceptRun`. */
  lastRealPart(tenantId: string, exceptRun: string): Promise<RetentionTenantPart | undefined>;
}

export interface NewErasure {
  tenantId: string;
  subject: string;
  reason: string;
  receivedAt: string;
  dueBy: string;
  requestedBy: string;
}

/**
 * Data-subject erasure requests and each tenant's erasure list (domain/erasure.ts). A request's
 * status is what its operation did where that ended it (failed, cancelled), else what its erasure
 * recorded. The subject is kept until the request is erased, then only its HMAC.
 */
export interface ErasureStore {
  /** Records a request before its operation is asked for (status `queued`). */
  create(request: NewErasure): Promise<ErasureRequest>;
  /** Names the operation that carries the request out. */
  attach(tenantId: string, id: string, operationId: string): Promise<void>;
  /** Forgets a request whose operation was refused: nothing was done for it. */
  discard(tenantId: string, id: string): Promise<void>;
  get(tenantId: string, id: string): Promise<ErasureRequest | undefined>;
  /** A tenant's requests, newest first; `before`: the id of the previous page's last. */
  list(tenantId: string, filter: { limit: number; before?: string }): Promise<ErasureRequest[]>;
  /** The subject of a request not yet erased; undefined once it is (or for an unknown request). */
  subjectOf(tenantId: string, id: string): Promise<string | undefined>;
  /** Where a request stands while its operation runs: erasing, or waiting for the holds named. */
  progress(
    tenantId: string,
    id: string,
    update: {
      status: 'erasing' | 'blocked-by-hold';
      subjectHmac?: string;
      counts?: ErasureCount[];
      blockedBy?: string[];
    },
  ): Promise<void>;
  /**
   * Ends a request as erased: its counts recorded, its subject forgotten, its HMAC appended to the
   * tenant's erasure list. Completing it again returns the entry made the first time.
   */
  complete(
    tenantId: string,
    id: string,
    result: { subjectHmac: string; counts: ErasureCount[] },
  ): Promise<ErasureListEntry>;
  /** The tenant's erasure list in the order erased, from `since` (ISO) on when given. */
  erasureList(tenantId: string, filter?: { since?: string }): Promise<ErasureListEntry[]>;
  /** How many requests are past their due date at `at` and not erased. */
  countOverdue(at: string): Promise<number>;
}

export interface NewTenantKey {
  tenantId: string;
  keyId: string;
  kekId: string;
  /** The data key as its KEK wrapped it (never the key itself). */
  wrapped: string;
}

/** A tenant's key as the registry holds it: `wrapped` is gone once the key is destroyed. */
export type StoredTenantKey = TenantKeyInfo & { wrapped?: string };

/** Tenants' data keys, wrapped (domain/keys.ts): one per tenant, destroyed but never deleted. */
export interface TenantKeyStore {
  /**
   * Records the tenant's key; when the tenant already has one (live or destroyed, a racing
   * writer's included), returns that one and records nothing: a tenant never has a second key.
   */
  create(key: NewTenantKey): Promise<TenantKeyInfo>;
  get(tenantId: string): Promise<StoredTenantKey | undefined>;
  /** Forgets the wrapped key for good and notes who did: `destroyed` now, `already` before, or `unknown`. */
  destroy(tenantId: string, destroyedBy: string): Promise<TenantKeyDestruction>;
}

/** An export to record: as the registry will hold it, less its verification. */
export type NewExport = Omit<TenantExport, 'verifiedAt'>;

/**
 * Tenants' exports (domain/export.ts): each recorded once its sealed archive is in place, and
 * afterwards changed only by its first verification.
 */
export interface ExportStore {
  /**
   * Records an export; recording the same id again (a retried or re-run step) returns the export
   * recorded first and changes nothing.
   */
  record(exported: NewExport): Promise<TenantExport>;
  get(tenantId: string, id: string): Promise<TenantExport | undefined>;
  /** A tenant's exports, newest first. */
  list(tenantId: string): Promise<TenantExport[]>;
  /**
   * Notes that the export's counts and checksums matched at `at` (ISO); a later call keeps the
   * first time. Undefined for an unknown export.
   */
  markVerified(tenantId: string, id: string, at: string): Promise<TenantExport | undefined>;
}

/** A backup to record: as the catalog will hold it, while it is available and unverified. */
export type NewBackup = Omit<TenantBackup, 'status' | 'expiredAt' | 'verifiedAt'>;

/**
 * The backup catalog (domain/backup.ts): each backup recorded once its sealed file is in place;
 * afterwards changed only by a verification that found it whole and by its expiry.
 */
export interface BackupStore {
  /**
   * Records a backup; recording the same id again (a retried or re-run step) returns the backup
   * recorded first and changes nothing.
   */
  record(backup: NewBackup): Promise<TenantBackup>;
  get(tenantId: string, id: string): Promise<TenantBackup | undefined>;
  /** A tenant's backups, newest first, expired ones included (they stay in the catalog). */
  list(tenantId: string): Promise<TenantBackup[]>;
  /** The tenant's newest available backup taken at or before `atOrBefore` (ISO; absent: any). */
  latest(tenantId: string, atOrBefore?: string): Promise<TenantBackup | undefined>;
  /** The tenant's available backups whose expiresAt is at or before `at`, oldest first. */
  expiring(tenantId: string, at: string): Promise<TenantBackup[]>;
  /** When each of `tenantIds` last had a backup taken (available or not); absent: never. */
  lastTakenAt(tenantIds: readonly string[]): Promise<Map<string, string>>;
  /** Notes that a restore found it whole at `at` (ISO; a later time replaces an earlier one). */
  markVerified(tenantId: string, id: string, at: string): Promise<TenantBackup | undefined>;
  /** Marks it expired at `at` (its file deleted); a second call keeps the first time. */
  markExpired(tenantId: string, id: string, at: string): Promise<TenantBackup | undefined>;
}

/**
 * Restore verification runs and each sampled tenant's result (domain/dr-verification.ts). A run's
 * `verified` and `failed` are counted from its results.
 */
export interface VerificationStore {
  /** Records a run as started; starting it again (a retried activity) returns it as it is. */
  start(run: VerificationRunRequest): Promise<VerificationRun>;
  /** How many tenants the run's sample holds, once drawn. */
  setTotal(id: string, total: number): Promise<void>;
  /**
   * A tenant's result; recording one for the same run and tenant again returns the first and
   * changes nothing. Undefined for an unknown run.
   */
  recordResult(result: VerificationResult): Promise<VerificationResult | undefined>;
  /** Ends a running run; a run already ended stays as it ended. */
  finish(id: string, status: 'succeeded' | 'failed', error?: VerificationRun['error']): Promise<void>;
  /** The run with its results in tenant id order. */
  get(id: string): Promise<VerificationRunDetail | undefined>;
  /** Newest first; `before`: the id of the previous page's last run. */
  list(filter: { limit: number; before?: string }): Promise<VerificationRun[]>;
  /**
   * How many tenants, active or suspended, have a latest result (in any run) that failed: each
   * one a backup that would not bring its tenant back today.
   */
  countFailingTenants(): Promise<number>;
  /** Each of `tenantIds`' latest result, where it has one. */
  latestResults(tenantIds: readonly string[]): Promise<Map<string, VerificationResult>>;
}

/**
 * The latest measured state of each DR tenant's replication to its standby
 * (domain/replication.ts): one per tenant, replaced by newer measurements.
 */
export interface ReplicationStore {
  /**
   * Records a measurement as the tenant's latest; one measured before the stored one (a late or
   * retried write) changes nothing.
   */
  put(status: ReplicationStatus): Promise<void>;
  get(tenantId: string): Promise<ReplicationStatus | undefined>;
  /** Every tenant's latest, in tenant id order. */
  list(): Promise<ReplicationStatus[]>;
  /** Forgets the tenant's replication (it has no standby any more); nothing when it had none. */
  delete(tenantId: string): Promise<void>;
}

export interface ApiKeyStore {
  /** Creates a key and returns its secret; the secret is shown once and only its hash is kept. */
  create(input: {
    name: string;
    role: Role;
    createdBy: string;
  }): Promise<{ key: ApiKeyRecord; secret: string }>;
  /** Makes `secret` a valid admin key under a fixed id (LANDLORD_ADMIN_KEY); idempotent. */
  ensureAdmin(id: string, secret: string): Promise<void>;
  hasActiveAdmin(): Promise<boolean>;
  /** The active key with this secret (its last use noted), or undefined. */
  authenticate(secret: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes a key: `revoked` now, `already` revoked before, or `unknown`. */
  revoke(id: string): Promise<'revoked' | 'already' | 'unknown'>;
}

export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'replay'; status: number; headers: Record<string, string>; body: unknown }
  | { state: 'mismatch' }
  | { state: 'in-flight' };

export interface IdempotencySettings {
  /** How long a completed key answers with its first response (default 24 h). */
  ttlMs: number;
  /** How long a key may stay in flight before its request is taken for lost (default 5 min). */
  inFlightStaleMs: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencySettings = {
  ttlMs: 24 * 3_600_000,
  inFlightStaleMs: 5 * 60_000,
};

export interface IdempotencyStore {
  /**
   * Claims `key` for a request, or says how it was used. A key still in flight after
   * `inFlightStaleMs` belongs to an API process that died mid-request (no request waits that long
   * for its workflow): the same request may claim it again. A key completed more than `ttlMs` ago
   * is forgotten: any request may claim it.
   */
  begin(principal: string, key: string, requestHash: string): Promise<IdempotencyBegin>;
  complete(
    principal: string,
    key: string,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<void>;
  /** Forgets a key whose request failed on our side, so the client may try again with it. */
  abandon(principal: string, key: string): Promise<void>;
  /** Deletes up to `batch` expired keys; returns how many. */
  purgeExpired(batch?: number): Promise<number>;
}

export interface Registry {
  tenants: TenantStore;
  operations: OperationStore;
  audit: AuditStore;
  ledger: LedgerStore;
  legalHolds: LegalHoldStore;
  retentionRuns: RetentionRunStore;
  erasures: ErasureStore;
  tenantKeys: TenantKeyStore;
  exports: ExportStore;
  backups: BackupStore;
  verifications: VerificationStore;
  replication: ReplicationStore;
  apiKeys: ApiKeyStore;
  idempotency: IdempotencyStore;
  /** Applies pending migrations; safe from several processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the registry answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
