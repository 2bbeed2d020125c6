/**
 * Backup expiry, on the `landlord-data` queue (docs/disaster-recovery.md): a tenant's backups past
 * their `expiresAt` are deleted one by one, each with a `backup.expire` ledger record, unless a
 * legal hold of the tenant is in force. A backup holds every data class and subject of the tenant,
 * so any hold in force covers all of its backups. The newest available backup is never expired: a
 * tenant always keeps one to be restored from; nor is the newest one a restore verification found
 * whole (`verifiedAt`), the last known to restore. Each backup's deletion is safe to run again (the
 * object's delete, the ledger record's key and the catalog's mark are all idempotent), so a
 * killed attempt is resumed by the next.
 */
import { Context } from '@temporalio/activity';
import { BACKUP_SCHEDULE_PRINCIPAL, holdActive, LandlordError } from '../../domain/index.js';
import type { TenantBackup } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import type { BackupObjectStore } from './object-store.js';

export interface ExpireBackupsInput {
  stepRef?: StepRef;
  tenantId: string;
}

/** What an expiry did: the backups it deleted, and those it kept and why. */
export interface ExpiredBackups {
  expired: string[];
  /** Past their time but kept: the holds in force, by id (empty when none kept them). */
  keptByHolds: string[];
  /** Past its time but kept as the tenant's newest backup. */
  keptNewest?: string;
  /** Past its time but kept as the tenant's newest verified backup (the last known to restore). */
  keptVerified?: string;
}

export function createBackupExpiryActivities(deps: { store: Registry; backups?: BackupObjectStore }) {
  const { store } = deps;
  return {
    /** Deletes the tenant's expired backups, with their ledger records, unless a hold stops it. */
    async expireTenantBackups(input: ExpireBackupsInput): Promise<ExpiredBackups> {
      const { tenantId } = input;
      const at = new Date().toISOString();
      const due = await store.backups.expiring(tenantId, at);
      if (due.length === 0) return { expired: [], keptByHolds: [] };
      const holds = (await store.legalHolds.list(tenantId)).filter((h) => holdActive(h, at));
      if (holds.length > 0) return { expired: [], keptByHolds: holds.map((h) => h.id) };
      const backups = deps.backups;
      if (!backups)
        throw new LandlordError('Misconfigured', 'this data worker was started without a backup store');
      const newest = await store.backups.latest(tenantId);
      // Newest first: the first available one with verifiedAt is the newest known to restore.
      const verified = (await store.backups.list(tenantId)).find(
        (b) => b.status === 'available' && b.verifiedAt !== undefined,
      );
      const context = Context.current();
      const progress = stepProgressWriter(store, input.stepRef);
      const expired: string[] = [];
      let keptNewest: string | undefined;
      let keptVerified: string | undefined;
      try {
        for (const [i, backup] of due.entries()) {
          if (backup.id === newest?.id) {
            keptNewest = backup.id;
            continue;
          }
          if (backup.id === verified?.id) {
            keptVerified = backup.id;
            continue;
          }
          progress.report({ done: i, total: due.length, current: backup.id });
          context.heartbeat({ backupId: backup.id });
          await expireOne(store, backups, backup);
          expired.push(backup.id);
        }
        await progress.finish({ done: due.length, total: due.length });
      } finally {
        await progress.settle();
      }
      return {
        expired,
        keptByHolds: [],
        ...(keptNewest ? { keptNewest } : {}),
        ...(keptVerified ? { keptVerified } : {}),
      };
    },
  };
}

/** One backup's expiry: its object deleted, then its ledger record, then its mark in the catalog. */
async function expireOne(store: Registry, backups: BackupObjectStore, backup: TenantBackup): Promise<void> {
  if (backup.location !== backups.location)
    throw new LandlordError(
      'Misconfigured',
      `backup ${backup.id} of tenant ${backup.tenantId} is kept in ${backup.location}, but this data worker ` +
        `reaches ${backups.location}; it cannot expire it`,
    );
  await backups.delete(backup.objectKey);
  // Made of the backup alone: whichever operation resumes a killed expiry appends the same record,
  // which the ledger then keeps once. Expiry is the tier's policy at work, whoever took the backup.
  const record = await store.ledger.append({
    kind: 'backup.expire',
    tenantId: backup.tenantId,
    region: backup.region,
    target: `${backup.location}/${backup.objectKey}`,
    count: 1,
    unit: 'objects',
    policy: { expiresAt: backup.expiresAt, takenAt: backup.takenAt, backupId: backup.id },
    requestedBy: BACKUP_SCHEDULE_PRINCIPAL,
    recordKey: `backup.expire:${backup.tenantId}:${backup.id}`,
  });
  await store.backups.markExpired(backup.tenantId, backup.id, record.at);
}

export type BackupExpiryActivities = ReturnType<typeof createBackupExpiryActivities>;
