-- Up Migration
-- A tenant's offboarding (domain/offboard.ts): while in its grace period, when its data goes; once
-- deleted, its tombstone (when, by whom, what the final deletion recorded).
ALTER TABLE tenants ADD COLUMN offboarding jsonb;
