-- Up Migration
-- The latest measurement of each DR tenant's replication from its active silo to its standby
-- (domain/replication.ts): one row per tenant, replaced by a newer measurement and never by an
-- older one. The runtime role reads, writes and deletes it (registry/postgres/runtime-role.ts).
CREATE TABLE replication_status (
  tenant_id text PRIMARY KEY,
  source text NOT NULL,
  target text NOT NULL,
  state text NOT NULL CHECK (state IN ('seeding', 'streaming', 'stopped', 'broken')),
  lag_ms bigint CHECK (lag_ms >= 0),
  lag_bytes bigint CHECK (lag_bytes >= 0),
  newest_data_at timestamptz,
  measured_at timestamptz NOT NULL,
  reason text
);
