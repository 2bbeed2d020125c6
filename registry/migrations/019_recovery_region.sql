-- Up Migration
-- The DR partner region where a restore built a store of a tenant without a standby (a pool
-- partition or a silo stack); NULL: none. The store stays, fenced when not served, until the
-- tenant is offboarded (domain/served.ts storeRegionsOf).
ALTER TABLE tenants ADD COLUMN recovery_region text;
