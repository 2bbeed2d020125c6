/**
 * One place where activity errors become Temporal failures: a LandlordError keeps its kind as the
 * failure type and is retryable only if its kind is; a failed attempt of an operation step is noted
 * in the registry so that `GET /v1/operations/{id}` shows it while the step is still retrying.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { ERROR_KINDS, LandlordError } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import type { StepRef } from './step-ref.js';

/**
 * Postgres errors about the data itself, which the same write meets again however often it is
 * retried: any data exception (class 22: a NUL in text, a value out of range), a NOT NULL, foreign
 * key, check or exclusion violation, a cardinality violation, a feature not supported. Not a unique
 * violation or an undefined object (two writers racing, a migration not landed yet: a retry can
 * succeed), nor a privilege error. The step fails at once with the database's reason.
 */
const REJECTED_DATA = /^(22[0-9A-Z]{3}|23502|23503|23514|23P01|21000|0A000)$/;

/** Whether an error is a Postgres refusal of the data as it is. */
export function isRejectedData(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REJECTED_DATA.test(code) && err instanceof Error && 'severity' in err;
}

/** Turns any thrown value into a failure that carries no stack trace or SQL text to the workflow. */
export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (err instanceof LandlordError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.kind,
      nonRetryable: !ERROR_KINDS[err.kind].retryable,
    });
  }
  if (err instanceof Error && err.name === 'AbortError' && Context.current().cancellationSignal.aborted)
    return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (isRejectedData(err))
    return ApplicationFailure.nonRetryable(`${message} (code ${String(code)})`, 'DataRejected');
  return ApplicationFailure.retryable(
    typeof code === 'string' ? `${message} (code ${code})` : message,
    err instanceof Error ? err.name : 'Error',
  );
}

class StepFailureInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly store: Registry) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      const failure = toApplicationFailure(err);
      const stepRef = (input.args[0] as { stepRef?: StepRef } | undefined)?.stepRef;
      if (stepRef && failure instanceof ApplicationFailure) {
        const { attempt } = Context.current().info;
        await this.store.operations
          .recordStepFailure(stepRef.operationId, stepRef.run, stepRef.step, attempt, {
            type: failure.type ?? 'Error',
            message: failure.message,
          })
          .catch(() => undefined);
      }
      throw failure;
    }
  }
}

export function activityInterceptors({ store }: { store: Registry }) {
  return () => ({ inbound: new StepFailureInterceptor(store) });
}
