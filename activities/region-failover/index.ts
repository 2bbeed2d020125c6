/**
 * A region failover's activities (docs/disaster-recovery.md): its plan, read from the registry,
 * and each tenant's failover asked of the tenant's own workflow, pre-approved by the region's
 * operation, and waited for.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { operationEnded } from '../operation-ended.js';
import { requestTenantOperation } from '../../client/tenant-operations.js';
import { backupRestoreRefusal, holdActive } from '../../domain/index.js';
import type { PolicyCatalog } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';

/** What a region failover will do, as its `plan` step shows it to the approver. */
export interface RegionFailoverPlan {
  region: string;
  drPartner?: string;
  /** DR tenants homed in the region and served from it: each gets a failover. */
  failover: { tenantId: string; tier: string }[];
  /** Already served from their DR region (failed over, or restored there): nothing to do. */
  alreadyFailedOver: string[];
  /**
   * Tenants of the region without a standby (pool tiers, premium): recovered in the partner
   * region by a restore from their latest backup, within the RTO their tier promises.
   */
  withoutDr: { tenantId: string; tier: string; rto: string }[];
}

/** One tenant's part of a region failover. */
export interface RegionFailoverPart {
  tenantId: string;
  status: 'succeeded' | 'failed' | 'skipped';
  operationId?: string;
  reason?: string;
  measured?: { rtoMs: number; rpoMs: number; rtoMet: boolean; rpoMet: boolean };
}

const PAGE = 200;

export function createRegionFailoverActivities({
  client,
  store,
  catalog,
}: {
  client: Client;
  store: Registry;
  catalog: PolicyCatalog;
}) {
  const ended = (id: string) => operationEnded(store, id);

  return {
    /**
     * Every active or suspended tenant homed in the region, sorted into what the runbook does with
     * it. For a drill (`everyone`) every one of them is drilled, standby or not.
     */
    async planRegionFailover({
      region,
      everyone = false,
    }: {
      region: string;
      everyone?: boolean;
    }): Promise<RegionFailoverPlan> {
      const partner = catalog.regions.find((r) => r.id === region)?.drPartner;
      const plan: RegionFailoverPlan = {
        region,
        ...(partner ? { drPartner: partner } : {}),
        failover: [],
        alreadyFailedOver: [],
        withoutDr: [],
      };
      let cursor: string | undefined;
      do {
        const page = await store.tenants.list({ region, limit: PAGE, ...(cursor ? { cursor } : {}) });
        for (const t of page.items) {
          if (t.status !== 'active' && t.status !== 'suspended') continue;
          if (everyone) plan.failover.push({ tenantId: t.id, tier: t.tier });
          else if (t.activeRegion && t.activeRegion !== t.region) plan.alreadyFailedOver.push(t.id);
          else if (t.deploymentModel === 'silo' && t.drRegion)
            plan.failover.push({ tenantId: t.id, tier: t.tier });
          else {
            const rto = catalog.tiers.find((x) => x.id === t.tier)?.dr.rto ?? 'unknown';
            plan.withoutDr.push({ tenantId: t.id, tier: t.tier, rto });
          }
        }
        cursor = page.nextCursor;
      } while (cursor);
      return plan;
    },

    /**
     * Asks the tenant's workflow for a failover pre-approved by the region's operation (once: the
     * update's id is the region operation's and the tenant's), waits for it to end, and returns
     * its part. A tenant that cannot take it (its workflow refuses) is skipped, said so.
     */
    async failOverTenantOfRegion({
      regionOperationId,
      tenantId,
      requestedBy,
      reason,
      kind = 'failover',
      region,
    }: {
      regionOperationId: string;
      tenantId: string;
      requestedBy: string;
      reason?: string;
      /**
       * `drill`: a region drill's part, a drill of the tenant (no approval needed); `restore`: a
       * tenant without DR restored from its latest available backup into `region`, pre-approved.
       */
      kind?: 'failover' | 'drill' | 'restore';
      region?: string;
    }): Promise<RegionFailoverPart> {
      try {
        const actor = { principal: requestedBy, role: 'operator', requestId: regionOperationId };
        const updateId = `region-${kind}:${regionOperationId}:${tenantId}`;
        let request: Parameters<typeof requestTenantOperation>[2];
        if (kind === 'restore') {
          // The backup is chosen once: a retried activity whose update was accepted asks again with
          // the same update id, and Temporal answers with the first request's operation.
          // What the API checks before it asks for a restore, checked here too: refused, nothing starts.
          const at = new Date().toISOString();
          const [tenant, backup, holds] = await Promise.all([
            store.tenants.get(tenantId),
            store.backups.latest(tenantId, at),
            store.legalHolds.list(tenantId),
          ]);
          const modelOrHold =
            tenant && backup
              ? backupRestoreRefusal(
                  tenant,
                  backup,
                  holds.filter((h) => holdActive(h, at)).map((h) => h.id),
                )
              : undefined;
          const refused =
            !region || !tenant
              ? `PolicyViolation: tenant ${tenantId} has no partner region to be restored in`
              : !backup
                ? `NotFound: tenant ${tenantId} has no available backup to restore in ${region}`
                : modelOrHold && `PolicyViolation: ${modelOrHold}`;
          if (refused || !backup || !region) return { tenantId, status: 'failed', reason: refused };
          request = { kind, actor, backupId: backup.id, region, approvedBy: regionOperationId };
        } else
          request =
            kind === 'failover'
              ? { kind, actor, approvedBy: regionOperationId, ...(reason ? { reason } : {}) }
              : { kind, actor, regionOperationId };
        const accepted = await requestTenantOperation(client, tenantId, request, updateId);
        const op = await ended(accepted.id);
        const measured = (op.result as { measured?: RegionFailoverPart['measured'] } | undefined)?.measured;
        return {
          tenantId,
          operationId: op.id,
          status: op.status === 'succeeded' ? 'succeeded' : 'failed',
          ...(op.error ? { reason: `${op.error.type}: ${op.error.message}` } : {}),
          ...(measured
            ? {
                measured: {
                  rtoMs: measured.rtoMs,
                  rpoMs: measured.rpoMs,
                  rtoMet: measured.rtoMet,
                  rpoMet: measured.rpoMet,
                },
              }
            : {}),
        };
      } catch (err) {
        const refused =
          err instanceof WorkflowNotFoundError ||
          (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure);
        if (!refused) throw err;
        const reason =
          err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure
            ? err.cause.message
            : 'the tenant has no lifecycle workflow';
        return { tenantId, status: 'skipped', reason };
      }
    },
  };
}

export type RegionFailoverActivities = ReturnType<typeof createRegionFailoverActivities>;
