import type { Actor, OperationSnapshot, TenantSpec } from '../domain/index.js';

/**
 * What the API (and later the CLI) asks of the tenant workflows. Every method returns the
 * operation as first recorded, or throws a LandlordError (TenantExists, InvalidTransition,
 * PolicyViolation, OperationNotFound, OperationNotRetryable, OperationNotCancellable,
 * ServiceUnavailable).
 */
export interface LifecycleClient {
  /** Starts the tenant's workflow if needed and asks it to onboard the tenant. */
  createTenant(spec: TenantSpec, actor: Actor): Promise<OperationSnapshot>;
  /** Suspends or resumes an existing tenant. */
  changeAccess(tenantId: string, kind: 'suspend' | 'resume', actor: Actor): Promise<OperationSnapshot>;
  cancelOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot>;
  retryOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot>;
  /** Resolves when Temporal answers. */
  ping(): Promise<void>;
}
