/** Every workflow the lifecycle worker runs. */
export { tenantWorkflow } from './tenant.js';
export { onboardPoolTenant } from './onboard-pool-tenant.js';
export { changeTenantAccess } from './change-tenant-access.js';
