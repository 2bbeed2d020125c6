import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
} from '@temporalio/workflow';
import type { StepRef } from '../activities/step-ref.js';
import { activeRegionOf, routedTo, servedPlacement } from '../domain/served.js';
import type { OperationSnapshot, TenantRecord } from '../domain/index.js';
import { dataCleanup, dataOn, forwardStoreEvidence, policy, registry } from './activities.js';
import { endFailedRun, errorInfoOf, OperationTracker } from './operation-tracker.js';
import type { Compensation, OperationOutcome } from './operation-tracker.js';

export interface FailoverTenantInput {
  operation: OperationSnapshot;
  tenant: TenantRecord;
  tenantVersion: number;
  dataQueue: string;
}

/** A tenant as the replication activities see it. */
const replicated = (t: TenantRecord) => ({
  id: t.id,
  region: t.region,
  deploymentModel: t.deploymentModel,
  ...(t.drRegion ? { drRegion: t.drRegion } : {}),
  ...(t.activeRegion ? { activeRegion: t.activeRegion } : {}),
});

/**
 * Fails a DR tenant over to its standby in the DR partner region (kind `failover`,
 * docs/disaster-recovery.md), or back home (kind `failback`):
 * - `approval`: four eyes, as for a restore; a rejection or the timeout changes nothing;
 * - failover: `fence-primary` (the home silo's login off; a home server that does not answer is
 *   passed over), `promote-standby` (caught up with the home silo where it answers, replication
 *   ended, sequences moved on, erasures applied again, login on), `switch-routing` (`activeRegion`
 *   and the registry's resources), `verify`;
 * - failback: `reseed-home` (the home silo emptied and copied afresh from the DR one, streaming),
 *   `fence-standby`, `promote-home` (caught up: a failback loses nothing), `switch-routing`,
 *   `verify`, `resume-replication` (the DR standby re-seeded from home).
 * A failure before the switch gives the fenced store its login back; from the switch on, the
 * remaining steps only go forward, and a retry goes on from the failed one.
 */
export async function failoverTenant(input: FailoverTenantInput): Promise<OperationOutcome> {
  const op = new OperationTracker(input.operation);
  const back = input.operation.kind === 'failback';
  const data = dataOn(input.dataQueue);
  const cleanup = dataCleanup(input.dataQueue);
  // `approvedBy`: asked by a region failover, whose approval (checked again here) stands for this one.
  const { requestedBy, approvedBy } = input.operation.input as { requestedBy: string; approvedBy?: string };
  let tenant = input.tenant;
  let tenantVersion = input.tenantVersion;
  // The record changes here only once the registry holds it: a failed write leaves it as it was.
  const project = async (patch: Partial<TenantRecord>, drop: (keyof TenantRecord)[] = []) => {
    const next = { ...tenant, ...patch, updatedAt: new Date().toISOString(), version: tenantVersion + 1 };
    for (const key of drop) delete next[key];
    await registry.projectTenant(next);
    tenant = next;
    tenantVersion += 1;
  };
  const home = tenant.region;
  const dr = tenant.drRegion!;
  // Where the tenant is served from before the switch, and after it.
  const from = back ? dr : home;
  const to = back ? home : dr;
  const step = {
    fence: back ? 'fence-standby' : 'fence-primary',
    promote: back ? 'promote-home' : 'promote-standby',
  } as const;
  const compensations: Compensation[] = [];
  let switched = activeRegionOf(tenant) === to;
  let backfilled:
    { backupId: string; takenAt: string; erasuresReapplied: number; rowsErased: number } | undefined;
  let backfillSkipped: string | undefined;
  // Replication broke: the standby copied afresh from the fenced home, or why that failed.
  let reseeded = false;
  let reseedFailed: string | undefined;

  /**
   * Restores the backup over the promoted standby's rows (as a restore does: staged beside them,
   * every erasure since the backup applied again, checked, switched in), then turns its login on.
   * A legal hold of the tenant stops it (a restore never overwrites held rows): the standby's own
   * rows then serve, and the result says why.
   */
  const backfill = async (
    stepRef: StepRef,
    backup: { id: string; takenAt: string },
    login: boolean,
  ): Promise<
    { backupId: string; takenAt: string; erasuresReapplied: number; rowsErased: number } | { skipped: string }
  > => {
    const run = {
      operationId: input.operation.id,
      tenant: { id: tenant.id, tier: tenant.tier, region: to, deploymentModel: 'silo' as const },
      backupId: backup.id,
      requestedBy,
    };
    let outcome;
    try {
      const staged = await data.stageTenantRestore({ stepRef, ...run });
      outcome = await data.switchRestoredTenant({ stepRef, ...run, stagedDatabase: staged.stagedDatabase! });
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || cause.type !== 'PolicyViolation') throw err;
      await cleanup.discardStagedRestore({ tenant: run.tenant, operationId: run.operationId });
      outcome = { skipped: cause.message };
    }
    if (login) await data.setTenantStoreLogin({ tenant: replicated(tenant), region: to, enabled: true });
    return 'skipped' in outcome
      ? outcome
      : {
          backupId: backup.id,
          takenAt: outcome.takenAt,
          erasuresReapplied: outcome.erasuresReapplied,
          rowsErased: outcome.rowsErased,
        };
  };
  try {
    if (!op.kept('approval'))
      if (approvedBy)
        await op.run('approval', () => registry.regionApproval({ operationId: approvedBy, region: home }), {
          quick: true,
        });
      else await op.awaitApproval('approval', await policy.approvalPolicy({ tier: tenant.tier }));
    const approvedAt = Date.now();
    const before = { ...replicated(tenant), ...(back ? { activeRegion: dr } : {}) };

    let promoted: { rowsErased: number; erasuresReapplied: number; slotDropped: boolean } | undefined;
    let caughtUp = true;
    let newestDataAt: string | undefined;
    let fenced = true;
    // Set once the promotion itself begins (replication may end from then on).
    let promoting = false;
    if (!switched) {
      if (back && !op.kept('reseed-home'))
        await op.run('reseed-home', async () => {
          await data.startTenantReplication({ tenant: before });
          return data.awaitReplicationStreaming({ tenant: before });
        });
      compensations.push({
        step: step.fence,
        // A store that was not fenced (its server did not answer) has nothing to undo.
        undo: async () => {
          if (fenced) await cleanup.setTenantStoreLogin({ tenant: before, region: from, enabled: true });
        },
      });
      // Not cancellable once begun: a cancel must not race its own undo.
      // A retry after the promotion (its switch failed) goes on from the switch: both are kept.
      const promotedBefore = op.kept(step.promote);
      if (promotedBefore) {
        caughtUp = false;
        fenced = false;
      } else {
        const fence = await CancellationScope.nonCancellable(() =>
          op.run(step.fence, () =>
            data.setTenantStoreLogin({ tenant: before, region: from, enabled: false }),
          ),
        );
        fenced = fence.fenced;
      }
      // A promotion that failed halfway may have ended replication: it starts again (re-seeding
      // the store that was to be promoted) once the fenced one takes writes again.
      compensations.push({
        step: step.promote,
        undo: async () => {
          if (fenced && promoting) await cleanup.startTenantReplication({ tenant: before });
        },
      });
      const result = promotedBefore
        ? undefined
        : await op.run(step.promote, async (stepRef) => {
            // A failover waits up to two minutes for the standby to hold everything the fenced home
            // silo committed; a home server that is down is not waited for.
            let caught = await data.catchUpStandby({ tenant: before, waitMs: fenced ? 120_000 : 5_000 });
            const recover = !back && !caught.caughtUp && patched('failover-backfills-from-backup');
            // Replication broke, and home answered its fence: the standby copied afresh from it
            // loses nothing. Should that fail too (home's silo unreachable after all), the backup.
            if (recover && fenced)
              try {
                await data.startTenantReplication({ tenant: before });
                await data.awaitReplicationStreaming({ tenant: before, timeoutMs: 600_000 });
                caught = await data.catchUpStandby({ tenant: before, waitMs: 120_000 });
                if (caught.caughtUp) reseeded = true;
              } catch (err) {
                if (isCancellation(err)) throw err;
                reseedFailed = errorInfoOf(err).message;
              }
            // A standby that fell behind the latest backup (replication broke before it was taken)
            // gets the backup's rows instead of its own: they are newer.
            const behind =
              recover && !caught.caughtUp
                ? await data.backupNewerThan({
                    tenantId: tenant.id,
                    ...(caught.newestDataAt ? { since: caught.newestDataAt } : {}),
                  })
                : null;
            // A standby that never held a heartbeat never streamed: promoting it would serve nothing.
            if (!caught.caughtUp && !caught.newestDataAt && !behind)
              throw ApplicationFailure.nonRetryable(
                `the store in ${to} holds no replicated data (${caught.reason ?? 'it never streamed'}); ` +
                  'recover the tenant there with a restore from its latest backup instead',
                'PolicyViolation',
              );
            if (back && !caught.caughtUp)
              throw ApplicationFailure.nonRetryable(
                `the home silo has not caught up with ${dr} (${caught.reason ?? 'no heartbeat seen'}); ` +
                  'a failback loses nothing, so it stops here: retry it once replication streams',
                'ReplicationBroken',
              );
            promoting = true;
            const login = tenant.status !== 'suspended';
            const done = await data.promoteTenantStore({
              tenant: before,
              operationId: stepRef.operationId,
              requestedBy,
              // Backfilled, the login comes on once the backup's rows are in.
              login: login && !behind,
              ...(caught.newestDataAt ? { newestDataAt: caught.newestDataAt } : {}),
            });
            const backfilled = behind ? await backfill(stepRef, behind, login) : undefined;
            return { caught, done, ...(backfilled ? { backfilled } : {}) };
          });
      if (result) {
        caughtUp = result.caught.caughtUp;
        newestDataAt = result.caught.newestDataAt;
        promoted = result.done;
        if (result.backfilled && 'backupId' in result.backfilled) {
          backfilled = result.backfilled;
          newestDataAt = result.backfilled.takenAt;
          promoted = { ...promoted, rowsErased: result.backfilled.rowsErased };
        } else if (result.backfilled) backfillSkipped = result.backfilled.skipped;
      }
    }

    // The point of no return: the promoted store takes writes from here on, so a failure from here
    // is never undone; a retry goes on from the switch.
    const result = await CancellationScope.nonCancellable(async () => {
      if (!switched) {
        switched = true;
        await op.run('switch-routing', () =>
          back
            ? project(routedTo(tenant, home), ['activeRegion'])
            : project({ ...routedTo(tenant, dr), activeRegion: dr }),
        );
      }
      const served = replicated(tenant);
      const verified = await op.run('verify', async () => {
        const checked = await data.verifyServedStore({
          tenant: served,
          login: tenant.status !== 'suspended',
          ...(caughtUp && fenced ? { compareWith: from } : {}),
          erasedRows: promoted?.rowsErased ?? 0,
        });
        const forwarded = await forwardStoreEvidence(data, servedPlacement(tenant), false);
        return { ...checked, forwarded };
      });
      if (back)
        await op.run('resume-replication', async () => {
          await data.startTenantReplication({ tenant: served });
          return data.awaitReplicationStreaming({ tenant: served });
        });
      else await data.measureTenantReplication({ tenant: served, waitMs: 5_000 }).catch(() => undefined);
      const targets = await policy.recoveryTargets({ tier: tenant.tier });
      const rtoMs = Date.now() - approvedAt;
      // Caught up after the fence, nothing is lost; otherwise at most what came after the
      // standby's newest data. Unknown (a retry after the promotion): everything since the approval.
      const rpoMs = caughtUp ? 0 : newestDataAt ? Math.max(0, approvedAt - Date.parse(newestDataAt)) : rtoMs;
      const measured = {
        rtoMs,
        rpoMs,
        rtoTargetMs: targets.rtoMs,
        rpoTargetMs: targets.rpoMs,
        rtoMet: rtoMs <= targets.rtoMs,
        rpoMet: rpoMs <= targets.rpoMs,
      };
      return {
        from,
        to,
        fenced,
        caughtUp,
        ...(newestDataAt ? { newestDataAt } : {}),
        ...(backfilled ? { backfilledFrom: backfilled } : {}),
        ...(backfillSkipped ? { backfillSkipped } : {}),
        ...(reseeded ? { reseededFromHome: true } : {}),
        ...(reseedFailed ? { reseedFailed } : {}),
        ...(promoted
          ? { erasuresReapplied: promoted.erasuresReapplied, rowsErased: promoted.rowsErased }
          : {}),
        rows: verified.rows,
        forwarded: verified.forwarded,
        measured,
      };
    });
    return op.succeeded({ snapshot: { ...op.finish('succeeded'), result }, tenant });
  } catch (err) {
    return endFailedRun(op, err, { compensations, pastNoReturn: switched, tenant });
  }
}
