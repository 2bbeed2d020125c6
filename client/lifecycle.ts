import type {
  Actor,
  OperationSnapshot,
  TenantOperationKind,
  TenantRecord,
  TenantSpec,
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
  cancelOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot>;
  retryOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot>;
  /**
   * Terminates the tenant's lifecycle workflow — the way out for one wedged before its tenant was
   * ever recorded. Resolves false when no such workflow is running.
   */
  endTenantWorkflow(tenantId: string, actor: Actor, reason: string): Promise<boolean>;
  /** Resolves when Temporal answers. */
  ping(): Promise<void>;
}
