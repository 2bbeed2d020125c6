import { z } from 'zod';

export const ROLES = ['viewer', 'sales', 'operator', 'legal', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** What each role may do; `admin` may do everything. */
export const PERMISSIONS = {
  read: ['viewer', 'sales', 'operator', 'legal', 'admin'],
  createTenant: ['sales', 'admin'],
  operateTenant: ['operator', 'admin'],
  manageKeys: ['admin'],
  /** The whole audit trail, events about no tenant included. */
  readAudit: ['admin'],
  /** Place and release legal holds. */
  manageLegalHolds: ['legal', 'admin'],
  /** See a tenant's legal holds, subjects included (operators must know why data was kept). */
  readLegalHolds: ['operator', 'legal', 'admin'],
  /**
   * Bring a cloud silo's bucket rules in line with its holds and retention: after a hold (legal)
   * or a retention change (operators).
   */
  syncStorageRules: ['operator', 'legal', 'admin'],
  /** Ask for a data subject's erasure (GDPR Art. 17), and see a tenant's erasure requests. */
  eraseSubject: ['operator', 'legal', 'admin'],
  /** See a tenant's exports: when made, their counts and checksums, whether verified. */
  readExports: ['operator', 'admin'],
  /** Download a tenant's export decrypted: all of its data, so admins only, and audited. */
  downloadExports: ['admin'],
  /** Offboard a tenant (its data destroyed after a grace period), or cancel that within the grace period. */
  offboardTenant: ['operator', 'admin'],
  /** Take a tenant's backup now (the schedule takes them on the tier's cadence anyway). */
  backupTenant: ['operator', 'admin'],
  /** Ask for a restore of a tenant from a backup (which then waits for another's approval). */
  restoreTenant: ['operator', 'admin'],
  /**
   * Fail a DR tenant over to its standby in the partner region, or back home (each then waits for
   * another's approval).
   */
  failoverTenant: ['operator', 'admin'],
  /** Run a DR drill of a tenant or a region (no approval: production is not touched). */
  drillTenant: ['operator', 'admin'],
  /** Run a restore verification now (the schedule runs one on its interval anyway). */
  verifyRestores: ['operator', 'admin'],
  /**
   * See restore verification runs and their results: which tenants could not be brought back
   * today, why, and where their backup files are. That is a map of the fleet's weak spots, for the
   * people who mend them and no one else; the catalog of one tenant's backups stays readable by all.
   */
  readRestoreVerifications: ['operator', 'admin'],
  /**
   * Approve or reject a DR operation waiting at its approval step (never one's own: four eyes), and
   * see the operations waiting for approval.
   */
  approveOperations: ['operator', 'admin'],
  /** Repairs outside the lifecycle, such as ending a wedged tenant workflow. */
  repair: ['admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

export function allows(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export interface AuditEvent {
  seq: number;
  at: string;
  tenantId?: string;
  operationId?: string;
  actor: string;
  actorRole?: string;
  requestId?: string;
  action: string;
  outcome: string;
  detail: Record<string, unknown>;
}
