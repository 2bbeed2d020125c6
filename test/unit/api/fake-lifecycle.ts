import type { Registry } from '../../../registry/index.js';
import { OPERATION_TABLE, transitionRefusal } from '../../../workflows/operation-kinds.js';
import type { LifecycleClient, RetentionScheduleView } from '../../../client/lifecycle.js';
import {
  LandlordError,
  checkPlacement,
  newSteps,
  requesters,
  tierChangeRefusal,
} from '../../../domain/index.js';
import type {
  Actor,
  OperationKind,
  OperationSnapshot,
  PolicyCatalog,
  RetentionRunRequest,
  TenantOperationKind,
  TenantRetention,
  TenantRecord,
  TenantSpec,
  VerificationRunRequest,
} from '../../../domain/index.js';

/** A call the API made on the lifecycle client. */
export interface LifecycleCall {
  method:
    | 'createTenant'
    | 'requestTenantOperation'
    | 'changeTenantTier'
    | 'cancelOperation'
    | 'retryOperation'
    | 'endTenantWorkflow'
    | 'setTenantRetention'
    | 'startRetentionRun'
    | 'startRegionFailover'
    | 'changeRetentionSchedule'
    | 'eraseSubject'
    | 'offboardTenant'
    | 'legalHoldsChanged'
    | 'decideApproval'
    | 'restoreTenant'
    | 'failoverTenant'
    | 'failbackTenant'
    | 'drillTenant';
  tenantId: string;
  operationId?: string;
  /** The kind of a requested tenant operation. */
  kind?: string;
  actor: Actor;
}

/**
 * An in-memory stand-in for the Temporal-backed lifecycle client: it records every call, writes what
 * the workflows would project into the registry, and throws the LandlordErrors the real one throws.
 * Suspend and resume complete at once; onboarding stays running until `finishOnboarding`.
 */
export class FakeLifecycle implements LifecycleClient {
  readonly calls: LifecycleCall[] = [];
  /** Makes `ping` reject, as when Temporal is down. */
  pingFails = false;
  /** Makes tenant operations fail to be asked for, as when Temporal is down. */
  operationsUnavailable = false;
  private sequence = 0;

  /** Tenant ids whose workflow runs without a registry record (as a wedged one would). */
  readonly unrecordedWorkflows = new Set<string>();

  constructor(
    private readonly store: Registry,
    private readonly catalog: PolicyCatalog,
  ) {}

  /** Retention runs started, in order. */
  readonly retentionRuns: RetentionRunRequest[] = [];
  /** Restore verification runs started, in order. */
  readonly verificationRuns: VerificationRunRequest[] = [];
  /** Region failovers and drills started, in order: the operation each workflow was started with. */
  readonly regionFailovers: OperationSnapshot[] = [];
  /** The retention Schedule; undefined until `createSchedule`, as before a lifecycle worker ran. */
  schedule: RetentionScheduleView | undefined;
  scheduleTriggers = 0;

  createSchedule(): void {
    this.schedule = {
      id: 'landlord-retention',
      paused: false,
      spec: { cron: '0 2 * * *' },
      overlap: 'SKIP',
      catchupWindow: '21600s',
      nextActionTimes: [],
      recentActions: [],
    };
  }

  async setTenantRetention(
    tenantId: string,
    dataClasses: TenantRetention,
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({ method: 'setTenantRetention', tenantId, actor });
    const tenant = await this.store.tenants.get(tenantId);
    if (!tenant) throw new LandlordError('TenantNotFound', `no tenant "${tenantId}"`);
    const refusal = transitionRefusal('set-retention', tenant.status);
    if (refusal) throw new LandlordError('InvalidTransition', refusal);
    return this.record(tenantId, 'set-retention', actor, { dataClasses });
  }

  /** Refuses as the workflow would; an accepted erasure stays running. */
  async eraseSubject(tenantId: string, erasureId: string, actor: Actor): Promise<OperationSnapshot> {
    this.calls.push({ method: 'eraseSubject', tenantId, kind: 'erase-subject', actor });
    if (this.operationsUnavailable)
      throw new LandlordError('ServiceUnavailable', 'Temporal did not answer in time; try again');
    const tenant = await this.store.tenants.get(tenantId);
    const refusal = transitionRefusal('erase-subject', tenant?.status ?? 'absent');
    if (refusal || !tenant)
      throw new LandlordError('InvalidTransition', refusal ?? 'the tenant does not exist');
    return this.record(tenantId, 'erase-subject', actor, { erasureId });
  }

  /** Refuses as the workflow would; an accepted offboarding shows the tenant offboarding and stays running. */
  async offboardTenant(
    tenantId: string,
    request: { reason: string; graceDays: number; export: boolean },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({ method: 'offboardTenant', tenantId, kind: 'offboard', actor });
    if (this.operationsUnavailable)
      throw new LandlordError('ServiceUnavailable', 'Temporal did not answer in time; try again');
    const tenant = await this.store.tenants.get(tenantId);
    const refusal = transitionRefusal('offboard', tenant?.status ?? 'absent');
    if (refusal || !tenant)
      throw new LandlordError('InvalidTransition', refusal ?? 'the tenant does not exist');
    const op = await this.record(tenantId, 'offboard', actor, { ...request });
    await this.store.tenants.upsert({
      ...tenant,
      status: 'offboarding',
      offboarding: {
        operationId: op.id,
        reason: request.reason,
        requestedBy: actor.principal,
        requestedAt: op.createdAt,
        deletesAt: new Date(Date.parse(op.createdAt) + request.graceDays * 86_400_000).toISOString(),
      },
      updatedAt: new Date().toISOString(),
      version: tenant.version + 1,
    });
    return op;
  }

  async legalHoldsChanged(tenantId: string): Promise<boolean> {
    this.calls.push({
      method: 'legalHoldsChanged',
      tenantId,
      actor: { principal: 'landlord', role: 'admin', requestId: '' },
    });
    return true;
  }

  async startRetentionRun(request: RetentionRunRequest): Promise<void> {
    this.retentionRuns.push(request);
  }

  async startRestoreVerificationRun(request: VerificationRunRequest): Promise<void> {
    this.verificationRuns.push(request);
  }

  /** Records the start; the operation stays as the API recorded it (running, every step pending). */
  async startRegionFailover(operation: OperationSnapshot): Promise<void> {
    this.calls.push({
      method: 'startRegionFailover',
      tenantId: operation.tenantId,
      operationId: operation.id,
      kind: operation.kind,
      actor: operation.actor,
    });
    this.regionFailovers.push(structuredClone(operation));
  }

  async retentionSchedule(): Promise<RetentionScheduleView | undefined> {
    return this.schedule && structuredClone(this.schedule);
  }

  async changeRetentionSchedule(change: 'pause' | 'unpause' | 'trigger', note: string): Promise<void> {
    if (!this.schedule)
      throw new LandlordError('NotFound', 'the schedule landlord-retention does not exist yet');
    if (change === 'trigger') this.scheduleTriggers += 1;
    else Object.assign(this.schedule, { paused: change === 'pause', note });
  }

  /** Recorded as a call only when it ends something. */
  async endTenantWorkflow(tenantId: string, actor: Actor): Promise<boolean> {
    if (!this.unrecordedWorkflows.delete(tenantId)) return false;
    this.calls.push({ method: 'endTenantWorkflow', tenantId, actor });
    return true;
  }

  async createTenant(spec: TenantSpec, actor: Actor): Promise<OperationSnapshot> {
    this.calls.push({ method: 'createTenant', tenantId: spec.id, actor });
    const placement = checkPlacement(this.catalog, spec);
    if (await this.store.tenants.get(spec.id))
      throw new LandlordError('TenantExists', `tenant "${spec.id}" already exists`);
    const now = new Date().toISOString();
    await this.store.tenants.upsert({
      ...spec,
      ...(placement.drRegion ? { drRegion: placement.drRegion.id } : {}),
      deploymentModel: placement.tier.deploymentModel,
      status: 'provisioning',
      resources: {},
      createdAt: now,
      updatedAt: now,
      version: 1,
    });
    return this.record(spec.id, 'onboard', actor, { ...spec });
  }

  /** Marks a tenant's onboarding as done, as the workflow would. */
  async finishOnboarding(tenantId: string, status: 'active' | 'failed' = 'active'): Promise<void> {
    const tenant = await this.store.tenants.get(tenantId);
    if (!tenant) throw new Error(`no tenant ${tenantId}`);
    await this.store.tenants.upsert({
      ...tenant,
      status,
      updatedAt: new Date().toISOString(),
      version: tenant.version + 1,
    });
    const op = (await this.store.operations.listForTenant(tenantId)).find((o) => o.kind === 'onboard');
    if (op) await this.finish(op, status === 'active' ? 'succeeded' : 'failed');
  }

  async requestTenantOperation(
    tenantId: string,
    kind: TenantOperationKind,
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({ method: 'requestTenantOperation', tenantId, kind, actor });
    if (this.operationsUnavailable)
      throw new LandlordError('ServiceUnavailable', 'Temporal did not answer in time; try again');
    const tenant = await this.store.tenants.get(tenantId);
    const refusal = transitionRefusal(kind, tenant?.status ?? 'absent');
    if (refusal || !tenant)
      throw new LandlordError('InvalidTransition', refusal ?? 'the tenant does not exist');
    const op = await this.record(tenantId, kind, actor, {});
    await this.store.tenants.upsert({
      ...tenant,
      status: OPERATION_TABLE[kind].to ?? tenant.status,
      updatedAt: new Date().toISOString(),
      version: tenant.version + 1,
    });
    await this.finish(op, 'succeeded');
    return op;
  }

  /** Refuses as the workflow would; an accepted change stays running. */
  async changeTenantTier(tenant: TenantRecord, tier: string, actor: Actor): Promise<OperationSnapshot> {
    this.calls.push({ method: 'changeTenantTier', tenantId: tenant.id, actor });
    const placement = checkPlacement(this.catalog, { tier, region: tenant.region });
    const refusal = transitionRefusal('change-tier', tenant.status);
    if (refusal) throw new LandlordError('InvalidTransition', refusal);
    const tierRefusal = tierChangeRefusal(tenant, tier, placement.tier.deploymentModel);
    if (tierRefusal) throw new LandlordError(tierRefusal.type, tierRefusal.message);
    return this.record(tenant.id, 'change-tier', actor, { tier, fromTier: tenant.tier });
  }

  async cancelOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot> {
    this.calls.push({
      method: 'cancelOperation',
      tenantId: operation.tenantId,
      operationId: operation.id,
      actor,
    });
    if (operation.status !== 'running')
      throw new LandlordError(
        'OperationNotCancellable',
        `operation "${operation.id}" is ${operation.status}`,
      );
    return this.finish(operation, 'cancelled');
  }

  async retryOperation(operation: OperationSnapshot, actor: Actor): Promise<OperationSnapshot> {
    this.calls.push({
      method: 'retryOperation',
      tenantId: operation.tenantId,
      operationId: operation.id,
      actor,
    });
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
    if (operation.status !== 'failed' && operation.status !== 'cancelled') {
      throw new LandlordError('OperationNotRetryable', `operation "${operation.id}" is ${operation.status}`);
    }
    const now = new Date().toISOString();
    const retried: OperationSnapshot = {
      ...operation,
      status: 'running',
      run: operation.run + 1,
      steps: newSteps(operation.kind),
      updatedAt: now,
      version: operation.version + 1,
    };
    delete retried.error;
    delete retried.finishedAt;
    await this.store.operations.upsert(retried);
    return retried;
  }

  /** Records a restore waiting at its approval step, as the tenant workflow's child shows it. */
  async restoreTenant(
    tenantId: string,
    request: { backupId: string; pointInTime?: string; region?: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({ method: 'restoreTenant', tenantId, kind: 'restore', actor });
    return this.awaitApproval(tenantId, 'restore', actor, { ...request });
  }

  /** Records a failover waiting at its approval step, who asked kept on its input as the workflow keeps it. */
  async failoverTenant(
    tenantId: string,
    request: { reason?: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({ method: 'failoverTenant', tenantId, kind: 'failover', actor });
    return this.awaitApproval(tenantId, 'failover', actor, { ...request, requestedBy: actor.principal });
  }

  /** Records a failback waiting at its approval step, who asked kept on its input as the workflow keeps it. */
  async failbackTenant(
    tenantId: string,
    request: { reason?: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({ method: 'failbackTenant', tenantId, kind: 'failback', actor });
    return this.awaitApproval(tenantId, 'failback', actor, { ...request, requestedBy: actor.principal });
  }

  /**
   * Refuses as the workflow would (one drill of a tenant at a time); an accepted drill stays
   * running, who asked kept on its input as the workflow keeps it.
   */
  async drillTenant(tenantId: string, actor: Actor): Promise<OperationSnapshot> {
    this.calls.push({ method: 'drillTenant', tenantId, kind: 'drill', actor });
    if (this.operationsUnavailable)
      throw new LandlordError('ServiceUnavailable', 'Temporal did not answer in time; try again');
    const tenant = await this.store.tenants.get(tenantId);
    const refusal = transitionRefusal('drill', tenant?.status ?? 'absent');
    if (refusal || !tenant)
      throw new LandlordError('InvalidTransition', refusal ?? 'the tenant does not exist');
    const running = await this.store.operations.list({
      tenantId,
      kind: 'drill',
      status: 'running',
      limit: 1,
    });
    if (running.length > 0)
      throw new LandlordError('InvalidTransition', 'a drill of this tenant is already queued or running');
    return this.record(tenantId, 'drill', actor, { requestedBy: actor.principal });
  }

  /** As the operation's workflow: the same refusals; a decision that settles the step ends it. */
  async decideApproval(
    operation: OperationSnapshot,
    { decision, comment }: { decision: 'approved' | 'rejected'; comment: string },
    actor: Actor,
  ): Promise<OperationSnapshot> {
    this.calls.push({
      method: 'decideApproval',
      tenantId: operation.tenantId,
      operationId: operation.id,
      actor,
    });
    const step = operation.steps.find((s) => s.status === 'waiting-approval');
    const approval = operation.approval;
    if (operation.status !== 'running' || !step || !approval)
      throw new LandlordError('NotAwaitingApproval', `operation ${operation.id} is not waiting for approval`);
    if (requesters(operation).includes(actor.principal))
      throw new LandlordError('SelfApproval', `${actor.principal} asked for operation ${operation.id}`);
    if (approval.decisions.some((d) => d.principal === actor.principal))
      throw new LandlordError('NotAwaitingApproval', `${actor.principal} has approved it already`);
    const now = new Date().toISOString();
    const decided: OperationSnapshot = {
      ...operation,
      approval: {
        ...approval,
        decisions: [
          ...approval.decisions,
          {
            decision,
            principal: actor.principal,
            role: actor.role,
            requestId: actor.requestId,
            comment,
            at: now,
          },
        ],
      },
      updatedAt: now,
      version: operation.version + 1,
    };
    const approvals = decided.approval!.decisions.filter((d) => d.decision === 'approved').length;
    const settled = decision === 'rejected' || approvals >= approval.required;
    if (settled)
      decided.steps = decided.steps.map((s) =>
        s.name === step.name ? { ...s, status: decision === 'rejected' ? 'failed' : 'succeeded' } : s,
      );
    if (decision === 'rejected')
      Object.assign(decided, {
        status: 'failed',
        finishedAt: now,
        error: {
          type: 'ApprovalRejected',
          message: `rejected by ${actor.principal}: ${comment}`,
          step: step.name,
        },
      });
    await this.store.operations.upsert(decided);
    return decided;
  }

  async ping(): Promise<void> {
    if (this.pingFails) throw new Error('connect ECONNREFUSED 127.0.0.1:7233');
  }

  /** Refuses as the workflow would, or records the operation waiting at its approval step. */
  private async awaitApproval(
    tenantId: string,
    kind: 'restore' | 'failover' | 'failback',
    actor: Actor,
    input: Record<string, unknown>,
  ): Promise<OperationSnapshot> {
    const tenant = await this.store.tenants.get(tenantId);
    const refusal = transitionRefusal(kind, tenant?.status ?? 'absent');
    if (refusal || !tenant)
      throw new LandlordError('InvalidTransition', refusal ?? 'the tenant does not exist');
    const op = await this.record(tenantId, kind, actor, input);
    const waiting: OperationSnapshot = {
      ...op,
      steps: op.steps.map((s) =>
        s.name === 'approval' ? { ...s, status: 'waiting-approval', attempts: 1 } : s,
      ),
      approval: { required: 1, timeoutAt: new Date(Date.now() + 3_600_000).toISOString(), decisions: [] },
      version: op.version + 1,
    };
    await this.store.operations.upsert(waiting);
    return waiting;
  }

  private async record(
    tenantId: string,
    kind: OperationKind,
    actor: Actor,
    input: Record<string, unknown>,
  ): Promise<OperationSnapshot> {
    const now = new Date().toISOString();
    const op: OperationSnapshot = {
      id: `${kind}-${tenantId}-${++this.sequence}`,
      tenantId,
      kind,
      status: 'running',
      run: 1,
      steps: newSteps(kind, undefined, { relocate: kind === 'restore' && input.region !== undefined }),
      actor,
      input,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    await this.store.operations.upsert(op);
    return op;
  }

  private async finish(
    op: OperationSnapshot,
    status: 'succeeded' | 'failed' | 'cancelled',
  ): Promise<OperationSnapshot> {
    const now = new Date().toISOString();
    const done: OperationSnapshot = {
      ...op,
      status,
      updatedAt: now,
      finishedAt: now,
      version: op.version + 1,
    };
    await this.store.operations.upsert(done);
    return done;
  }
}
