import type {
  Actor,
  OperationSnapshot,
  RetentionRunRequest,
  TenantRetention,
  TenantOperationKind,
  TenantRecord,
  TenantSpec,
  VerificationRunRequest,
} from '../domain/index.js';

/**
 * What the API (and later the CLI) asks of the tenant workflows. Every method returns the
 * operation as first recorded, or throws a LandlordError (TenantExists, InvalidTransition,
 * PolicyViolation, OperationNotFound, OperationNotRetryable, OperationNotCancellable,
 * ServiceUnavailable).
 */
export interface LifecycleClient {
  /** Starts the tenant's workflow if needed and asks it to onboard the tenant. */
  createTenant(spec: TenantSpec, actor: Actor): Promise<OperationSnapshot>;
  /** Asks an existing tenant's workflow for an operation: suspend, resume, drift-check. */
  requestTenantOperation(
    tenantId: string,
    kind: TenantOperationKind,
    actor: Actor,
  ): Promise<OperationSnapshot>;
  /**
   * Asks an existing tenant's workflow to move it to another tier (PolicyViolation for an unknown
   * tier or a move not supported, InvalidTransition when it is on that tier already).
   */
  changeTenantTier(tenant: TenantRecord, tier: string, actor: Actor): Promise<OperationSnapshot>;
  /** Asks the tenant's workflow to record its own retention choices (checked again at its turn). */
  setTenantRetention(
    tenantId: string,
    dataClasses: TenantRetention,
    actor: Actor,
  ): Promise<OperationSnapshot>;
  /**
   * Asks the tenant's workflow to carry out an erasure request already recorded in the registry
   * (kind `erase-subject`; only the request's id travels, never the subject).
   */
  eraseSubject(tenantId: string, erasureId: string, actor: Actor): Promise<OperationSnapshot>;
  /** Asks the tenant's workflow to offboard it (grace days resolved by the caller, from its tier). */
  offboardTenant(
    tenantId: string,
    request: { reason: string; graceDays: number; export: boolean },
    actor: Actor,
  ): Promise<OperationSnapshot>;
  /** Asks the tenant's workflow to restore it from a backup (the operation waits for approval first). */
  restoreTenant(
    tenantId: string,
    request: { backupId: string; pointInTime?: string; region?: string },
    actor: Actor,
  ): Promise<OperationSnapshot>;
  /**
   * Asks the tenant's workflow to fail it over to its standby in the DR partner region (the
   * operation waits for approval first).
   */
  failoverTenant(tenantId: string, request: { reason?: string }, actor: Actor): Promise<OperationSnapshot>;
  /** Asks the tenant's workflow to fail it back to its home region (the operation waits for approval first). */
  failbackTenant(tenantId: string, request: { reason?: string }, actor: Actor): Promise<OperationSnapshot>;
  /**
   * Asks the tenant's workflow for a DR drill: its latest backup restored into a drill copy and
   * verified, RTO and RPO measured, the copy dropped (no approval: production is not touched).
   */
  drillTenant(tenantId: string, actor: Actor): Promise<OperationSnapshot>;
  /**
   * Tells the tenant's workflow that one of its legal holds was released, so that operations
   * waiting for holds look again. Never throws: a lost signal costs a wait, not an erasure.
   */
  legalHoldsChanged(tenantId: string): Promise<boolean>;
  /** Starts a retention run already recorded in the registry (its workflow id is the run's). */
  startRetentionRun(request: RetentionRunRequest): Promise<void>;
  /** Starts a restore verification run already recorded in the registry (its workflow id is the run's). */
  startRestoreVerificationRun(request: VerificationRunRequest): Promise<void>;
  /**
   * Starts a region failover or region drill already recorded in the registry (kind
   * `region-failover` or `region-drill`; its workflow id is the operation's).
   */
  startRegionFailover(operation: OperationSnapshot): Promise<void>;
  /** The retention Schedule, or undefined when no lifecycle worker has created it yet. */
  retentionSchedule(): Promise<RetentionScheduleView | undefined>;
  /** Pauses, unpauses or fires the retention Schedule now (NotFound when it does not exist yet). */
  changeRetentionSchedule(change: 'pause' | 'unpause' | 'trigger', note: string): Promise<void>;
  /** Cancels a running operation: through its tenant's workflow, or a region failover's (or drill's) own. */
  cancelOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot>;
  /**
   * Retries a failed or cancelled tenant operation (a region failover or drill is not retried:
   * OperationNotRetryable).
   */
  retryOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot>;
  /**
   * Approves or rejects an operation waiting at its approval step (NotAwaitingApproval when it is
   * not, SelfApproval when `actor` asked for it); answers the operation as it is then.
   */
  decideApproval(
    operation: OperationSnapshot,
    decision: { decision: 'approved' | 'rejected'; comment: string },
    actor: Actor,
  ): Promise<OperationSnapshot>;
  /**
   * Terminates the tenant's lifecycle workflow — the way out for one wedged before its tenant was
   * ever recorded. Resolves false when no such workflow is running.
   */
  endTenantWorkflow(tenantId: string, actor: Actor, reason: string): Promise<boolean>;
  /** Resolves when Temporal answers. */
  ping(): Promise<void>;
}

/** The retention Schedule as the API shows it. */
export interface RetentionScheduleView {
  id: string;
  paused: boolean;
  note?: string;
  spec: { cron?: string; every?: string };
  overlap: string;
  catchupWindow: string;
  nextActionTimes: string[];
  recentActions: { scheduledAt: string; takenAt: string; runId: string }[];
}
