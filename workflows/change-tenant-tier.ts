import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { OperationSnapshot, TenantRecord, TenantSpec } from '../domain/index.js';
import { dataOn, policy, databases, databaseCompensation, registry } from './activities.js';
import { errorInfoOf, OperationTracker, handBack, withLeftovers } from './operation-tracker.js';
import type { Compensation, OperationOutcome } from './operation-tracker.js';
import { provisionSiloStacks } from './silo-stacks.js';

export interface ChangeTierInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  spec: TenantSpec;
  /** The tier to move to. */
  tier: string;
  /** Tenant projection writes of this run use versions above this. */
  tenantVersion: number;
  provisioningQueue: string;
  dataQueue: string;
}

/**
 * Moves a tenant to another tier. Between pool tiers the record and its role's connection limit
 * change. From the pool to a
 * silo tier: provision the silo (standby first for DR tiers), make the tenant read-only, copy its
 * rows into the silo and check the counts, switch the registry's routing to the silo, remove the
 * pool rows, and make it writable again. A failure or cancellation before the switch undoes it all:
 * the tenant stays on its pool, writable, and the silo is destroyed. From the switch on, the
 * remaining steps only go forward (retried until they succeed, and not cancellable).
 */
export async function changeTenantTier(input: ChangeTierInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const where = { tenantId: input.tenant.id, region: input.tenant.region };
  let tenantVersion = input.tenantVersion;
  let tenant = input.tenant;
  const project = async (patch: Partial<TenantRecord>, drop: (keyof TenantRecord)[] = []) => {
    tenant = { ...tenant, ...patch, updatedAt: new Date().toISOString(), version: ++tenantVersion };
    for (const key of drop) delete tenant[key];
    await registry.projectTenant(tenant);
  };
  const compensations: Compensation[] = [];
  let switched = false;

  try {
    const placement = await op.run('validate', async (stepRef) => {
      // A new silo's buckets must not expire what the tenant's holds cover (histories from before
      // read none).
      const holds = patched('tier-move-reads-holds') ? await registry.activeLegalHolds(input.tenant.id) : [];
      return policy.validatePlacement({
        stepRef,
        spec: { ...input.spec, tier: input.tier },
        holds,
        // The silo's storage lifecycle follows the tenant's own choices where the new tier allows them.
        ...(input.tenant.retention ? { retention: input.tenant.retention } : {}),
      });
    });
    if (!placement.silo) {
      await op.run('switch-routing', async (stepRef) => {
        // The new tier's connection limit for the tenant's role (histories from before keep none).
        if (patched('tier-connection-limit'))
          await databases.setTenantConnectionLimit({
            stepRef,
            ...where,
            connectionLimit: placement.connectionLimit,
          });
        await project({ tier: input.tier });
      });
      return op.succeeded({ snapshot: op.finish('succeeded'), tenant });
    }

    const data = dataOn(input.dataQueue);
    const stacks = await provisionSiloStacks(op, input.provisioningQueue, placement.silo, compensations);

    compensations.push({
      step: 'freeze-writes',
      undo: async () => {
        await databaseCompensation.setTenantWrites({ ...where, writable: true });
        await project({}, ['readOnly']);
      },
    });
    // Not cancellable once begun: a cancel must not race its own undo (the freeze could land after
    // the thaw). The data worker is checked first, so that no tenant is frozen with nobody to copy it.
    await CancellationScope.nonCancellable(() =>
      op.run('freeze-writes', async (stepRef) => {
        await data.checkCopyable({ stepRef, ...where });
        await databases.setTenantWrites({ stepRef, ...where, writable: false });
        await project({ readOnly: { since: new Date().toISOString(), operationId: input.operation.id } });
      }),
    );
    const copied = await op.run('copy-data', (stepRef) => data.copyTenantToSilo({ stepRef, ...where }));
    const counts = await op.run('verify-data', (stepRef) => data.verifyTenantCopy({ stepRef, ...where }));

    // The point of no return: from here the tenant lives in its silo.
    const pooled = (input.tenant.resources.pool ?? {}) as { adminUserId?: string };
    await CancellationScope.nonCancellable(async () => {
      await op.run('switch-routing', async () => {
        await project({
          tier: input.tier,
          deploymentModel: 'silo',
          ...(placement.drRegion ? { drRegion: placement.drRegion } : {}),
          resources: {
            silo: { stacks, ...(pooled.adminUserId ? { adminUserId: pooled.adminUserId } : {}) },
          },
        });
        switched = true;
      });
      await op.run('remove-pool-data', (stepRef) =>
        databaseCompensation.dropPartition({ stepRef, ...where }),
      );
      await op.run('resume-writes', () => project({}, ['readOnly']));
    });
    const snapshot = op.finish('succeeded');
    return op.succeeded({ snapshot: { ...snapshot, result: { copied, verified: counts } }, tenant });
  } catch (err) {
    const error = errorInfoOf(err);
    const outcome = await CancellationScope.nonCancellable(async () => {
      // Past the switch the tenant lives in its silo: nothing is undone (the rest only goes forward).
      const left = switched ? [] : await op.compensate(compensations);
      const snapshot = op.finish(isCancellation(err) ? 'cancelled' : 'failed', withLeftovers(error, left));
      return { snapshot, tenant };
    });
    return handBack(outcome);
  }
}
