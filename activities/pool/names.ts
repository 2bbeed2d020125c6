/** Names of the pool database and of the group roles tenant roles are members of. */
export const POOL_DATABASE = 'landlord_pool';
/** Group role holding the table privileges every tenant role inherits. */
export const TENANTS_GROUP_ROLE = 'landlord_tenants';
/** Group role a tenant role is moved to while the tenant is read-only: it may only select. */
export const READ_ONLY_GROUP_ROLE = 'landlord_tenants_read_only';
/** Connections a pool tenant's role may hold when its tier does not say (roles of earlier versions). */
export const DEFAULT_CONNECTION_LIMIT = 10;
