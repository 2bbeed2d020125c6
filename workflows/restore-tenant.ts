import { servedPlacement } from '../domain/served.js';
import { CancellationScope, patched } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord } from '../domain/index.js';
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

export interface RestoreTenantInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  tenantVersion: number;
  dataQueue: string;
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
 */
export async function restoreTenant(input: RestoreTenantInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const data = dataOn(input.dataQueue);
  const cleanup = dataCleanup(input.dataQueue);
  const { backupId } = input.operation.input as { backupId: string };
  const { id, tier, region, deploymentModel } = servedPlacement(input.tenant);
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
  const setWrites = (via: typeof databases, writable: boolean) =>
    deploymentModel === 'pool'
      ? via.setTenantWrites({ ...where, writable })
      : input.tenant.status === 'suspended'
        ? Promise.resolve()
        : via.setSiloLogin({ ...where, enabled: writable });
  const compensations: Compensation[] = [];
  let switched = false;
  try {
    if (!op.kept('approval')) await op.awaitApproval('approval', await policy.approvalPolicy({ tier }));
    // Recovery time counts from the approval (the decision to recover) to writes back on.
    const approvedAt = Date.now();

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
      compensations.push({
        step: 'freeze-writes',
        undo: async () => {
          await setWrites(databaseCompensation, true);
          await project({}, ['readOnly']);
        },
      });
      // Not cancellable once begun: a cancel must not race its own undo.
      await CancellationScope.nonCancellable(() =>
        op.run('freeze-writes', async () => {
          await setWrites(databases, false);
          await project({ readOnly: { since: new Date().toISOString(), operationId: input.operation.id } });
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
      return { backupId, ...restored, forwarded, measured };
    });
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result }, tenant });
  } catch (err) {
    return endFailedRun(op, err, { compensations, pastNoReturn: switched, tenant });
  }
}
