/**
 * Restore verification (docs/disaster-recovery.md): a run restores a sample of tenants' latest
 * backups into scratch databases and compares what comes back with the catalog. The run and each
 * tenant's result are kept in the registry. No zod, no Node built-ins: workflow code imports this
 * module.
 */

export const VERIFICATION_RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
/** `failed`: the run itself broke (not a backup it found damaged: that is a failed result). */
export type VerificationRunStatus = (typeof VERIFICATION_RUN_STATUSES)[number];

/** The Temporal Schedule that starts the recurring run, and the principal its runs are recorded as. */
export const VERIFICATION_SCHEDULE_ID = 'landlord-restore-verification';
export const VERIFICATION_SCHEDULE_PRINCIPAL = `schedule:${VERIFICATION_SCHEDULE_ID}`;

/** The share of tenants on tiers without DR that a run samples unless told otherwise. */
export const DEFAULT_VERIFICATION_SHARE = 0.1;

/** The problem of a sampled tenant that has no available backup. */
export const NO_BACKUP_TO_VERIFY = 'no backup to verify';

/** A run as asked for: by the Schedule or through the API. */
export interface VerificationRunRequest {
  id: string;
  trigger: 'schedule' | 'api';
  requestedBy: string;
  /**
   * The chance (0..1) that a tenant on a tier without DR is sampled; every tenant on a DR tier is.
   * Not used when `tenants` names the sample.
   */
  share: number;
  /** Exactly these tenants; absent: the sample drawn from every active and suspended tenant. */
  tenants?: string[];
}

export interface VerificationRun extends VerificationRunRequest {
  status: VerificationRunStatus;
  startedAt: string;
  finishedAt?: string;
  /** Tenants in the sample: 0 until it is drawn. */
  total: number;
  /** Tenants whose latest backup restored and matched the catalog. */
  verified: number;
  /** Tenants whose verification failed (a damaged or missing backup, none at all, or none could run). */
  failed: number;
  /** Why the run itself broke. */
  error?: { type: string; message: string };
}

/** One table of a restored backup, as read back against what the catalog records. */
export interface VerifiedTable {
  name: string;
  rows: number;
  expectedRows: number;
  sha256: string;
  expectedSha256: string;
}

/** One tenant's result in a run. */
export interface VerificationResult {
  runId: string;
  tenantId: string;
  /** The backup restored; absent when the tenant had none. */
  backupId?: string;
  /** Restored, and read back as the catalog records it. */
  ok: boolean;
  /** Why it is not ok; empty when it is. */
  problems: string[];
  /** How long the restore into the scratch database took (ms), once it got that far. */
  restoreMs?: number;
  tables?: VerifiedTable[];
  startedAt: string;
  finishedAt: string;
}

/** A run with its tenants' results, in tenant id order. */
export type VerificationRunDetail = VerificationRun & { results: VerificationResult[] };
