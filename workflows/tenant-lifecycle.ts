/**
 * One tenant's lifecycle state and what the tenant workflow does with it: take requests in,
 * queue them, run them one at a time through the operation table (operation-kinds.ts), and record
 * every end. The workflow function (tenant.ts) only wires Temporal's handlers and loop to it.
 */
import {
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  uuid4,
} from '@temporalio/workflow';
import { findUnsafeText } from '../domain/unsafe-text.js';
import type {
  Actor,
  OperationPlan,
  OperationRequest,
  OperationSnapshot,
  TenantRecord,
  TenantSpec,
  TenantStatus,
} from '../domain/index.js';
import { registry } from './activities.js';
import { legalHoldsChanged } from './definitions.js';
import type { OperationRef, TenantView } from './definitions.js';
import { kindOf, retryRefusal, statusAfter, transitionRefusal } from './operation-kinds.js';
import type { TenantFacts } from './operation-kinds.js';
import { errorInfoOf, recordEnd } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';
import { firstVersionOf, nextTenantBlock, ownWriteVersion } from './versions.js';

/** Operations kept in workflow state for cancel and retry; older ones live only in the registry. */
const RECENT_OPERATIONS = 50;

/** What the tenant workflow carries across continue-as-new. */
export interface TenantState {
  tenantId: string;
  status: TenantStatus | 'absent';
  tenant?: TenantRecord;
  spec?: TenantSpec;
  createdAt?: string;
  /** Where its onboarding places it, from the onboarding's request (TenantFacts.plan). */
  plan?: OperationPlan;
  /** Highest tenant projection version allotted so far. */
  tenantVersion: number;
  /** Recent operations, oldest first. */
  operations: OperationSnapshot[];
  /** Ids of operations waiting to run, the running one first. */
  queue: string[];
  /** Operations waiting for legal holds to end (OperationOutcome.parked), out of the queue meanwhile. */
  parked?: ParkedOperation[];
}

/** An operation parked until a hold is released, or `until` (ISO) passes. */
export interface ParkedOperation {
  id: string;
  until?: string;
  /** When it parked (ISO): it looks at its holds again an hour later at the latest. */
  at?: string;
}

/**
 * How long a parked operation waits at most before it looks at its holds again: a release wakes it
 * at once (legalHoldsChanged), this is for a release whose signal was lost.
 */
const PARKED_RECHECK_MS = 3_600_000;

export const refuse = (message: string, type = 'InvalidTransition') =>
  ApplicationFailure.nonRetryable(message, type);

export class TenantLifecycle {
  private running: { id: string; scope: CancellationScope } | undefined;
  /** Queued operations whose acceptance the registry has not recorded yet; they wait to run. */
  private readonly unconfirmed = new Set<string>();
  /** A hold was released: every parked operation looks at its holds again. */
  private holdsChanged = false;
  /** The last run parked its operation rather than ending it. */
  private parkedNow: ParkedOperation | undefined;

  constructor(
    readonly state: TenantState,
    private readonly queues: { provisioning: string; data: string },
  ) {}

  static fresh(tenantId: string): TenantState {
    return { tenantId, status: 'absent', tenantVersion: 0, operations: [], queue: [] };
  }

  /** Whether the operation at the head of the queue may run. */
  get headReady(): boolean {
    return this.state.queue.length > 0 && !this.unconfirmed.has(this.state.queue[0]!);
  }

  get idle(): boolean {
    return this.state.queue.length === 0;
  }

  find(id: string): OperationSnapshot | undefined {
    return this.state.operations.find((o) => o.id === id);
  }

  private replace(snapshot: OperationSnapshot): void {
    const { state } = this;
    const i = state.operations.findIndex((o) => o.id === snapshot.id);
    if (i >= 0) state.operations[i] = snapshot;
    else state.operations.push(snapshot);
    // Forget the oldest finished operations beyond the limit; queued and parked ones are kept.
    const waiting = (id: string) =>
      state.queue.includes(id) || (state.parked?.some((p) => p.id === id) ?? false);
    while (state.operations.length > RECENT_OPERATIONS && !waiting(state.operations[0]!.id))
      state.operations.shift();
  }

  private facts(): TenantFacts {
    const { state } = this;
    return {
      tenantId: state.tenantId,
      status: state.status,
      ...(state.tenant ? { tenant: state.tenant } : {}),
      ...(state.spec ? { spec: state.spec } : {}),
      ...(state.createdAt ? { createdAt: state.createdAt } : {}),
      ...(state.plan ? { plan: state.plan } : {}),
      queued: state.queue.map((id) => this.find(id)).filter((o) => o !== undefined),
    };
  }

  view(): TenantView {
    return {
      tenantId: this.state.tenantId,
      status: this.state.status,
      ...(this.running ? { current: this.running.id } : {}),
      queued: [...this.state.queue],
      ...(this.state.parked?.length ? { parked: this.state.parked.map((p) => p.id) } : {}),
    };
  }

  // --- parked operations ---------------------------------------------------------------------

  /** A hold of the tenant changed: parked operations are due to look at their holds again. */
  legalHoldsChanged(): void {
    // Kept even with nothing parked yet: the running operation may park having read the holds before.
    this.holdsChanged = true;
  }

  /**
   * Passes a hold's release on to the running operation, which may be waiting for holds in place
   * (an offboarding past its grace period). One that has just ended misses nothing.
   */
  async passHoldsChangeOn(): Promise<void> {
    if (!this.running) return;
    try {
      await getExternalWorkflowHandle(this.running.id).signal(legalHoldsChanged);
    } catch {
      // It ended meanwhile.
    }
  }

  /** Milliseconds until the next parked operation is due, or undefined when none is parked. */
  msUntilParkedDue(now: number): number | undefined {
    const parked = this.state.parked;
    if (!parked?.length) return undefined;
    if (this.holdsChanged) return 0;
    return Math.max(0, Math.min(...parked.map((p) => this.dueAt(p))) - now);
  }

  private dueAt(p: ParkedOperation): number {
    const since = p.at ?? this.find(p.id)?.updatedAt ?? new Date(0).toISOString();
    const recheck = Date.parse(since) + PARKED_RECHECK_MS;
    return p.until ? Math.min(Date.parse(p.until), recheck) : recheck;
  }

  /** Puts the parked operations that are due back at the end of the queue. */
  unparkDue(now: number): void {
    const parked = this.state.parked;
    if (!parked?.length) return;
    const due = parked.filter((p) => this.holdsChanged || this.dueAt(p) <= now);
    this.holdsChanged = false;
    if (due.length === 0) return;
    this.state.parked = parked.filter((p) => !due.includes(p));
    this.state.queue.push(...due.map((p) => p.id));
  }

  // --- requests ------------------------------------------------------------------------------

  /** Refuses a request before anything is recorded: malformed, unstorable, or not allowed now. */
  validateRequest(request: OperationRequest): void {
    const entry = kindOf(request.kind);
    const facts = this.facts();
    const malformed = entry.malformed?.(request, facts);
    if (malformed) throw refuse(malformed, 'ValidationFailed');
    // Text the registry cannot store would fail every projection of the operation.
    const unsafe = findUnsafeText({ ...request, kind: undefined, actor: undefined })[0];
    if (unsafe) throw refuse(`${unsafe.path.join('.')} ${unsafe.message}`, 'ValidationFailed');
    // Judged against the tenant as it will be once everything queued has succeeded.
    const status = statusAfter(
      this.state.status,
      facts.queued.map((o) => o.kind),
    );
    const refusal = transitionRefusal(request.kind, status);
    if (refusal) throw refuse(refusal);
    const more = entry.refusal?.(request, facts);
    if (more) throw refuse(more.message, more.type);
  }

  async request(request: OperationRequest): Promise<OperationSnapshot> {
    const at = new Date().toISOString();
    const entry = kindOf(request.kind);
    Object.assign(this.state, entry.accepted?.(request, this.facts(), at) ?? {});
    const snapshot: OperationSnapshot = {
      id: `op-${uuid4()}`,
      tenantId: this.state.tenantId,
      kind: request.kind,
      status: 'running',
      run: 1,
      steps: entry.steps(request),
      actor: request.actor,
      input: entry.input(request, this.facts()),
      createdAt: at,
      updatedAt: at,
      version: firstVersionOf(1),
    };
    return this.accept(snapshot, request.actor);
  }

  validateRetry({ operationId }: OperationRef): void {
    const op = this.find(operationId);
    if (!op)
      throw refuse(`operation ${operationId} is too old to retry; start a new one`, 'OperationNotRetryable');
    if (op.status !== 'failed' && op.status !== 'cancelled')
      throw refuse(
        `operation ${operationId} is ${op.status}; only a failed or cancelled operation can be retried`,
        'OperationNotRetryable',
      );
    if (!this.idle)
      throw refuse('another operation of this tenant is queued or running', 'OperationNotRetryable');
    if (this.state.operations.at(-1)?.id !== operationId)
      throw refuse(`a later operation of this tenant has run since ${operationId}`, 'OperationNotRetryable');
    const refusal = retryRefusal(op.kind, this.state.status);
    if (refusal) throw refuse(refusal);
  }

  async retry({ operationId, actor }: OperationRef): Promise<OperationSnapshot> {
    const previous = this.find(operationId)!;
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
      version: firstVersionOf(previous.run + 1),
    };
    delete snapshot.error;
    delete snapshot.finishedAt;
    return this.accept(snapshot, actor);
  }

  private isParked(operationId: string): boolean {
    return this.state.parked?.some((p) => p.id === operationId) ?? false;
  }

  validateCancel({ operationId }: OperationRef): void {
    const op = this.find(operationId);
    const waiting = this.state.queue.includes(operationId) || this.isParked(operationId);
    if (!op || op.status !== 'running' || !waiting)
      throw refuse(`operation ${operationId} is not running`, 'OperationNotCancellable');
  }

  async cancel({ operationId, actor }: OperationRef): Promise<OperationSnapshot> {
    if (this.running?.id === operationId) {
      this.running.scope.cancel();
      return this.find(operationId)!;
    }
    // Still queued: it never started, so there is nothing to undo. Parked: what it did stands, and
    // what it waited to do is not done.
    const parked = this.isParked(operationId);
    this.state.queue = this.state.queue.filter((id) => id !== operationId);
    if (parked) this.state.parked = this.state.parked!.filter((p) => p.id !== operationId);
    const op = this.find(operationId)!;
    const at = new Date().toISOString();
    const cancelled: OperationSnapshot = {
      ...op,
      status: 'cancelled',
      error: {
        type: 'OperationCancelled',
        message: parked
          ? `cancelled by ${actor.principal} while it waited for legal holds`
          : `cancelled by ${actor.principal} before it started`,
      },
      updatedAt: at,
      finishedAt: at,
      // Above what a parked run's children wrote, however often they looked at their holds.
      version: Math.max(ownWriteVersion(op.run), op.version + 1),
    };
    this.replace(cancelled);
    await registry.projectOperation(cancelled);
    return cancelled;
  }

  /**
   * Queues an accepted run (so that later requests are validated behind it) and records it. It
   * runs only once the registry has it: if the registry refuses it, it is dropped having done
   * nothing. Histories recorded before the patch started the operation at once.
   */
  private async accept(snapshot: OperationSnapshot, actor: Actor): Promise<OperationSnapshot> {
    const { state } = this;
    const before = this.find(snapshot.id);
    this.replace(snapshot);
    state.queue.push(snapshot.id);
    const confirmFirst = patched('run-after-accepted');
    if (confirmFirst) this.unconfirmed.add(snapshot.id);
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
      () => this.unconfirmed.delete(snapshot.id),
      (err: unknown) => {
        if (confirmFirst) {
          // The registry refused the operation for good: it is not taken, as if never asked for.
          this.unconfirmed.delete(snapshot.id);
          state.queue = state.queue.filter((id) => id !== snapshot.id);
          if (before) this.replace(before);
          else state.operations = state.operations.filter((o) => o.id !== snapshot.id);
        }
        throw err;
      },
    );
    return snapshot;
  }

  // --- runs ----------------------------------------------------------------------------------

  /** Runs the operation at the head of the queue to its end, and takes it off the queue. */
  async runNext(): Promise<void> {
    const id = this.state.queue[0]!;
    this.parkedNow = undefined;
    const op = this.find(id);
    // Only an operation this workflow no longer holds (none should be): dropped, not run.
    if (op) await this.runOperation(op);
    this.state.queue = this.state.queue.filter((queued) => queued !== id);
    if (this.parkedNow) this.state.parked = [...(this.state.parked ?? []), this.parkedNow];
  }

  private async runOperation(op: OperationSnapshot): Promise<void> {
    const { state } = this;
    const entry = kindOf(op.kind);
    // Re-checked at its turn: an operation queued behind one that failed may no longer apply.
    const refusal =
      op.run > 1 ? retryRefusal(op.kind, state.status) : transitionRefusal(op.kind, state.status);
    if (refusal) return this.endHere(op, 'failed', { type: 'InvalidTransition', message: refusal });
    const atTurn = entry.refusalAtTurn?.(op, this.facts());
    if (atTurn) return this.endHere(op, 'failed', atTurn);
    state.tenantVersion = nextTenantBlock(state.tenantVersion);
    const context = {
      facts: this.facts(),
      tenantVersion: state.tenantVersion,
      provisioningQueue: this.queues.provisioning,
      dataQueue: this.queues.data,
    };
    const scope = new CancellationScope();
    this.running = { id: op.id, scope };
    try {
      const outcome = await scope.run(() => entry.run(op, context));
      await this.apply(outcome);
    } catch (err) {
      const outcome = outcomeInFailure(err);
      await CancellationScope.nonCancellable(() =>
        outcome
          ? this.apply(outcome)
          : this.endHere(op, isCancellation(err) ? 'cancelled' : 'failed', errorInfoOf(err)),
      );
    } finally {
      this.running = undefined;
    }
  }

  /** Takes in a run's outcome, then records its end in the registry and the audit trail. */
  private async apply(outcome: OperationOutcome): Promise<void> {
    const { state } = this;
    const { snapshot } = outcome;
    this.replace(snapshot);
    if (outcome.parked) {
      // Not ended: the child wrote its waiting snapshot; it runs again when due.
      this.parkedNow = {
        id: snapshot.id,
        at: new Date().toISOString(),
        ...(outcome.parked.until ? { until: outcome.parked.until } : {}),
      };
      return;
    }
    if (outcome.tenant) {
      state.tenant = outcome.tenant;
      // A tier change moves the spec with it: later operations (drift checks) read the tier from it.
      if (state.spec && state.spec.tier !== outcome.tenant.tier)
        state.spec = { ...state.spec, tier: outcome.tenant.tier };
      state.status = outcome.tenant.status;
      state.tenantVersion = Math.max(state.tenantVersion, outcome.tenant.version);
    }
    // A successful run's child recorded its end itself (OperationTracker.succeeded).
    if (outcome.recorded) return;
    await recordEnd(snapshot, { inOrder: patched('audit-before-operation-end') });
  }

  /** Ends an operation the tenant workflow itself had to stop (refused at its turn, or lost its child). */
  private async endHere(
    op: OperationSnapshot,
    status: 'failed' | 'cancelled',
    error: { type: string; message: string },
  ): Promise<void> {
    const at = new Date().toISOString();
    await this.apply({
      snapshot: {
        ...op,
        status,
        error,
        updatedAt: at,
        finishedAt: at,
        version: Math.max(ownWriteVersion(op.run), op.version + 1),
      },
    });
  }
}

/** The outcome a child started before the 'operation-outcome-returned' patch put in its failure's details. */
function outcomeInFailure(err: unknown): OperationOutcome | undefined {
  let cause: unknown = err;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.details?.[0])
      return cause.details[0] as OperationOutcome;
    cause = cause.cause;
  }
  return undefined;
}
