-- Up Migration
-- Set while an operation holds the tenant read-only (a tier change moving its data).
ALTER TABLE tenants ADD COLUMN read_only jsonb;
