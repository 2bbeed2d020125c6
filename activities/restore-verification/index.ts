/**
 * A restore verification run's own activities, on the lifecycle queue (docs/disaster-recovery.md):
 * its record, the sample of tenants it verifies, each tenant's latest backup and its result. The
 * restore itself is the data queue's `verifyBackupRestore`.
 */
import { randomInt } from 'node:crypto';
import type { PolicyCatalog, VerificationResult, VerificationRunRequest } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';

/** Statuses whose tenants are sampled: a suspended tenant's data is kept, so its backups must restore. */
const SAMPLED = new Set(['active', 'suspended']);
const PAGE = 200;
/** The resolution of the draw: a share is compared with an integer out of this many. */
const DRAW = 2 ** 32;

export function createRestoreVerificationActivities({
  store,
  catalog,
}: {
  store: Registry;
  /** The tiers: every tenant on one with `dr.enabled` is in each sample. */
  catalog: PolicyCatalog;
}) {
  const drTiers = new Set(catalog.tiers.filter((t) => t.dr.enabled).map((t) => t.id));
  /** Whether a tenant on no DR tier is drawn: with probability `share`, from the OS's randomness. */
  const drawn = (share: number) => share >= 1 || randomInt(DRAW) < share * DRAW;

  return {
    /**
     * Records the run (again, harmlessly, on a retry), draws its sample and records its size.
     * The sample is this activity's result, kept in the workflow's history: a replay sees the same.
     */
    async sampleRestoreVerification(request: VerificationRunRequest): Promise<{ tenantIds: string[] }> {
      await store.verifications.start(request);
      let tenantIds: string[];
      if (request.tenants) tenantIds = [...request.tenants];
      else {
        tenantIds = [];
        let cursor: string | undefined;
        do {
          const page = await store.tenants.list({ limit: PAGE, ...(cursor ? { cursor } : {}) });
          for (const t of page.items)
            if (SAMPLED.has(t.status) && (drTiers.has(t.tier) || drawn(request.share))) tenantIds.push(t.id);
          cursor = page.nextCursor;
        } while (cursor);
      }
      await store.verifications.setTotal(request.id, tenantIds.length);
      return { tenantIds };
    },

    /** The tenant's newest available backup, the one a restore today would start from; none: undefined. */
    async latestBackupToVerify({ tenantId }: { tenantId: string }): Promise<{ backupId?: string }> {
      const backup = await store.backups.latest(tenantId);
      return backup ? { backupId: backup.id } : {};
    },

    /**
     * Whether the backup a verification restored has expired since it was picked (a backup of the
     * tenant taken meanwhile expired it, file first), and if so the tenant's newest available
     * backup now, to be verified instead: a backup gone by policy is no damaged backup.
     */
    async expiredWhileVerified({
      tenantId,
      backupId,
    }: {
      tenantId: string;
      backupId: string;
    }): Promise<{ expired: boolean; latestBackupId?: string }> {
      const backup = await store.backups.get(tenantId, backupId);
      if (backup?.status !== 'expired') return { expired: false };
      const latest = await store.backups.latest(tenantId);
      return { expired: true, ...(latest ? { latestBackupId: latest.id } : {}) };
    },

    /** Records a tenant's result (once: a retry records nothing new). */
    async recordVerificationResult(result: VerificationResult): Promise<void> {
      const recorded = await store.verifications.recordResult(result);
      if (!recorded) throw new Error(`restore verification run ${result.runId} is not in the registry`);
    },

    async finishRestoreVerification({
      runId,
      status,
      error,
    }: {
      runId: string;
      status: 'succeeded' | 'failed';
      error?: { type: string; message: string };
    }): Promise<void> {
      await store.verifications.finish(runId, status, error);
    },
  };
}

export type RestoreVerificationActivities = ReturnType<typeof createRestoreVerificationActivities>;
