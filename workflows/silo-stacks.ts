import { proxyActivities } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { SiloSpec } from '../domain/index.js';
import type { StepRef } from '../activities/step-ref.js';
import type { ProvisioningActivities } from '../activities/provisioning/index.js';
import type { Compensation, OperationTracker } from './operation-tracker.js';

/** Pulumi activities on the provisioning queue: long, heartbeating, cancellable. */
export function provisioningOn(taskQueue: string) {
  return proxyActivities<ProvisioningActivities>({
    taskQueue,
    startToCloseTimeout: '30m',
    // A killed worker's update is picked up by another within a minute.
    heartbeatTimeout: '45s',
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumInterval: '1m',
      maximumAttempts: 10,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
}

/** Only string outputs travel to the primary as its DR target (bucket names, ARNs, database names). */
export const stringOutputs = (outputs: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(outputs).filter((e): e is [string, string] => typeof e[1] === 'string'));

/**
 * Applies a tenant's existing silo stacks again within one step (the standby's first, its outputs
 * the primary's DR target), as a change of their spec needs; destroys nothing on failure.
 */
export async function applySiloStacks(
  provisioningQueue: string,
  stepRef: StepRef,
  silo: { primary: SiloSpec; standby?: SiloSpec },
): Promise<void> {
  const provisioning = provisioningOn(provisioningQueue);
  let primary = silo.primary;
  if (silo.standby) {
    const standby = await provisioning.provisionSilo({ stepRef, spec: silo.standby });
    primary = { ...primary, drTarget: { region: silo.standby.region, outputs: stringOutputs(standby) } };
  }
  await provisioning.provisionSilo({ stepRef, spec: primary });
}

/**
 * Provisions a tenant's silo stacks as the steps `provision-standby` (DR tiers) and
 * `provision-primary`: the standby first, its outputs becoming the primary's DR target. Each
 * stack's destroy is registered as a compensation before its step runs, unless `retain` is set.
 * Returns each stack's non-secret outputs by region.
 */
export async function provisionSiloStacks(
  op: OperationTracker,
  provisioningQueue: string,
  silo: { primary: SiloSpec; standby?: SiloSpec },
  compensations: Compensation[],
  { retain = false }: { retain?: boolean } = {},
): Promise<Record<string, Record<string, unknown>>> {
  const provisioning = provisioningOn(provisioningQueue);
  const stacks: Record<string, Record<string, unknown>> = {};
  const provision = async (step: 'provision-standby' | 'provision-primary', spec: SiloSpec) => {
    if (!retain) compensations.push({ step, undo: () => provisioning.destroySilo({ spec }) });
    stacks[spec.region.id] = await op.run(step, (stepRef) => provisioning.provisionSilo({ stepRef, spec }));
    return stacks[spec.region.id]!;
  };
  let primary = silo.primary;
  if (silo.standby) {
    const standby = await provision('provision-standby', silo.standby);
    primary = { ...primary, drTarget: { region: silo.standby.region, outputs: stringOutputs(standby) } };
  }
  await provision('provision-primary', primary);
  return stacks;
}
