import type { Region } from './policy.js';

/** Owner roles' names begin so; tenants' roles begin `tenant_` (pool) or `silo_`. */
export const SILO_OWNER_PREFIX = 'landlord_owner_';

/** The silo database's name (and its tenant role's); used by Landlord's activities and the local Pulumi program alike. */
export function siloDatabaseName(tenantId: string): string {
  return `silo_${tenantId.replaceAll('-', '_')}`;
}

/**
 * The names of a tenant's silo objects on its region's server. The owner's name has a prefix no
 * tenant id yields (tenant roles are `tenant_…` and `silo_…`), so no tenant's role can be another
 * tenant's owner.
 */
export function siloNames(tenantId: string): { database: string; role: string; owner: string } {
  const database = siloDatabaseName(tenantId);
  return { database, role: database, owner: `${SILO_OWNER_PREFIX}${tenantId.replaceAll('-', '_')}` };
}

/**
 * A local silo's object-storage folder: under the folder where its region keeps its tenants'
 * objects. Used by the local Pulumi program, which makes it, and the retention run, which sweeps it.
 */
export function localSiloFolder(objectsRoot: string, regionId: string, tenantId: string): string {
  return `${objectsRoot}/${regionId}/${tenantId}`;
}

/**
 * Where retention batches stage the files they take from a local silo's folder: beside the region's
 * tenant folders (no tenant id starts with a dot), on the same file system, outside the tenant's own.
 */
export function localSiloStagingFolder(objectsRoot: string, regionId: string, tenantId: string): string {
  return `${objectsRoot}/${regionId}/.deleting/${tenantId}`;
}

/** Pulumi project that holds every tenant silo stack; stacks are named `<tenant>.<region>`. */
export const SILO_PROJECT = 'landlord-silo';

export function siloStackName(tenantId: string, regionId: string): string {
  return `${tenantId}.${regionId}`;
}

/** What the DR partner's stack provisioned, for the primary stack to replicate into. */
export interface DrTarget {
  region: Region;
  /** Provider-specific, non-secret identifiers of the standby's storage and key (e.g. ARNs). */
  outputs: Record<string, string>;
}

/**
 * How long the objects under one key prefix of the silo's bucket are kept: the retention of the
 * prefix's data class (domain/retention.ts) for the tenant.
 */
export interface StorageRetention {
  /** A key prefix of the manifest's `storage`, e.g. `attachments/`. */
  prefix: string;
  dataClass: string;
  /** Days after an object was last written; absent: kept forever, so no rule. */
  days?: number;
  /** A legal hold covers the class: no enabled expiry, because a native one cannot honour holds. */
  held?: boolean;
}

/**
 * Everything a silo program needs to know, as plain JSON. The program chosen by `region.provider`
 * turns it into resources; nothing else is read from the environment.
 */
export interface SiloSpec {
  tenantId: string;
  tier: string;
  /** The region this stack provisions. */
  region: Region;
  /** `primary` in the tenant's home region, `standby` in its DR partner. */
  role: 'primary' | 'standby';
  /** Set on a primary whose tier has DR on, once the standby exists. */
  drTarget?: DrTarget;
  /** Days of automated database backups; from the tier's RPO and backup policy. */
  backupRetentionDays: number;
  /** Refuse to delete the database by accident (enterprise): its data resources are protected. */
  deletionProtection: boolean;
  /**
   * Unique per provisioning run (its operation and run): names what a cloud never lets be reused,
   * such as the database's final snapshot. Absent in specs from before it existed.
   */
  generation?: string;
  /**
   * Set only for the update that readies a stack for destroy (pulumi/teardown.ts): protection and
   * deletion protection lifted, so that the destroy that follows never stops halfway.
   */
  teardown?: boolean;
  /** Sessions the tenant's database role may hold at once (the tier's); absent in older specs. */
  connectionLimit?: number;
  /**
   * The object-storage lifecycle the cloud applies natively (S3 lifecycle rules, GCS lifecycle
   * conditions), one entry per storage prefix of the manifest. Absent in older specs and where no
   * manifest and retention policy were at hand: no retention rules then. The local program ignores
   * it: there the retention run sweeps the storage folder itself.
   */
  storageRetention?: StorageRetention[];
  /** Tenant labels, added to the `tenant`, `tier` and `managed-by` tags. */
  labels: Record<string, string>;
}

/** Tags/labels every silo resource carries. */
export function siloTags(spec: SiloSpec): Record<string, string> {
  return { ...spec.labels, tenant: spec.tenantId, tier: spec.tier, 'managed-by': 'landlord' };
}
