import { servedPlacement } from '../domain/served.js';
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { ErasureCount, OperationSnapshot, TenantRecord } from '../domain/index.js';
import type { ErasureHolds } from '../activities/erasure/index.js';
import { dataOn, dataOnTheWayOut, erasures, forwardStoreEvidence } from './activities.js';
import { errorInfoOf, handBack, OperationTracker } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';

export interface EraseSubjectInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  dataQueue: string;
}

/**
 * Erases one data subject's data from a tenant (kind `erase-subject`): the request begun and its
 * holds read; the primary's rows and objects erased in batches on the data queue, then the DR
 * standby's; their evidence forwarded to the ledger; the request ended with its subject
 * forgotten. While a legal hold covers the subject or its data, the run parks (gives up the
 * tenant's turn, the step `blocked-by-hold`) and starts again from the top once a hold of the
 * tenant is released: every step is safe to run again, and batches already done are counted from
 * their evidence.
 */
export async function eraseSubject(input: EraseSubjectInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const { erasureId } = input.operation.input as { erasureId: string };
  const ref = { tenantId: input.tenant.id, erasureId, operationId: input.operation.id };
  const data = dataOn(input.dataQueue);
  // The served store first, then the other (after a failover: the DR one, then home).
  const { id, tier, region, drRegion, deploymentModel } = servedPlacement(input.tenant);
  const tenant = { id, tier, region, deploymentModel, ...(drRegion ? { drRegion } : {}) };
  const hasStandby = deploymentModel === 'silo' && drRegion !== undefined;
  /** Moves what the batches committed from the databases' outboxes into the ledger. */
  const forwardEvidence = (via = data) => forwardStoreEvidence(via, tenant, hasStandby);
  const park = async (step: string, holds: ErasureHolds): Promise<OperationOutcome> => {
    // A wait may last months: what was erased before the hold is in the ledger meanwhile.
    if (step !== 'check-holds') await forwardEvidence();
    return {
      snapshot: await op.block(step, { erasureId, blockedBy: holds.blockedBy }),
      parked: holds.endsBy ? { until: holds.endsBy } : {},
    };
  };
  try {
    const begun = await op.run('check-holds', () => erasures.beginErasure(ref), { quick: true });
    if (begun.blockedBy.length > 0) return await park('check-holds', begun);
    const counts: ErasureCount[] = [];
    for (const store of ['primary', 'standby'] as const) {
      const step = store === 'primary' ? 'erase-primary' : 'erase-standby';
      const present = store === 'primary' || hasStandby;
      const erased = await op.run(
        step,
        (stepRef) =>
          present
            ? data.eraseSubjectData({
                stepRef,
                operationId: input.operation.id,
                erasureId,
                tenant,
                store,
                subjectHmac: begun.subjectHmac,
                requestedBy: input.operation.actor.principal,
              })
            : Promise.resolve({ blockedBy: [], counts: [] }),
        { skipped: () => !present },
      );
      counts.push(...erased.counts);
      if (erased.blockedBy.length > 0)
        return await park(
          step,
          await erasures.erasureBlocked({ ...ref, blockedBy: erased.blockedBy, counts }),
        );
      if (present) await erasures.erasureProgress({ ...ref, counts });
    }
    const forwarded = await op.run('record-evidence', () => forwardEvidence());
    const { erasedAt } = await op.run(
      'record-erasure',
      () => erasures.completeErasure({ ...ref, subjectHmac: begun.subjectHmac, counts }),
      { quick: true },
    );
    const result = { erasureId, subjectHmac: begun.subjectHmac, counts, forwarded, erasedAt };
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result } });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () => {
      // Batches that committed before the end are deletions all the same: they go to the ledger
      // now rather than wait for the tenant's next retention part to drain its outbox.
      await forwardEvidence(dataOnTheWayOut(input.dataQueue)).catch(() => undefined);
      return op.finish(isCancellation(err) ? 'cancelled' : 'failed', error);
    });
    return handBack({ snapshot });
  }
}
