import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { findUnsafeText, newSteps, tierChangeRefusal, transitionRefusal } from '../domain/index.js';
import type {
  Actor,
  OperationKind,
  OperationPlan,
  OperationSnapshot,
  TenantRecord,
  TenantSpec,
  TenantStatus,
} from '../domain/index.js';
import { registry } from './activities.js';
import { changeTenantAccess } from './change-tenant-access.js';
import { changeTenantTier } from './change-tenant-tier.js';
import { checkTenantDrift } from './check-tenant-drift.js';
import { cancelOperation, requestOperation, retryOperation, tenantView } from './definitions.js';
import type { OperationRequest } from './definitions.js';
import { onboardTenant } from './onboard-tenant.js';
import { errorInfoOf } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

/** Operations kept in workflow state for cancel and retry; older ones live only in the registry. */
const RECENT_OPERATIONS = 50;
/** Versions are allotted in blocks: each operation run owns the next 1000 for its projection writes. */
const VERSION_BLOCK = 1000;

export interface TenantState {
  tenantId: string;
  status: TenantStatus | 'absent';
  tenant?: TenantRecord;
  spec?: TenantSpec;
  createdAt?: string;
  /** Highest tenant projection version allotted so far. */
  tenantVersion: number;
  /** Recent operations, oldest first. */
  operations: OperationSnapshot[];
  /** Ids of operations waiting to run, the running one first. */
  queue: string[];
}

export interface TenantWorkflowInput {
  tenantId: string;
  /** Task queue of the provisioning workers, where silo operations run their Pulumi activities. */
  provisioningQueue: string;
  /** Task queue of the data workers, where rows are moved. */
  dataQueue?: string;
  state?: TenantState;
}

const invalid = (message: string, type = 'InvalidTransition') =>
  ApplicationFailure.nonRetryable(message, type);

/**
 * The single writer of one tenant's lifecycle (workflow id `tenant:<id>`). Operations arrive as
 * updates, are validated before anything runs, and run one at a time as child workflows.
 */
export async function tenantWorkflow(input: TenantWorkflowInput): Promise<void> {
  const state: TenantState = input.state ?? {
    tenantId: input.tenantId,
    status: 'absent',
    tenantVersion: 0,
    operations: [],
    queue: [],
  };
  let running: { id: string; scope: CancellationScope } | undefined;
  /** Queued operations whose acceptance the registry has not recorded yet; they wait to run. */
  const unconfirmed = new Set<string>();
  const headReady = () => state.queue.length > 0 && !unconfirmed.has(state.queue[0]!);

  const find = (id: string) => state.operations.find((o) => o.id === id);
  const replace = (snapshot: OperationSnapshot) => {
    const i = state.operations.findIndex((o) => o.id === snapshot.id);
    if (i >= 0) state.operations[i] = snapshot;
    else state.operations.push(snapshot);
    // Forget the oldest finished operations beyond the limit.
    while (state.operations.length > RECENT_OPERATIONS && !state.queue.includes(state.operations[0]!.id))
      state.operations.shift();
  };
  /** The status the tenant will have once everything queued has succeeded. */
  const projectedStatus = (): TenantStatus | 'absent' =>
    state.queue.reduce<TenantStatus | 'absent'>((status, id) => {
      const kind = find(id)?.kind;
      return kind === 'onboard'
        ? 'active'
        : kind === 'suspend'
          ? 'suspended'
          : kind === 'resume'
            ? 'active'
            : status;
    }, state.status);
  const refusalFor = (kind: OperationKind, status: TenantStatus | 'absent') =>
    kind === 'onboard' && status === 'failed' ? undefined : transitionRefusal(kind, status);

  const accept = async (snapshot: OperationSnapshot, actor: Actor) => {
    const before = find(snapshot.id);
    replace(snapshot);
    state.queue.push(snapshot.id);
    // Queued (so that later updates are validated behind it) but not run until the registry has
    // it: if the registry refuses it, it is dropped having done nothing. Histories recorded before
    // this patch started the operation at once.
    const confirmFirst = patched('run-after-accepted');
    if (confirmFirst) unconfirmed.add(snapshot.id);
    await Promise.all([
      registry.projectOperation(snapshot),
      registry.appendAudit({
        eventKey: `${snapshot.id}:${snapshot.run}:accepted`,
        tenantId: state.tenantId,
        operationId: snapshot.id,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: `tenant.${snapshot.kind}`,
        outcome: snapshot.run > 1 ? 'retry-accepted' : 'accepted',
        detail: { run: snapshot.run },
      }),
    ]).then(
      () => unconfirmed.delete(snapshot.id),
      (err: unknown) => {
        if (confirmFirst) {
          // The registry refused the operation for good: it is not taken, as if never asked for.
          unconfirmed.delete(snapshot.id);
          state.queue = state.queue.filter((id) => id !== snapshot.id);
          if (before) replace(before);
          else state.operations = state.operations.filter((o) => o.id !== snapshot.id);
        }
        throw err;
      },
    );
    return snapshot;
  };

  setHandler(
    requestOperation,
    async (request: OperationRequest) => {
      const at = new Date().toISOString();
      if (request.kind === 'onboard') {
        state.spec = request.spec!;
        state.createdAt ??= at;
      }
      const snapshot: OperationSnapshot = {
        id: `op-${uuid4()}`,
        tenantId: state.tenantId,
        kind: request.kind,
        status: 'running',
        run: 1,
        steps: newSteps(request.kind, request.plan),
        actor: request.actor,
        input: request.spec
          ? { spec: request.spec }
          : request.tier
            ? { tier: request.tier, fromTier: state.tenant?.tier, plan: request.plan }
            : {},
        createdAt: at,
        updatedAt: at,
        version: VERSION_BLOCK,
      };
      return accept(snapshot, request.actor);
    },
    {
      validator: (request: OperationRequest) => {
        if (request.kind === 'onboard' && request.spec?.id !== state.tenantId)
          throw invalid('onboarding needs the spec of this tenant', 'ValidationFailed');
        // Text the registry cannot store would fail every projection of the operation.
        const unsafe = findUnsafeText({ spec: request.spec, tier: request.tier })[0];
        if (unsafe) throw invalid(`${unsafe.path.join('.')} ${unsafe.message}`, 'ValidationFailed');
        const refusal = transitionRefusal(request.kind, projectedStatus());
        if (refusal) throw invalid(refusal);
        if (request.kind === 'change-tier') {
          if (!request.tier || !request.plan)
            throw invalid('a tier change needs the tier and its plan', 'ValidationFailed');
          if (!state.tenant) throw invalid('the tenant is still being onboarded');
          const tierRefusal = tierChangeRefusal(state.tenant, request.tier, request.plan.deploymentModel);
          if (tierRefusal) throw invalid(tierRefusal.message, tierRefusal.type);
          if (state.queue.some((id) => find(id)?.kind === 'change-tier'))
            throw invalid('another tier change of this tenant is queued or running');
        }
        if (request.kind === 'drift-check' && state.tenant?.deploymentModel !== 'silo') {
          throw invalid(
            "a drift check covers the stacks of a silo tenant; this tenant lives in its region's pool",
          );
        }
      },
    },
  );

  setHandler(
    retryOperation,
    async ({ operationId, actor }) => {
      const previous = find(operationId)!;
      const at = new Date().toISOString();
      const snapshot: OperationSnapshot = {
        ...previous,
        status: 'running',
        run: previous.run + 1,
        // Steps whose effect survived the rollback (delivered notifications) are kept; the rest run again.
        steps: previous.steps.map((s) =>
          s.status === 'succeeded' ? s : { name: s.name, status: 'pending', attempts: 0 },
        ),
        actor,
        updatedAt: at,
        version: (previous.run + 1) * VERSION_BLOCK,
      };
      delete snapshot.error;
      delete snapshot.finishedAt;
      return accept(snapshot, actor);
    },
    {
      validator: ({ operationId }) => {
        const op = find(operationId);
        if (!op)
          throw invalid(
            `operation ${operationId} is too old to retry; start a new one`,
            'OperationNotRetryable',
          );
        if (op.status !== 'failed' && op.status !== 'cancelled')
          throw invalid(
            `operation ${operationId} is ${op.status}; only a failed or cancelled operation can be retried`,
            'OperationNotRetryable',
          );
        if (state.queue.length > 0)
          throw invalid('another operation of this tenant is queued or running', 'OperationNotRetryable');
        if (state.operations.at(-1)?.id !== operationId)
          throw invalid(
            `a later operation of this tenant has run since ${operationId}`,
            'OperationNotRetryable',
          );
        const refusal = refusalFor(op.kind, state.status);
        if (refusal) throw invalid(refusal);
      },
    },
  );

  setHandler(
    cancelOperation,
    async ({ operationId, actor }) => {
      if (running?.id === operationId) {
        running.scope.cancel();
        return find(operationId)!;
      }
      // Still queued: it never started, so there is nothing to undo.
      state.queue = state.queue.filter((id) => id !== operationId);
      const op = find(operationId)!;
      const at = new Date().toISOString();
      const cancelled: OperationSnapshot = {
        ...op,
        status: 'cancelled',
        error: { type: 'OperationCancelled', message: `cancelled by ${actor.principal} before it started` },
        updatedAt: at,
        finishedAt: at,
        version: op.version + VERSION_BLOCK / 2,
      };
      replace(cancelled);
      await registry.projectOperation(cancelled);
      return cancelled;
    },
    {
      validator: ({ operationId }) => {
        const op = find(operationId);
        if (!op || op.status !== 'running' || !state.queue.includes(operationId)) {
          throw invalid(`operation ${operationId} is not running`, 'OperationNotCancellable');
        }
      },
    },
  );

  setHandler(tenantView, () => ({
    tenantId: state.tenantId,
    status: state.status,
    ...(running ? { current: running.id } : {}),
    queued: [...state.queue],
  }));

  /** Takes in a run's outcome, then records its end in the registry and the audit trail. */
  const apply = async (outcome: OperationOutcome) => {
    const { snapshot } = outcome;
    replace(snapshot);
    if (outcome.tenant) {
      state.tenant = outcome.tenant;
      // A tier change moves the spec with it: later operations (drift checks) read the tier from it.
      if (state.spec && state.spec.tier !== outcome.tenant.tier)
        state.spec = { ...state.spec, tier: outcome.tenant.tier };
      state.status = outcome.tenant.status;
      state.tenantVersion = Math.max(state.tenantVersion, outcome.tenant.version);
    }
    const audit = () =>
      registry.appendAudit({
        eventKey: `${snapshot.id}:${snapshot.run}:${snapshot.status}`,
        tenantId: snapshot.tenantId,
        operationId: snapshot.id,
        actor: snapshot.actor.principal,
        actorRole: snapshot.actor.role,
        requestId: snapshot.actor.requestId,
        action: `tenant.${snapshot.kind}`,
        outcome: snapshot.status,
        detail: { run: snapshot.run, ...(snapshot.error ? { error: snapshot.error } : {}) },
      });
    if (patched('audit-before-operation-end')) {
      // The audit trail records the end before the operation shows it, so whoever sees the
      // operation ended finds its audit event too.
      await audit();
      await registry.projectOperation(snapshot);
    } else {
      // Histories recorded before the patch wrote both at once.
      await Promise.all([registry.projectOperation(snapshot), audit()]);
    }
  };

  /** Ends an operation the tenant workflow itself had to stop (refused at its turn, or lost its child). */
  const endHere = async (
    op: OperationSnapshot,
    status: 'failed' | 'cancelled',
    error: { type: string; message: string },
  ) => {
    const at = new Date().toISOString();
    await apply({
      snapshot: {
        ...op,
        status,
        error,
        updatedAt: at,
        finishedAt: at,
        version: op.run * VERSION_BLOCK + VERSION_BLOCK / 2,
      },
    });
  };

  const runOperation = async (op: OperationSnapshot) => {
    // Re-checked at its turn: an operation queued behind one that failed may no longer apply.
    const refusal = op.run > 1 ? refusalFor(op.kind, state.status) : transitionRefusal(op.kind, state.status);
    if (refusal) return endHere(op, 'failed', { type: 'InvalidTransition', message: refusal });
    if (op.kind === 'change-tier') {
      const { tier, plan } = op.input as { tier: string; plan: OperationPlan };
      const tierRefusal = tierChangeRefusal(state.tenant!, tier, plan.deploymentModel);
      if (tierRefusal) return endHere(op, 'failed', tierRefusal);
    }
    state.tenantVersion = (Math.floor(state.tenantVersion / VERSION_BLOCK) + 1) * VERSION_BLOCK;
    const tenantVersion = state.tenantVersion;
    const scope = new CancellationScope();
    running = { id: op.id, scope };
    try {
      const outcome = await scope.run(() => {
        const options = { workflowId: op.id, taskQueue: workflowInfo().taskQueue };
        if (op.kind === 'onboard') {
          return executeChild(onboardTenant, {
            ...options,
            args: [
              {
                operation: op,
                spec: state.spec!,
                tenantVersion,
                createdAt: state.createdAt!,
                provisioningQueue: input.provisioningQueue,
              },
            ],
          });
        }
        if (op.kind === 'change-tier') {
          return executeChild(changeTenantTier, {
            ...options,
            args: [
              {
                operation: op,
                tenant: state.tenant!,
                spec: state.spec!,
                tier: (op.input as { tier: string }).tier,
                tenantVersion,
                provisioningQueue: input.provisioningQueue,
                // Workflows started before the data queue existed derive it from the provisioning one.
                dataQueue: input.dataQueue ?? input.provisioningQueue.replace(/provisioning$/, 'data'),
              },
            ],
          });
        }
        if (op.kind === 'drift-check') {
          return executeChild(checkTenantDrift, {
            ...options,
            args: [
              {
                operation: op,
                tenant: state.tenant!,
                spec: state.spec!,
                tenantVersion,
                provisioningQueue: input.provisioningQueue,
              },
            ],
          });
        }
        return executeChild(changeTenantAccess, {
          ...options,
          args: [
            {
              operation: op as OperationSnapshot & { kind: 'suspend' | 'resume' },
              tenant: state.tenant!,
              tenantVersion,
            },
          ],
        });
      });
      await apply(outcome);
    } catch (err) {
      const outcome = outcomeOf(err);
      await CancellationScope.nonCancellable(() =>
        outcome
          ? apply(outcome)
          : endHere(op, isCancellation(err) ? 'cancelled' : 'failed', errorInfoOf(err)),
      );
    } finally {
      running = undefined;
    }
  };

  for (;;) {
    await condition(() => headReady() || (state.queue.length === 0 && workflowInfo().continueAsNewSuggested));
    if (state.queue.length === 0) {
      await condition(allHandlersFinished);
      if (state.queue.length === 0) return continueAsNew<typeof tenantWorkflow>({ ...input, state });
      continue;
    }
    const id = state.queue[0]!;
    await runOperation(find(id)!);
    state.queue = state.queue.filter((queued) => queued !== id);
  }
}

/** The outcome a failed child put in its failure's details, if it got that far. */
function outcomeOf(err: unknown): OperationOutcome | undefined {
  let cause: unknown = err;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.details?.[0])
      return cause.details[0] as OperationOutcome;
    cause = cause.cause;
  }
  return undefined;
}
