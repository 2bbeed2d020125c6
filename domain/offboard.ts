/**
 * Tenant offboarding (docs/erasure-and-offboarding.md): access off → export → grace period →
 * crypto-shred → delete → tombstone. Until the shred a cancel gives the tenant back whole; after
 * it, the remaining steps only go forward.
 */

/** What a tenant carries while offboarding, and as its tombstone once deleted. */
export interface TenantOffboarding {
  operationId: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  /** When the grace period ends and the data is destroyed (ISO). */
  deletesAt: string;
  /** The export made before the grace period, unless asked for without one. */
  exportId?: string;
  /** When the tenant's data key was destroyed: from then on nothing can bring the data back. */
  shreddedAt?: string;
  /** The tombstone: when the deletion finished, and what it recorded in the ledger. */
  deletedAt?: string;
  deleted?: OffboardCount[];
}

/** What the final deletion removed from one table or storage prefix of one store. */
export interface OffboardCount {
  store: 'primary' | 'standby';
  region: string;
  database?: string;
  /** The table, the manifest storage prefix, or `/` for the files under no manifest prefix. */
  target: string;
  unit: 'rows' | 'objects';
  count: number;
}
