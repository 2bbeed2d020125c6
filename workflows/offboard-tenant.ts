import { servedPlacement, storeRegionsOf } from '../domain/served.js';
import {
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type {
  OffboardCount,
  OperationSnapshot,
  TenantOffboarding,
  TenantRecord,
  TenantSpec,
} from '../domain/index.js';
import type { DataActivities } from '../activities/data/index.js';
import {
  databaseCompensation,
  databases,
  dataOn,
  forwardStoreEvidence,
  keys,
  policy,
  registry,
} from './activities.js';
import { legalHoldsChanged } from './definitions.js';
import { errorInfoOf, handBack, OperationTracker, withLeftovers } from './operation-tracker.js';
import type { OperationOutcome } from './operation-tracker.js';
import { provisioningOn } from './silo-stacks.js';

const DAY_MS = 86_400_000;
/** How long a wait for holds sleeps at first, and at most, between looks (a release wakes it at once). */
const FIRST_LOOK_MS = 60_000;
const LAST_LOOK_MS = DAY_MS;

export interface OffboardInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  spec: TenantSpec;
  /** Tenant projection writes of this run use versions above this. */
  tenantVersion: number;
  provisioningQueue: string;
  dataQueue: string;
}

/**
 * After the shred, data-queue work only goes forward: retried until done, however long a data
 * worker is away (nothing times out waiting for one).
 */
function dataUntilDone(taskQueue: string) {
  return proxyActivities<DataActivities>({
    taskQueue,
    startToCloseTimeout: '2h',
    heartbeatTimeout: '1m',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '5m',
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
}

/**
 * Offboards a tenant (kind `offboard`): its access off and its status `offboarding` with the time
 * its data goes; its data exported, sealed with its key, and the export verified; the grace period
 * waited out on a durable timer; the tenant's legal holds waited for. Until here a cancel (or a
 * failure) gives the tenant back as it was, with all its data. Then, past the point of no return
 * and in a scope no cancel reaches: its data key destroyed (every export and backup sealed with it
 * unreadable from now on), its rows and objects deleted in batches with their ledger evidence
 * (waiting again should a hold be placed meanwhile), its stacks destroyed and removed or its pool
 * partition and role dropped, and its record left as a tombstone, its id reserved for good.
 */
export async function offboardTenant(input: OffboardInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const { operation } = input;
  const request = operation.input as { reason: string; graceDays: number; export: boolean };
  const before = input.tenant;
  let tenant = input.tenant;
  let version = input.tenantVersion;
  const project = async (patch: Partial<TenantRecord>) => {
    tenant = { ...tenant, ...patch, updatedAt: new Date().toISOString(), version: ++version };
    if (!tenant.offboarding) delete tenant.offboarding;
    await registry.projectTenant(tenant);
  };
  const served = servedPlacement(tenant);
  const where = { tenantId: tenant.id, region: served.region };
  const silo = tenant.deploymentModel === 'silo';
  const hasStandby = silo && tenant.drRegion !== undefined;
  // A tenant a restore moved into another region (no standby) left a fenced store behind: the
  // second store deleted, as a standby's is.
  const former = served.drRegion ?? storeRegionsOf(tenant).find((r) => r !== served.region);
  const pick = former ? { ...served, drRegion: former } : served;
  const twoStores = hasStandby || former !== undefined;
  const setAccess = (enabled: boolean) =>
    silo ? databases.setSiloLogin({ ...where, enabled }) : databases.setTenantLogin({ ...where, enabled });

  // A released hold wakes a wait for holds at once (the tenant workflow passes the signal on).
  let holdsChanged = false;
  /** The holds in force now; the flag is cleared before the read, so a release signalled during it still wakes the next wait. */
  const holdsNow = async () => {
    holdsChanged = false;
    return (await registry.activeLegalHolds(tenant.id)).map((h) => h.id);
  };
  setHandler(legalHoldsChanged, () => void (holdsChanged = true));
  /** Waits, the step shown `blocked-by-hold`, until none of the tenant's holds is in force. */
  const waitWhileHeld = async (step: string, blockedBy: string[]): Promise<void> => {
    let interval = FIRST_LOOK_MS;
    for (let held = blockedBy; held.length > 0;) {
      await op.block(step, { blockedBy: held, deletesAt: tenant.offboarding?.deletesAt });
      await condition(() => holdsChanged, interval);
      interval = Math.min(interval * 2, LAST_LOOK_MS);
      held = await holdsNow();
    }
  };

  // A retried run whose shred happened goes straight on with what follows it.
  let shredded = tenant.offboarding?.shreddedAt !== undefined;
  let accessTaken = false;
  try {
    if (!shredded) {
      const offboarding: TenantOffboarding = {
        operationId: operation.id,
        reason: request.reason,
        requestedBy: operation.actor.principal,
        requestedAt: operation.createdAt,
        // From this run's start: a run retried after a cancel waits its grace period anew.
        deletesAt: new Date(Date.parse(operation.updatedAt) + request.graceDays * DAY_MS).toISOString(),
      };
      // Undone on the way out even if the step failed or was cancelled halfway: the undo is safe.
      accessTaken = true;
      await op.run('suspend-access', async () => {
        await setAccess(false);
        await project({ status: 'offboarding', offboarding });
      });
      const data = dataOn(input.dataQueue);
      if (request.export) {
        const exported = await op.run('export', (stepRef) =>
          data.exportTenantData({ stepRef, operationId: operation.id, run: operation.run, tenant: pick }),
        );
        await op.run('verify-export', () => data.verifyTenantExport({ tenant: pick, exportId: exported.id }));
        await project({ offboarding: { ...offboarding, exportId: exported.id } });
      } else {
        for (const step of ['export', 'verify-export'])
          await op.run(step, () => Promise.resolve(), { skipped: () => true });
      }
      await op.run('grace-period', () => sleep(Math.max(0, Date.parse(offboarding.deletesAt) - Date.now())));
      await op.run('check-holds', async () => waitWhileHeld('check-holds', await holdsNow()));
      // A cancel that came in meanwhile is taken here, before the point of no return.
      if (CancellationScope.current().consideredCancelled)
        throw new CancelledFailure('the offboarding was cancelled before its key was destroyed');
    }

    // The point of no return: from the shred on, nothing is cancelled and every step is retried.
    const deleted = await CancellationScope.nonCancellable(async () => {
      if (!shredded) {
        await op.run('shred-key', async () => {
          // A hold placed since check-holds still counts.
          await waitWhileHeld('shred-key', await holdsNow());
          // Recorded before the key goes, so that nothing after it (a failed write, a retry) can
          // take the tenant for one that may still be given back.
          shredded = true;
          await project({ offboarding: { ...tenant.offboarding!, shreddedAt: new Date().toISOString() } });
          return keys.destroyTenantKey({ tenantId: tenant.id, destroyedBy: operation.actor.principal });
        });
      }
      const data = dataUntilDone(input.dataQueue);
      const counts = await op.run('delete-data', async (stepRef) => {
        // Replication would carry the primary's deletions into the standby: ended first, so each
        // store's evidence counts the rows deleted there.
        if (hasStandby && patched('offboard-stops-replication'))
          await data.stopTenantReplication({ tenant: pick });
        const done: OffboardCount[] = [];
        for (const store of twoStores ? (['primary', 'standby'] as const) : (['primary'] as const)) {
          for (;;) {
            const result = await data.deleteTenantData({
              stepRef,
              operationId: operation.id,
              tenant: pick,
              store,
              requestedBy: operation.actor.principal,
            });
            if (result.blockedBy.length === 0) {
              done.push(...result.counts);
              break;
            }
            await waitWhileHeld('delete-data', result.blockedBy);
          }
        }
        return done;
      });
      // The evidence leaves a silo's databases before they are dropped with its stacks.
      await op.run('record-evidence', () => forwardStoreEvidence(data, pick, twoStores));
      await op.run('remove-resources', async (stepRef) => {
        if (!silo) {
          for (const region of storeRegionsOf(tenant))
            await databaseCompensation.dropPartition({ tenantId: tenant.id, region });
          return;
        }
        const { silo: stacks } = await policy.validatePlacement({
          stepRef,
          spec: input.spec,
          ...(tenant.recoveryRegion ? { recoveryRegion: tenant.recoveryRegion } : {}),
        });
        if (!stacks) return;
        const provisioning = provisioningOn(input.provisioningQueue);
        // The primary first: its DR target is the standby.
        await provisioning.destroySilo({ stepRef, spec: stacks.primary, removeStack: true });
        if (stacks.standby)
          await provisioning.destroySilo({ stepRef, spec: stacks.standby, removeStack: true });
        if (stacks.recovery)
          await provisioning.destroySilo({ stepRef, spec: stacks.recovery, removeStack: true });
      });
      await op.run('tombstone', () =>
        project({
          status: 'deleted',
          resources: {},
          offboarding: { ...tenant.offboarding!, deletedAt: new Date().toISOString(), deleted: counts },
        }),
      );
      return counts;
    });
    const result = { exportId: tenant.offboarding?.exportId, deleted };
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result }, tenant });
  } catch (err) {
    const error = errorInfoOf(err);
    const snapshot = await CancellationScope.nonCancellable(async () => {
      // Before the shred, a cancel or a failure gives the tenant back as it was, data and all.
      let left: string[] = [];
      if (!shredded && accessTaken) {
        try {
          if (before.status === 'active') await setAccess(true);
          op.compensated('suspend-access');
        } catch {
          left = ['suspend-access'];
        }
        await project({ status: before.status, offboarding: undefined });
      }
      return op.finish(isCancellation(err) ? 'cancelled' : 'failed', withLeftovers(error, left));
    });
    return handBack({ snapshot, tenant });
  }
}
