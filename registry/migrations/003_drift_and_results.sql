-- Up Migration
-- What a drift check found, on the tenant; and what an operation reports, on the operation.
ALTER TABLE tenants ADD COLUMN drift jsonb;
ALTER TABLE operations ADD COLUMN result jsonb;
