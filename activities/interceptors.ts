/**
 * One place where activity errors become Temporal failures: a LandlordError keeps its kind as the
 * failure type and is retryable only if its kind is; a failed attempt of an operation step is noted
 * in the registry so that `GET /v1/operations/{id}` shows it while the step is still retrying.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { ERROR_KINDS, LandlordError } from '../domain/index.js';
import type { RegistryStore } from './registry/store.js';
import type { StepRef } from './step-ref.js';

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
  return ApplicationFailure.retryable(
    typeof code === 'string' ? `${message} (code ${code})` : message,
    err instanceof Error ? err.name : 'Error',
  );
}

class StepFailureInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly store: RegistryStore) {}

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
        await this.store
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

export function activityInterceptors({ store }: { store: RegistryStore }) {
  return () => ({ inbound: new StepFailureInterceptor(store) });
}
