import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  cancelOperation,
  legalHoldsChanged,
  requestOperation,
  retryOperation,
  tenantView,
} from './definitions.js';
import type { OperationRequest } from './definitions.js';
import { TenantLifecycle } from './tenant-lifecycle.js';
import type { TenantState } from './tenant-lifecycle.js';

export type { TenantState };

export interface TenantWorkflowInput {
  tenantId: string;
  /** Task queue of the provisioning workers, where silo operations run their Pulumi activities. */
  provisioningQueue: string;
  /** Task queue of the data workers, where rows are moved. */
  dataQueue?: string;
  state?: TenantState;
}

/**
 * The single writer of one tenant's lifecycle (workflow id `tenant:<id>`). Operations arrive as
 * updates, are validated before anything runs, and run one at a time as child workflows; what
 * each kind needs is in the operation table (operation-kinds.ts), the state in TenantLifecycle.
 */
export async function tenantWorkflow(input: TenantWorkflowInput): Promise<void> {
  const lifecycle = new TenantLifecycle(input.state ?? TenantLifecycle.fresh(input.tenantId), {
    provisioning: input.provisioningQueue,
    // Workflows started before the data queue existed derive it from the provisioning one.
    data: input.dataQueue ?? input.provisioningQueue.replace(/provisioning$/, 'data'),
  });

  setHandler(requestOperation, (request: OperationRequest) => lifecycle.request(request), {
    validator: (request: OperationRequest) => lifecycle.validateRequest(request),
  });
  setHandler(retryOperation, (ref) => lifecycle.retry(ref), {
    validator: (ref) => lifecycle.validateRetry(ref),
  });
  setHandler(cancelOperation, (ref) => lifecycle.cancel(ref), {
    validator: (ref) => lifecycle.validateCancel(ref),
  });
  setHandler(tenantView, () => lifecycle.view());
  setHandler(legalHoldsChanged, async () => {
    lifecycle.legalHoldsChanged();
    await lifecycle.passHoldsChangeOn();
  });

  for (;;) {
    const ready = () => lifecycle.headReady || (lifecycle.idle && workflowInfo().continueAsNewSuggested);
    // Only a tenant with parked operations waits with a timer: other histories replay unchanged.
    const parkedDue = lifecycle.msUntilParkedDue(Date.now());
    if (parkedDue === undefined) await condition(ready);
    else if (parkedDue > 0)
      await condition(() => ready() || lifecycle.msUntilParkedDue(Date.now()) === 0, parkedDue);
    lifecycle.unparkDue(Date.now());
    if (lifecycle.idle) {
      if (!workflowInfo().continueAsNewSuggested) continue;
      await condition(allHandlersFinished);
      if (lifecycle.idle) return continueAsNew<typeof tenantWorkflow>({ ...input, state: lifecycle.state });
      continue;
    }
    // Woken by a parked operation's time while the head still waits for its acceptance record.
    if (!lifecycle.headReady) continue;
    await lifecycle.runNext();
  }
}
