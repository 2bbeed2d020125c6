/** Every workflow the lifecycle worker runs. */
export { tenantWorkflow } from './tenant.js';
export { onboardTenant } from './onboard-tenant.js';
export { changeTenantAccess } from './change-tenant-access.js';
export { checkTenantDrift } from './check-tenant-drift.js';
export { changeTenantTier } from './change-tenant-tier.js';
export { applyRetention, setRetention } from './retention.js';
export { eraseSubject } from './erase-subject.js';
export { offboardTenant } from './offboard-tenant.js';
export { backupTenant } from './backup-tenant.js';
export { backupSweep } from './backup-sweep.js';
export { restoreTenant } from './restore-tenant.js';
export { failoverTenant } from './failover-tenant.js';
export { regionFailover } from './region-failover.js';
export { drillTenant } from './drill-tenant.js';
export { retentionRun } from './retention-run.js';
export { restoreVerificationRun } from './restore-verification-run.js';
export { syncStorageRules } from './sync-storage-rules.js';
