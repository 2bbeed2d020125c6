-- Up Migration
-- Where a tenant is served from after a failover (its DR region) until it fails back; NULL: its
-- home region (domain/tenant.ts activeRegionOf).
ALTER TABLE tenants ADD COLUMN active_region text;
