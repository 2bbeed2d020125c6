import { CancelledFailure, Context } from '@temporalio/activity';
import type { OperationSnapshot } from '../domain/index.js';
import type { Registry } from '../registry/index.js';

/**
 * Waits, inside an activity, for operation `id` to end, heartbeating: the registry's long poll
 * wakes it at once. A cancelled activity (its run, or a worker shutting down) stops waiting; the
 * operation itself goes on.
 */
export async function operationEnded(store: Registry, id: string): Promise<OperationSnapshot> {
  const context = Context.current();
  for (;;) {
    context.heartbeat();
    if (context.cancellationSignal.aborted)
      throw new CancelledFailure(`stopped waiting for operation ${id}: the activity was cancelled`);
    const op = await store.operations.get(id);
    if (!op) throw new Error(`operation ${id} is not in the registry`);
    if (op.status !== 'running') return op;
    await store.operations.waitUntilEnded(id, 20_000, context.cancellationSignal);
  }
}
