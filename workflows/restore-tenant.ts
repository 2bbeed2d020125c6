import { routedTo, servedPlacement } from '../domain/served.js';
import { ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord, TenantSpec } from '../domain/index.js';
import {
  dataCleanup,
  dataOn,
  databaseCompensation,
  databases,
  forwardStoreEvidence,
  policy,
  registry,
} from './activities.js';
import { endFailedRun, OperationTracker } from './operation-tracker.js';
import type { Compensation, OperationOutcome } from './operation-tracker.js';
import { provisioningOn, stringOutputs } from './silo-stacks.js';

export interface RestoreTenantInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  tenantVersion: number;
  dataQueue: string;
  /** A restore into another region builds the tenant's store there: its spec, and Pulumi's queue. */
  spec?: TenantSpec;
  provisioningQueue?: string;
}

/**
 * Restores a tenant from one of its backups (kind `restore`, docs/disaster-recovery.md):
 * - `approval`: waits for the approvals its tier needs, none from the requester; a rejection or
 *   the timeout ends it having changed nothing;
 * - `freeze-writes`: a pool tenant's role may only read; a silo tenant's login is off;
 * - `stage-restore`: the backup restored beside the live data (a silo: into a staging database)
 *   with every erasure made after the backup was taken re-applied, and checked;
 * - `switch`: the staged database takes the live one's place, or a pool tenant's rows are
 *   replaced in one transaction;
 * - `record-evidence`: the re-applied erasures' evidence into the ledger; `thaw`: writes back.
 * A failure or cancel before the switch undoes the freeze and drops what was staged: the tenant is
 * as it was, and a retry starts again from the failed step (an approval given stays given). From
 * the switch on, the remaining steps only go forward.
 *
 * With `region` (a tenant without a standby, restored into its home region's DR partner or back
 * home): `prepare-region` first builds its store there (a pool partition, or a silo stack, its login
 * off; recorded on the tenant as `recoveryRegion` before it is made, so offboarding finds whatever
 * it leaves), `freeze-writes` fences the serving store (login off; a server that does not answer is
 * passed over), the backup is staged and switched in there, and `switch-routing` makes it the
 * serving store. The store left behind stays fenced.
 */
export async function restoreTenant(input: RestoreTenantInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const data = dataOn(input.dataQueue);
  const cleanup = dataCleanup(input.dataQueue);
  const {
    backupId,
    region: target,
    approvedBy,
  } = input.operation.input as { backupId: string; region?: string; approvedBy?: string };
  // Where the tenant is served from as this run starts (on a retry after `switch-routing`, the
  // target), and where the backup goes.
  const { id, tier, region: source, deploymentModel } = servedPlacement(input.tenant);
  const relocate = target !== undefined;
  const region = target ?? source;
  const home = input.tenant.region;
  const tenantRef = { id, tier, region, deploymentModel };
  const where = { tenantId: id, region };
  let tenant = input.tenant;
  let tenantVersion = input.tenantVersion;
  const project = async (patch: Partial<TenantRecord>, drop: (keyof TenantRecord)[] = []) => {
    tenant = { ...tenant, ...patch, updatedAt: new Date().toISOString(), version: ++tenantVersion };
    for (const key of drop) delete tenant[key];
    await registry.projectTenant(tenant);
  };
  // A pool tenant keeps reading while frozen; a silo's staging database takes the live one's name,
  // which needs its sessions gone, so its login is off. A suspended tenant's login stays off after.
  // Moving elsewhere, the serving store is fenced instead, and the target's login comes on at the thaw.
  const setWrites = (via: typeof databases, writable: boolean) =>
    relocate
      ? writable && input.tenant.status === 'suspended'
        ? Promise.resolve()
        : via.fenceTenantStore({ ...where, deploymentModel, enabled: writable }).then(() => undefined)
      : deploymentModel === 'pool'
        ? via.setTenantWrites({ ...where, writable })
        : input.tenant.status === 'suspended'
          ? Promise.resolve()
          : via.setSiloLogin({ ...where, enabled: writable });
  const compensations: Compensation[] = [];
  let switched = false;

  /**
   * Builds the tenant's store in the target region (nothing to build at home: its home store is
   * there), its login off until the thaw. Recorded on the tenant once policy allows it, before it is
   * made: offboarding then removes whatever a build cut short leaves.
   */
  const prepareRegion = () =>
    op.run('prepare-region', async (stepRef) => {
      if (region === home) return { region, built: false };
      if (!input.spec || !input.provisioningQueue)
        throw ApplicationFailure.nonRetryable(
          `tenant ${id}'s workflow has no spec of it to build its store in ${region} from`,
          'Misconfigured',
        );
      const placement = await policy.validatePlacement({ stepRef, spec: input.spec, recoveryRegion: region });
      if (tenant.recoveryRegion !== region) await project({ recoveryRegion: region });
      if (deploymentModel === 'pool') {
        await databases.createPartition({
          stepRef,
          tenantId: id,
          region,
          connectionLimit: placement.connectionLimit,
          login: false,
        });
        return { region, built: true };
      }
      const outputs = await provisioningOn(input.provisioningQueue).provisionSilo({
        stepRef,
        spec: placement.silo!.recovery!,
      });
      // The stack's role may log in as made: off until the restored rows serve.
      await databases.setSiloLogin({ tenantId: id, region, enabled: false });
      const silo = (tenant.resources.silo ?? {}) as { stacks?: Record<string, unknown> };
      await project({
        resources: {
          ...tenant.resources,
          silo: { ...silo, stacks: { ...silo.stacks, [region]: stringOutputs(outputs) } },
        },
      });
      return { region, built: true };
    });
  try {
    if (!op.kept('approval'))
      if (approvedBy)
        // Asked by a region failover, whose approval (checked again here) stands for this one.
        await op.run('approval', () => registry.regionApproval({ operationId: approvedBy, region: home }), {
          quick: true,
        });
      else await op.awaitApproval('approval', await policy.approvalPolicy({ tier }));
    // Recovery time counts from the approval (the decision to recover) to writes back on.
    const approvedAt = Date.now();
    if (relocate && !op.kept('prepare-region')) await prepareRegion();

    // What a restore stages and records derives from its operation alone (no run): a retried run
    // finds what an earlier one switched, and goes on from there.
    const run = {
      operationId: input.operation.id,
      tenant: tenantRef,
      backupId,
      requestedBy: input.operation.actor.principal,
    };
    const tookEffect = () => data.restoreTookEffect({ tenant: tenantRef, operationId: run.operationId });
    let stagedDatabase: string | undefined;
    if (!op.kept('switch') && !(await tookEffect())) {
      // Moving elsewhere, the serving store is fenced; one whose server did not answer has nothing to undo.
      let fenced = false;
      compensations.push({
        step: 'freeze-writes',
        undo: async () => {
          if (!relocate) await setWrites(databaseCompensation, true);
          // Tried a few times, not for ever: a server that went down since stays fenced, said so.
          else if (fenced && input.tenant.status !== 'suspended')
            await databases.fenceTenantStore({
              tenantId: id,
              region: source,
              deploymentModel,
              enabled: true,
            });
          await project({}, ['readOnly']);
        },
      });
      // Not cancellable once begun: a cancel must not race its own undo.
      await CancellationScope.nonCancellable(() =>
        op.run('freeze-writes', async () => {
          const readOnly = { since: new Date().toISOString(), operationId: input.operation.id };
          if (!relocate) {
            await setWrites(databases, false);
            await project({ readOnly });
            return undefined;
          }
          fenced = true;
          const fence = await databases.fenceTenantStore({
            tenantId: id,
            region: source,
            deploymentModel,
            enabled: false,
          });
          fenced = fence.fenced;
          await project({ readOnly });
          return fence;
        }),
      );
      // Registered first: a stage that fails halfway may leave a staging database behind.
      compensations.push({
        step: 'stage-restore',
        undo: () =>
          cleanup.discardStagedRestore({
            tenant: tenantRef,
            operationId: run.operationId,
            ...(stagedDatabase ? { stagedDatabase } : {}),
          }),
      });
      const staged = await op.run('stage-restore', (stepRef) => data.stageTenantRestore({ stepRef, ...run }));
      stagedDatabase = staged.stagedDatabase;
    }

    // The point of no return: from here the tenant's data is the backup's.
    const result = await CancellationScope.nonCancellable(async () => {
      // A DR standby replicating from the live database would hold its slot (which no database
      // drop removes) and then follow nothing: replication ends before the switch and starts
      // again, re-seeding the standby from the restored rows, once writes are back on.
      const served = servedPlacement(input.tenant);
      const replicated =
        !relocate &&
        served.deploymentModel === 'silo' &&
        served.drRegion !== undefined &&
        patched('restore-restarts-replication')
          ? {
              id,
              deploymentModel,
              region: input.tenant.region,
              drRegion: input.tenant.drRegion!,
              ...(input.tenant.activeRegion ? { activeRegion: input.tenant.activeRegion } : {}),
            }
          : undefined;
      let restored;
      try {
        restored = await op.run('switch', async (stepRef) => {
          if (replicated)
            await data.stopTenantReplication({
              tenant: replicated,
              why: 'to restore the tenant from a backup',
            });
          return data.switchRestoredTenant({
            stepRef,
            ...run,
            ...(stagedDatabase ? { stagedDatabase } : {}),
          });
        });
      } catch (err) {
        // A switch that took effect before it failed is never undone: the tenant stays frozen
        // until a retry finishes it.
        if (await tookEffect().catch(() => false)) switched = true;
        throw err;
      }
      switched = true;
      if (relocate && !op.kept('switch-routing'))
        await op.run('switch-routing', () =>
          region === home
            ? project(routedTo(tenant, region), ['activeRegion'])
            : project({ ...routedTo(tenant, region), activeRegion: region }),
        );
      // Writes back on first: the evidence waits safely in the outbox meanwhile.
      await op.run('thaw', async () => {
        await setWrites(databaseCompensation, true);
        await project({}, ['readOnly']);
        if (replicated) await data.startTenantReplication({ tenant: replicated });
      });
      const forwarded = await op.run('record-evidence', () => forwardStoreEvidence(data, tenantRef, false));
      const targets = await policy.recoveryTargets({ tier });
      const rtoMs = Date.now() - approvedAt;
      const rpoMs = Date.parse(input.operation.createdAt) - Date.parse(restored.takenAt);
      const measured = {
        rtoMs,
        rpoMs,
        rtoTargetMs: targets.rtoMs,
        rpoTargetMs: targets.rpoMs,
        rtoMet: rtoMs <= targets.rtoMs,
        rpoMet: rpoMs <= targets.rpoMs,
      };
      return {
        backupId,
        ...(relocate ? { region: { ...(source !== region ? { from: source } : {}), to: region } } : {}),
        ...restored,
        forwarded,
        measured,
      };
    });
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result }, tenant });
  } catch (err) {
    return endFailedRun(op, err, { compensations, pastNoReturn: switched, tenant });
  }
}
