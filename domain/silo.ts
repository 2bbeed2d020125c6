import type { Region } from './policy.js';

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
  /** Default expiry of analytics tables, in days (GCP BigQuery). */
  dataRetentionDays: number;
  /** Refuse to delete the database by accident (enterprise). */
  deletionProtection: boolean;
  /** Sessions the tenant's database role may hold at once (the tier's); absent in older specs. */
  connectionLimit?: number;
  /** Tenant labels, added to the `tenant`, `tier` and `managed-by` tags. */
  labels: Record<string, string>;
}

/** Tags/labels every silo resource carries. */
export function siloTags(spec: SiloSpec): Record<string, string> {
  return { ...spec.labels, tenant: spec.tenantId, tier: spec.tier, 'managed-by': 'landlord' };
}

/** A resource that changed or vanished outside Pulumi, as a drift check reports it. */
export interface DriftedResource {
  urn: string;
  type: string;
  name: string;
  /** What refresh would do: `update` (changed outside Pulumi) or `delete` (gone). */
  change: string;
}
