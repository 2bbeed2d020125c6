/**
 * The LifecycleClient over Temporal: operations become updates on the tenant's workflow; a
 * rejected update becomes the LandlordError its failure type names.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type Client,
} from '@temporalio/client';
import { checkPlacement, isErrorKind, LandlordError } from '../domain/index.js';
import type {
  Actor,
  OperationRequest,
  OperationSnapshot,
  PolicyCatalog,
  RetentionRunRequest,
  TenantOperationKind,
  TenantRetention,
  TenantRecord,
  TenantSpec,
  VerificationRunRequest,
} from '../domain/index.js';
import type { TaskQueues } from '../config/index.js';
import {
  cancelOperation,
  decideApproval,
  legalHoldsChanged,
  requestOperation,
  retryOperation,
  tenantWorkflowId,
} from '../workflows/definitions.js';
import type { tenantWorkflow } from '../workflows/tenant.js';
import type { retentionRun } from '../workflows/retention-run.js';
import type { restoreVerificationRun } from '../workflows/restore-verification-run.js';
import type { regionFailover } from '../workflows/region-failover.js';
import type { LifecycleClient, RetentionScheduleView } from './lifecycle.js';
import { changeRetentionSchedule, describeRetentionSchedule } from './retention-schedule.js';

/** Maps what Temporal said to a LandlordError; anything unexpected means Temporal is unavailable. */
function translate(err: unknown, tenantId: string): LandlordError {
  if (err instanceof LandlordError) return err;
  if (err instanceof WorkflowUpdateFailedError) {
    if (err.cause instanceof ApplicationFailure) {
      const type = err.cause.type;
      return new LandlordError(isErrorKind(type) ? type : 'InternalError', err.cause.message);
    }
    // The handler failed (a projection the registry refused): the operation was not accepted.
    return new LandlordError('InternalError', `tenant ${tenantId}'s workflow could not take the operation`);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err))
    return new LandlordError(
      'ServiceUnavailable',
      `tenant ${tenantId}'s workflow did not answer in time; the operation may still start, see GET /v1/tenants/${tenantId}`,
    );
  if (err instanceof WorkflowNotFoundError)
    return new LandlordError('TenantNotFound', `tenant ${tenantId} has no lifecycle workflow`);
  return new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
}

/** How long the API waits for a tenant workflow's answer unless told otherwise. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;

export class TemporalLifecycleClient implements LifecycleClient {
  private readonly answerTimeoutMs: number;

  constructor(
    private readonly client: Client,
    private readonly taskQueues: Pick<TaskQueues, 'lifecycle' | 'provisioning' | 'data'>,
    private readonly catalog: PolicyCatalog,
    { answerTimeoutMs = DEFAULT_ANSWER_TIMEOUT_MS }: { answerTimeoutMs?: number } = {},
  ) {
    this.answerTimeoutMs = answerTimeoutMs;
  }

  /** Runs a call to Temporal that gives up (DEADLINE_EXCEEDED) once the answer timeout has passed. */
  private bounded<T>(call: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + this.answerTimeoutMs, call);
  }

  /** Asks the tenant's workflow for an operation; a refusal becomes the LandlordError it names. */
  private async ask(tenantId: string, request: OperationRequest): Promise<OperationSnapshot> {
    try {
      return await this.bounded(() =>
        this.client.workflow
          .getHandle(tenantWorkflowId(tenantId))
          .executeUpdate(requestOperation, { args: [request] }),
      );
    } catch (err) {
      throw translate(err, tenantId);
    }
  }

  async createTenant(spec: TenantSpec, actor: Actor): Promise<OperationSnapshot> {
    // Throws PolicyViolation for a placement the policy refuses: nothing is started then.
    const { tier, drRegion } = checkPlacement(this.catalog, spec);
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof tenantWorkflow>('tenantWorkflow', {
      workflowId: tenantWorkflowId(spec.id),
      taskQueue: this.taskQueues.lifecycle,
      args: [
        {
          tenantId: spec.id,
          provisioningQueue: this.taskQueues.provisioning,
          dataQueue: this.taskQueues.data,
        },
      ],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    try {
      return await this.bounded(() =>
        this.client.workflow.executeUpdateWithStart(requestOperation, {
          args: [
            {
              kind: 'onboard',
              actor,
              spec,
              plan: { deploymentModel: tier.deploymentModel, dr: drRegion !== undefined },
            },
          ],
          startWorkflowOperation,
        }),
      );
    } catch (err) {
      const e = translate(err, spec.id);
      if (e.kind === 'InvalidTransition')
        throw new LandlordError('TenantExists', `tenant ${spec.id} already exists`);
      throw e;
    }
  }

  async requestTenantOperation(
    tenantId: string,
    kind: TenantOperationKind,
    actor: Actor,
  ): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind, actor });
  }

  async changeTenantTier(tenant: TenantRecord, tier: string, actor: Actor): Promise<OperationSnapshot> {
    // An unknown tier, or one not offered in the tenant's region, is refused before anything starts.
    const placement = checkPlacement(this.catalog, {
      tier,
      region: tenant.region,
      labels: tenant.labels,
      ...(tenant.residency ? { residency: tenant.residency } : {}),
    });
    const plan = {
      deploymentModel: placement.tier.deploymentModel,
      dr: placement.drRegion !== undefined,
    };
    return this.ask(tenant.id, { kind: 'change-tier', actor, tier, plan });
  }

  async setTenantRetention(
    tenantId: string,
    dataClasses: TenantRetention,
    actor: Actor,
  ): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'set-retention', actor, dataClasses });
  }

  async eraseSubject(tenantId: string, erasureId: string, actor: Actor): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'erase-subject', actor, erasureId });
  }

  async offboardTenant(
    tenantId: string,
    request: { reason: string; graceDays: number; export: boolean },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'offboard', actor, ...request });
  }

  async restoreTenant(
    tenantId: string,
    request: { backupId: string; pointInTime?: string; region?: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'restore', actor, ...request });
  }

  async failoverTenant(
    tenantId: string,
    request: { reason?: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'failover', actor, ...request });
  }

  async failbackTenant(
    tenantId: string,
    request: { reason?: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'failback', actor, ...request });
  }

  async drillTenant(tenantId: string, actor: Actor): Promise<OperationSnapshot> {
    return this.ask(tenantId, { kind: 'drill', actor });
  }

  async legalHoldsChanged(tenantId: string): Promise<boolean> {
    try {
      await this.bounded(() =>
        this.client.workflow.getHandle(tenantWorkflowId(tenantId)).signal(legalHoldsChanged),
      );
      return true;
    } catch {
      // The tenant workflow looks at parked operations' holds again within the hour anyway.
      return false;
    }
  }

  async startRetentionRun(request: RetentionRunRequest): Promise<void> {
    try {
      await this.bounded(() =>
        this.client.workflow.start<typeof retentionRun>('retentionRun', {
          workflowId: request.id,
          taskQueue: this.taskQueues.lifecycle,
          args: [{ request }],
        }),
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw isGrpcDeadlineError(err) || !(err instanceof LandlordError)
        ? new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again')
        : err;
    }
  }

  async startRestoreVerificationRun(request: VerificationRunRequest): Promise<void> {
    try {
      await this.bounded(() =>
        this.client.workflow.start<typeof restoreVerificationRun>('restoreVerificationRun', {
          workflowId: request.id,
          taskQueue: this.taskQueues.lifecycle,
          args: [{ request, dataQueue: this.taskQueues.data }],
        }),
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err instanceof LandlordError
        ? err
        : new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
    }
  }

  async startRegionFailover(operation: OperationSnapshot): Promise<void> {
    try {
      await this.bounded(() =>
        this.client.workflow.start<typeof regionFailover>('regionFailover', {
          workflowId: operation.id,
          taskQueue: this.taskQueues.lifecycle,
          args: [{ operation, dataQueue: this.taskQueues.data }],
        }),
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw isGrpcDeadlineError(err) || !(err instanceof LandlordError)
        ? new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again')
        : err;
    }
  }

  async retentionSchedule(): Promise<RetentionScheduleView | undefined> {
    try {
      return await this.bounded(() => describeRetentionSchedule(this.client));
    } catch {
      throw new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
    }
  }

  async changeRetentionSchedule(change: 'pause' | 'unpause' | 'trigger', note: string): Promise<void> {
    try {
      await this.bounded(() => changeRetentionSchedule(this.client, change, note));
    } catch (err) {
      if (err instanceof LandlordError) throw err;
      throw new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
    }
  }

  async cancelOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot> {
    if (operation.kind === 'region-failover' || operation.kind === 'region-drill')
      return this.cancelRegionOperation(operation);
    try {
      return await this.bounded(() =>
        this.client.workflow
          .getHandle(tenantWorkflowId(operation.tenantId))
          .executeUpdate(cancelOperation, { args: [{ operationId: operation.id, actor }] }),
      );
    } catch (err) {
      throw translate(err, operation.tenantId);
    }
  }

  /**
   * Cancels a region failover's (or drill's) own workflow; it records the cancellation on the
   * operation as it ends, so the answer is the operation as recorded now.
   */
  private async cancelRegionOperation(operation: OperationSnapshot): Promise<OperationSnapshot> {
    try {
      await this.bounded(() => this.client.workflow.getHandle(operation.id).cancel());
      return operation;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        if (operation.status !== 'running')
          throw new LandlordError('OperationNotCancellable', `operation ${operation.id} is not running`);
        // Recorded running with no workflow behind it (its start failed, or its last write did):
        // answered cancelled, for the caller to record, so that the region is free again.
        const at = new Date().toISOString();
        return {
          ...operation,
          status: 'cancelled',
          error: { type: 'OperationCancelled', message: 'cancelled: its workflow was not running' },
          updatedAt: at,
          finishedAt: at,
          version: operation.version + 1,
        };
      }
      throw new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
    }
  }

  async decideApproval(
    operation: OperationSnapshot,
    decision: { decision: 'approved' | 'rejected'; comment: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    try {
      // Sent to the operation's own workflow (its id is the operation's); the request id makes a
      // retried call one decision.
      return await this.bounded(() =>
        this.client.workflow
          .getHandle(operation.id)
          .executeUpdate(decideApproval, { args: [{ ...decision, actor }], updateId: actor.requestId }),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new LandlordError(
          'NotAwaitingApproval',
          `operation ${operation.id} is not waiting for approval`,
        );
      throw translate(err, operation.tenantId);
    }
  }

  async retryOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot> {
    if (operation.kind === 'region-failover')
      throw new LandlordError(
        'OperationNotRetryable',
        "a region failover is not retried: retry the failed tenants' own failover operations, listed in its result",
      );
    if (operation.kind === 'region-drill')
      throw new LandlordError(
        'OperationNotRetryable',
        "a region drill is not retried: retry the failed tenants' own drill operations, listed in its result",
      );
    try {
      return await this.bounded(() =>
        this.client.workflow
          .getHandle(tenantWorkflowId(operation.tenantId))
          .executeUpdate(retryOperation, { args: [{ operationId: operation.id, actor }] }),
      );
    } catch (err) {
      throw translate(err, operation.tenantId);
    }
  }

  async endTenantWorkflow(tenantId: string, actor: Actor, reason: string): Promise<boolean> {
    try {
      await this.bounded(() =>
        this.client.workflow
          .getHandle(tenantWorkflowId(tenantId))
          .terminate(`${reason} (by ${actor.principal}, request ${actor.requestId})`),
      );
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw translate(err, tenantId);
    }
  }

  async ping(): Promise<void> {
    await this.client.connection.workflowService.getSystemInfo({});
  }
}
