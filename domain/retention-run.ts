/**
 * Retention runs (docs/retention.md): one run goes over the tenants, each tenant's part an
 * `apply-retention` operation of its tenant workflow; what each part found and did per table is
 * kept with the run. No zod here: workflow code imports this module.
 */

export const RETENTION_RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type RetentionRunStatus = (typeof RETENTION_RUN_STATUSES)[number];

/** The Temporal Schedule that starts the daily run, and the principal its runs are recorded as. */
export const RETENTION_SCHEDULE_ID = 'landlord-retention';
export const RETENTION_SCHEDULE_PRINCIPAL = `schedule:${RETENTION_SCHEDULE_ID}`;

export interface RetentionRunRequest {
  id: string;
  trigger: 'schedule' | 'api';
  requestedBy: string;
  dryRun: boolean;
  force: boolean;
  /** Only these tenants; absent: every tenant that is active or suspended. */
  tenants?: string[];
  /** Only these data classes; absent: all. */
  dataClasses?: string[];
}

export interface RetentionRun extends RetentionRunRequest {
  status: RetentionRunStatus;
  progress: {
    /** Tenants whose part has ended (done, failed or skipped). */
    done: number;
    /** Tenants the run goes over; known once it has counted them. */
    total?: number;
  };
  /** Sums over the tenants' parts so far. */
  totals: RetentionTotals;
  error?: { type: string; message: string };
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

export interface RetentionTotals {
  expired: number;
  deleted: number;
  skippedUnderHold: number;
  /** Tables the guard stopped. */
  guardTripped: number;
  /** Tenants whose part failed. */
  failedTenants: number;
}

/** One table (or storage prefix) of one tenant in a run. */
export interface RetentionTableReport {
  /** The table, or for objects the storage prefix. */
  table: string;
  /** Absent: rows of a table; `objects`: files under a storage prefix (counts are of files). */
  unit?: 'objects';
  dataClass: string;
  /** The policy applied: days (absent: kept forever) and where the value comes from. */
  days?: number;
  source: 'default' | 'tier' | 'tenant';
  /** Rows of the tenant in the table when the part began. */
  rows: number;
  /** Rows older than the policy. */
  expired: number;
  /** Rows deleted; in a dry run, the rows a real run would delete. */
  deleted: number;
  /** Expired rows a legal hold kept. */
  skippedUnderHold: number;
  /** Expired rows kept because other rows still reference them (they go in a later run). */
  keptReferenced?: number;
  /** `tripped`: more than the guard's share would have gone, nothing deleted; `forced`: deleted anyway. */
  guard?: 'tripped' | 'forced';
  batches: number;
  /** How long the longest batch held its locks. */
  longestBatchMs: number;
}

export interface RetentionTenantPart {
  tenantId: string;
  operationId?: string;
  status: 'succeeded' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
  tables: RetentionTableReport[];
  /** Classes whose days are fewer than in the tenant's last real run. */
  policyShortened?: { dataClass: string; from: number; to: number }[];
  recordedAt?: string;
}

export const emptyTotals = (): RetentionTotals => ({
  expired: 0,
  deleted: 0,
  skippedUnderHold: 0,
  guardTripped: 0,
  failedTenants: 0,
});

/** Adds a tenant's part to a run's totals. */
export function addPart(totals: RetentionTotals, part: RetentionTenantPart): RetentionTotals {
  const t = { ...totals };
  if (part.status === 'failed') t.failedTenants += 1;
  for (const table of part.tables) {
    t.expired += table.expired;
    t.deleted += table.deleted;
    t.skippedUnderHold += table.skippedUnderHold;
    if (table.guard === 'tripped') t.guardTripped += 1;
  }
  return t;
}
