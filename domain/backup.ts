/**
 * Tenant backups (docs/disaster-recovery.md): one sealed archive per backup holding every manifest
 * table of the tenant as Postgres COPY text, read in one REPEATABLE READ snapshot, with a manifest
 * of columns, row counts and checksums; encrypted with the tenant's data key. The catalog in the
 * registry says where each one is and when it expires. No Node built-ins, no zod: workflow code
 * imports this module.
 */

/** The one archive layout there is: a tar of `tables/<table>/<chunk>.copy` files and `backup.json`. */
export const BACKUP_FORMAT = 'tar+pgcopy';

/** A backup's id: `backup_` and 16 hex characters, derived from the operation that took it. */
export const BACKUP_ID_PATTERN = /^backup_[0-9a-f]{16}$/;

/**
 * One table of a backup: its columns in COPY order, its rows, and the SHA-256 (hex) of its COPY
 * text (every chunk of it, in order).
 */
export interface BackedUpTable {
  name: string;
  columns: string[];
  rows: number;
  sha256: string;
}

/** What a backup's archive says of itself in `backup.json`, its last entry. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  application: string;
  schemaVersion: string;
  tenantId: string;
  backupId: string;
  /** When its snapshot was taken (ISO): its newest data is from then. */
  takenAt: string;
  /** Where its rows were read: the region, and whether from the pool or the tenant's silo. */
  region: string;
  deploymentModel: 'pool' | 'silo';
  tables: BackedUpTable[];
}

export const BACKUP_STATUSES = ['available', 'expired'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];

/** A tenant's backup as the registry's catalog records it. */
export interface TenantBackup {
  id: string;
  tenantId: string;
  /** The operation that took it. */
  operationId: string;
  takenAt: string;
  region: string;
  deploymentModel: 'pool' | 'silo';
  /** The tenant data key it is sealed with. */
  keyId: string;
  format: typeof BACKUP_FORMAT;
  /** Where it is kept: `local` (the data folder's backups/) or the `s3://` / `gs://` URL configured. */
  location: string;
  /** Its key within that location: `<tenant>/<backup id>.backup`. */
  objectKey: string;
  /** Size of the sealed file, in bytes. */
  bytes: number;
  /** SHA-256 (hex) of the sealed file. */
  sha256: string;
  /** The application's latest migration applied in the tenant's database when it was taken. */
  schemaVersion: string;
  tables: BackedUpTable[];
  /** When it expires: taken at plus the tier's `backup.retentionDays` (a legal hold keeps it longer). */
  expiresAt: string;
  status: BackupStatus;
  /** When its file was deleted, as a `backup.expire` ledger record says. */
  expiredAt?: string;
  /** The latest restore verification that found it whole (ISO). */
  verifiedAt?: string;
}

/** The key of a backup's file within its location. */
export const backupObjectKey = (tenantId: string, backupId: string): string =>
  `${tenantId}/${backupId}.backup`;

/** The Temporal Schedule that finds tenants due for a backup (client/backup-schedule.ts). */
export const BACKUP_SCHEDULE_ID = 'landlord-backups';
/** Who the scheduled backups and every backup expiry are recorded as asked by. */
export const BACKUP_SCHEDULE_PRINCIPAL = `schedule:${BACKUP_SCHEDULE_ID}`;

/**
 * Why `backup` cannot be restored into the tenant as it is now, or undefined: it holds the rows of
 * the other deployment model (taken before a tier move), or a legal hold of the tenant is in force
 * (`holdIds`: a restore replaces all of its rows, so every hold covers some of them).
 */
export function backupRestoreRefusal(
  tenant: { id: string; deploymentModel: 'pool' | 'silo' },
  backup: Pick<TenantBackup, 'id' | 'deploymentModel'>,
  holdIds: readonly string[],
): string | undefined {
  if (backup.deploymentModel !== tenant.deploymentModel)
    return (
      `backup ${backup.id} holds tenant "${tenant.id}"'s rows as a ${backup.deploymentModel} tenant, and it is a ` +
      `${tenant.deploymentModel} tenant now; restore a backup taken since it moved`
    );
  if (holdIds.length > 0)
    return (
      `a restore replaces all of tenant "${tenant.id}"'s rows, and legal hold ${holdIds.join(', ')} ` +
      'covers some of them; release the hold first'
    );
  return undefined;
}
