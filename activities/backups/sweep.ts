/**
 * The backup sweep's activities, on the lifecycle queue (docs/disaster-recovery.md): which
 * tenants are due for a backup on their tier's cadence, and a `backup` operation asked of each
 * one's workflow, which runs it in the tenant's turn (never alongside its tier move, restore or
 * offboarding). The sweep does not wait for the backups: each is an operation of its own, with its
 * own steps, retries and audit event.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { BACKUP_SCHEDULE_PRINCIPAL, durationMs } from '../../domain/index.js';
import type { PolicyCatalog } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';
import { requestTenantOperation } from '../../client/tenant-operations.js';

/** Statuses whose tenants are backed up: a suspended tenant's data is kept, so it is backed up too. */
const BACKED_UP = new Set(['active', 'suspended']);
const PAGE = 100;

export interface DuePage {
  tenantIds: string[];
  /** Where the next page starts; absent after the last. */
  next?: string;
}

/** What asking a page of tenants for their backups came to. */
export interface BackupRequests {
  requested: number;
  /** Tenants that could not take one now (a backup already queued, a status that changed). */
  skipped: number;
}

/**
 * Whether a tenant whose last backup was taken at `last` is due at `at`, for a sweep every
 * `sweepMs`: due when the next sweep would be late, so that backups come at the tier's cadence
 * and not a sweep interval after it.
 */
export function backupDue(last: string | undefined, cadenceMs: number, sweepMs: number, at: number): boolean {
  if (last === undefined) return true;
  return Date.parse(last) + cadenceMs - sweepMs <= at;
}

export function createBackupSweepActivities({
  client,
  store,
  catalog,
}: {
  client: Client;
  store: Registry;
  catalog: PolicyCatalog;
}) {
  const cadenceOf = new Map(catalog.tiers.map((t) => [t.id, durationMs(t.backup.cadence)]));
  return {
    /** A page of the tenants due for a backup at `at` (ISO), for a sweep every `sweepMs`. */
    async dueForBackupPage({
      after,
      at,
      sweepMs,
    }: {
      after?: string;
      at: string;
      sweepMs: number;
    }): Promise<DuePage> {
      const { items, nextCursor } = await store.tenants.list({
        limit: PAGE,
        ...(after ? { cursor: after } : {}),
      });
      const candidates = items.filter((t) => BACKED_UP.has(t.status) && cadenceOf.has(t.tier));
      const last = await store.backups.lastTakenAt(candidates.map((t) => t.id));
      const now = Date.parse(at);
      const due = candidates.filter((t) => backupDue(last.get(t.id), cadenceOf.get(t.tier)!, sweepMs, now));
      // A tenant whose last backup failed is asked again after its cadence (an hour at most), not at
      // every sweep: a region this worker cannot reach would otherwise fail a backup every few minutes.
      const failedLately = await Promise.all(
        due.map(async (t) => {
          const [latest] = await store.operations.list({ tenantId: t.id, kind: 'backup', limit: 1 });
          const backoff = Math.min(cadenceOf.get(t.tier)!, 3_600_000);
          return (
            latest?.status === 'failed' && Date.parse(latest.finishedAt ?? latest.updatedAt) > now - backoff
          );
        }),
      );
      return {
        tenantIds: due.filter((_, i) => !failedLately[i]).map((t) => t.id),
        ...(nextCursor ? { next: nextCursor } : {}),
      };
    },

    /**
     * Asks each tenant's workflow for a `backup` operation, once per sweep (the update's id is the
     * sweep's and the tenant's, so a retried attempt asks for nothing new).
     */
    async requestBackups({
      sweepId,
      tenantIds,
    }: {
      sweepId: string;
      tenantIds: string[];
    }): Promise<BackupRequests> {
      const counts: BackupRequests = { requested: 0, skipped: 0 };
      for (const tenantId of tenantIds) {
        try {
          await requestTenantOperation(
            client,
            tenantId,
            {
              kind: 'backup',
              actor: { principal: BACKUP_SCHEDULE_PRINCIPAL, role: 'schedule', requestId: sweepId },
            },
            `backup:${sweepId}:${tenantId}`,
          );
          counts.requested += 1;
        } catch (err) {
          // A refusal (a backup already queued, a tenant offboarding meanwhile) waits for the next sweep.
          const refused =
            err instanceof WorkflowNotFoundError ||
            (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure);
          if (!refused) throw err;
          counts.skipped += 1;
        }
      }
      return counts;
    },
  };
}

export type BackupSweepActivities = ReturnType<typeof createBackupSweepActivities>;
