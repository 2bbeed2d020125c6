/**
 * Keeps an operation's steps and writes each change to the registry as a whole, versioned
 * snapshot, each with the next version of its run's block (versions.ts), so a late write of an
 * older state never wins.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  setHandler,
} from '@temporalio/workflow';
import type {
  ApprovalState,
  ErrorInfo,
  OperationSnapshot,
  OperationStatus,
  OperationStep,
  StepProgress,
  TenantRecord,
} from '../domain/index.js';
import type { StepRef } from '../activities/step-ref.js';
import { registry } from './activities.js';
import { decideApproval } from './definitions.js';
import { requesters } from '../domain/operation.js';

const now = () => new Date().toISOString();
/** Workflow code has no structuredClone; snapshots are plain JSON anyway. */
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A saga step's undo, registered before the step runs (a step can take effect and still fail). */
export interface Compensation {
  step: string;
  undo: () => Promise<void>;
}

/** What a finished operation run reports to the tenant workflow. */
export interface OperationOutcome {
  snapshot: OperationSnapshot;
  /** The tenant's record after the run, when the run changed it. */
  tenant?: TenantRecord;
  /** The child has recorded the run's end (audit event and final snapshot) itself. */
  recorded?: boolean;
  /**
   * The run has not ended: it waits for legal holds to end, and gives up the tenant's turn
   * meanwhile (its operation stays `running`, the waiting step `blocked-by-hold`). The tenant
   * workflow runs it again once a hold of the tenant is released, or `until` (ISO) has passed.
   */
  parked?: { until?: string };
}

/** The audit event of a run's end. */
function endAudit(snapshot: OperationSnapshot) {
  return {
    eventKey: `${snapshot.id}:${snapshot.run}:${snapshot.status}`,
    tenantId: snapshot.tenantId,
    operationId: snapshot.id,
    actor: snapshot.actor.principal,
    actorRole: snapshot.actor.role,
    requestId: snapshot.actor.requestId,
    action: `tenant.${snapshot.kind}`,
    outcome: snapshot.status,
    detail: { run: snapshot.run, ...(snapshot.error ? { error: snapshot.error } : {}) },
  };
}

/**
 * Records a run's end: the audit event first, then the final snapshot, so that whoever sees the
 * operation ended finds its audit event too. Histories from before the
 * 'audit-before-operation-end' patch wrote both at once.
 */
export async function recordEnd(snapshot: OperationSnapshot, { inOrder = true } = {}): Promise<void> {
  if (!inOrder) {
    await Promise.all([registry.projectOperation(snapshot), registry.appendAudit(endAudit(snapshot))]);
    return;
  }
  await registry.appendAudit(endAudit(snapshot));
  await registry.projectOperation(snapshot);
}

/** Turns a failure caught in a workflow into what the operation records: kind and message only. */
export function errorInfoOf(err: unknown): ErrorInfo {
  if (isCancellation(err)) return { type: 'OperationCancelled', message: 'the operation was cancelled' };
  let cause: unknown = err;
  // Activity and child failures wrap the ApplicationFailure that names the kind.
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof CancelledFailure)
    return { type: 'OperationCancelled', message: 'the operation was cancelled' };
  return { type: 'InternalError', message: err instanceof Error ? err.message : String(err) };
}

export class OperationTracker {
  private snapshot: OperationSnapshot;
  /** Whether quick steps skip their "running" write (histories from before the patch wrote it). */
  private readonly quickStepsUnwritten: boolean;

  /** The snapshot this run started from: a parked run looks again without writing the same wait. */
  private readonly initial: OperationSnapshot;

  constructor(initial: OperationSnapshot) {
    this.snapshot = clone(initial);
    this.initial = clone(initial);
    this.quickStepsUnwritten = patched('quick-steps-not-written-running');
  }

  get current(): OperationSnapshot {
    return this.snapshot;
  }

  stepRef(step: string): StepRef {
    return { operationId: this.snapshot.id, run: this.snapshot.run, step };
  }

  private step(name: string): OperationStep {
    const step = this.snapshot.steps.find((s) => s.name === name);
    if (!step) throw ApplicationFailure.nonRetryable(`unknown step ${name}`, 'InternalError');
    return step;
  }

  private async write(): Promise<void> {
    this.snapshot.version += 1;
    this.snapshot.updatedAt = now();
    await registry.projectOperation(clone(this.snapshot));
  }

  /**
   * Shows how far a running step is (and, when given, what the operation found so far) on the
   * operation; for steps that run many things one after another (a region failover's waves).
   */
  async showProgress(name: string, progress: StepProgress, result?: Record<string, unknown>): Promise<void> {
    this.step(name).progress = progress;
    if (result) this.snapshot.result = result;
    await this.write();
  }

  /** Whether the operation has a step of that name (operations made before a step existed do not). */
  has(name: string): boolean {
    return this.snapshot.steps.some((s) => s.name === name);
  }

  /** Whether a step already took effect in an earlier run and is kept rather than repeated. */
  kept(name: string): boolean {
    return this.step(name).status === 'succeeded';
  }

  /**
   * Runs one step: marks it running, runs it, marks it succeeded (or `skipped` if it says so).
   * A `quick` step (a registry write or a check that finishes within the workflow task that
   * starts it) is not written as running: the next snapshot shows it done, one registry write and
   * one local activity fewer.
   */
  async run<T>(
    name: string,
    work: (ref: StepRef) => Promise<T>,
    { skipped, quick = false }: { skipped?: (result: T) => boolean; quick?: boolean } = {},
  ): Promise<T> {
    const step = this.step(name);
    step.status = 'running';
    step.startedAt = now();
    delete step.finishedAt;
    delete step.error;
    step.attempts += 1;
    try {
      // The "running" snapshot is written while the step runs: one round trip fewer per step.
      const shown = quick && this.quickStepsUnwritten ? Promise.resolve() : this.write();
      const [written, done] = await Promise.allSettled([shown, work(this.stepRef(name))]);
      if (done.status === 'rejected') throw done.reason;
      if (written.status === 'rejected') throw written.reason;
      const result = done.value;
      step.status = skipped?.(result) ? 'skipped' : 'succeeded';
      step.finishedAt = now();
      return result;
    } catch (err) {
      step.status = 'failed';
      step.finishedAt = now();
      step.error = errorInfoOf(err);
      throw err;
    }
  }

  /**
   * Waits at step `name` for `required` approvals, each from a principal other than the one who
   * asked for the operation (four eyes) and none twice, or for one rejection, or for `timeoutMs`
   * to pass (docs/disaster-recovery.md). Decisions arrive as the `decideApproval` update on this
   * workflow, are shown on the operation (`approval`) as they come, and are refused by the update's
   * validator when the step is not waiting. A rejection fails the step with ApprovalRejected and
   * a timeout with ApprovalTimedOut; the caller has changed nothing before it.
   */
  async awaitApproval(
    name: string,
    { required, timeoutMs }: { required: number; timeoutMs: number },
  ): Promise<ApprovalState> {
    const step = this.step(name);
    step.status = 'waiting-approval';
    step.startedAt = now();
    delete step.finishedAt;
    delete step.error;
    step.attempts += 1;
    const approval: ApprovalState = {
      required,
      timeoutAt: new Date(Date.now() + timeoutMs).toISOString(),
      decisions: [],
    };
    this.snapshot.approval = approval;
    const approvals = () => approval.decisions.filter((d) => d.decision === 'approved').length;
    const rejection = () => approval.decisions.find((d) => d.decision === 'rejected');
    let closed = false;
    setHandler(
      decideApproval,
      async ({ decision, comment, actor }) => {
        approval.decisions.push({
          decision,
          principal: actor.principal,
          role: actor.role,
          requestId: actor.requestId,
          comment,
          at: now(),
        });
        // The decision is in the audit trail before it is answered, whatever the caller does next.
        const verb = decision === 'approved' ? 'approve' : 'reject';
        await Promise.all([
          this.write(),
          registry.appendAudit({
            eventKey: `${this.snapshot.id}:${this.snapshot.run}:${verb}:${actor.principal}`,
            tenantId: this.snapshot.tenantId,
            operationId: this.snapshot.id,
            actor: actor.principal,
            actorRole: actor.role,
            requestId: actor.requestId,
            action: `operation.${verb}`,
            outcome: 'succeeded',
            detail: { run: this.snapshot.run, kind: this.snapshot.kind, comment },
          }),
        ]);
        return clone(this.snapshot);
      },
      {
        validator: ({ actor }) => {
          if (closed || step.status !== 'waiting-approval' || rejection() || approvals() >= required)
            throw refusal('NotAwaitingApproval', `operation ${this.snapshot.id} is not waiting for approval`);
          if (requesters(this.snapshot).includes(actor.principal))
            throw refusal(
              'SelfApproval',
              `${actor.principal} asked for operation ${this.snapshot.id}: someone else must approve or reject it`,
            );
          if (approval.decisions.some((d) => d.principal === actor.principal))
            throw refusal(
              'NotAwaitingApproval',
              `${actor.principal} has approved operation ${this.snapshot.id} already; ` +
                `it needs ${required} approvals from different principals`,
            );
        },
      },
    );
    await this.write();
    await condition(() => rejection() !== undefined || approvals() >= required, timeoutMs);
    // No decision is taken from here on. One accepted before is recorded and answered; the run
    // must not end before that, and it counts (it was taken in time).
    closed = true;
    await condition(allHandlersFinished);
    step.finishedAt = now();
    const rejected = rejection();
    if (!rejected && approvals() >= required) {
      step.status = 'succeeded';
      return clone(approval);
    }
    const failure = rejected
      ? refusal('ApprovalRejected', `rejected by ${rejected.principal}: ${rejected.comment}`)
      : refusal(
          'ApprovalTimedOut',
          `${approvals()} of ${required} approvals by ${approval.timeoutAt}; nothing was changed`,
        );
    step.status = 'failed';
    step.error = { type: failure.type!, message: failure.message };
    throw failure;
  }

  /**
   * Runs the undos of a failed run in reverse. One that fails in the end is noted on its step and
   * the others still run; returns the steps left not undone.
   */
  async compensate(compensations: readonly Compensation[]): Promise<string[]> {
    const left: string[] = [];
    for (const { step, undo } of [...compensations].reverse()) {
      try {
        await undo();
        this.compensated(step);
      } catch (err) {
        const { type, message } = errorInfoOf(err);
        this.step(step).error = { type, message: `could not be undone: ${message}` };
        left.push(step);
      }
    }
    return left;
  }

  /**
   * Marks a step as waiting for legal holds (what it waits for in the operation's result) and
   * writes the snapshot: the run then parks (OperationOutcome.parked) rather than ending.
   */
  async block(name: string, result: Record<string, unknown>): Promise<OperationSnapshot> {
    const step = this.step(name);
    const before = this.initial.steps.find((s) => s.name === name);
    const unchanged =
      before?.status === 'blocked-by-hold' &&
      JSON.stringify(this.initial.result) === JSON.stringify(result) &&
      this.snapshot.steps.every(
        (s) => s === step || s.status === this.initial.steps.find((i) => i.name === s.name)?.status,
      );
    step.status = 'blocked-by-hold';
    step.finishedAt = now();
    this.snapshot.result = result;
    // The same wait as when this run began: written already, and a write per look would use up
    // the run's versions over a long hold.
    if (unchanged)
      return clone({ ...this.snapshot, steps: this.initial.steps, version: this.initial.version });
    await this.write();
    return clone(this.snapshot);
  }

  /** Marks a step whose effect was undone by its compensation. */
  compensated(name: string): void {
    const step = this.step(name);
    if (step.status === 'succeeded') step.status = 'compensated';
  }

  /**
   * Ends a successful run and records its end from here, before the tenant workflow has taken the
   * outcome in: callers see `succeeded` one workflow task sooner. Acting on it at once is safe: the
   * tenant workflow judges a new request as if the operations it still has queued had succeeded.
   * A failed or cancelled run is recorded by the tenant workflow instead, once it can be retried.
   * If recording fails here, the tenant workflow records it (both writes are idempotent).
   */
  async succeeded(outcome: OperationOutcome): Promise<OperationOutcome> {
    if (!patched('success-recorded-by-child')) return outcome;
    try {
      await CancellationScope.nonCancellable(() => recordEnd(outcome.snapshot));
      return { ...outcome, recorded: true };
    } catch {
      return outcome;
    }
  }

  /**
   * Settles the run's end. The tenant workflow writes the final snapshot of a run that did not
   * succeed once it has taken the outcome in, so that whoever sees the operation ended can act on
   * it (retry it, say) at once.
   */
  finish(status: Exclude<OperationStatus, 'running'>, error?: ErrorInfo): OperationSnapshot {
    this.snapshot.status = status;
    this.snapshot.finishedAt = now();
    if (error) {
      const failedStep = this.snapshot.steps.find((s) => s.status === 'failed' || s.status === 'running');
      if (failedStep?.status === 'running') {
        failedStep.status = 'failed';
        failedStep.finishedAt = this.snapshot.finishedAt;
        failedStep.error = error;
      }
      this.snapshot.error = { ...error, ...(failedStep ? { step: failedStep.name } : {}) };
    } else {
      delete this.snapshot.error;
    }
    this.snapshot.version += 1;
    this.snapshot.updatedAt = this.snapshot.finishedAt;
    return clone(this.snapshot);
  }
}

/** A failure no retry mends, of the given kind. */
const refusal = (type: string, message: string) =>
  ApplicationFailure.create({ message, type, nonRetryable: true });

/** A run's error, naming the steps whose undo failed (their stacks or rows need a look). */
export function withLeftovers(error: ErrorInfo, left: readonly string[]): ErrorInfo {
  return left.length === 0
    ? error
    : { ...error, message: `${error.message} (not undone: ${left.join(', ')})` };
}

/**
 * Hands a run's final outcome back to the tenant workflow: always as the child workflow's result,
 * whether the run succeeded, failed or was cancelled (the snapshot says which). Children started
 * before the patch failed with the outcome in the failure's details instead; their histories
 * still replay that way.
 */
export function handBack(outcome: OperationOutcome): OperationOutcome {
  if (patched('operation-outcome-returned')) return outcome;
  throw operationFailure(outcome);
}

/**
 * Ends a run that failed or was cancelled, for operations with a point of no return (a restore's
 * switch, a failover's routing): before it, the completed steps are undone; past it, nothing is,
 * and a retry goes on from the failed step.
 */
export async function endFailedRun(
  op: OperationTracker,
  err: unknown,
  {
    compensations,
    pastNoReturn,
    tenant,
  }: { compensations: readonly Compensation[]; pastNoReturn: boolean; tenant: TenantRecord },
): Promise<OperationOutcome> {
  const error = errorInfoOf(err);
  const outcome = await CancellationScope.nonCancellable(async () => {
    const left = pastNoReturn ? [] : await op.compensate(compensations);
    const snapshot = op.finish(isCancellation(err) ? 'cancelled' : 'failed', withLeftovers(error, left));
    return { snapshot, tenant };
  });
  return handBack(outcome);
}

/** How children before the 'operation-outcome-returned' patch ended a run that did not succeed. */
function operationFailure(outcome: OperationOutcome): ApplicationFailure {
  const error = outcome.snapshot.error ?? { type: 'InternalError', message: 'operation failed' };
  return ApplicationFailure.create({
    message: error.message,
    type: error.type,
    nonRetryable: true,
    details: [outcome],
  });
}
