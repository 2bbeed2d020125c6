-- Up Migration
-- A tenant's own retention choices per data class (PUT /v1/tenants/{id}/retention).
ALTER TABLE tenants ADD COLUMN retention jsonb;

-- Retention runs (domain/retention-run.ts) and each tenant's part of them.
CREATE TABLE retention_runs (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'api')),
  requested_by text NOT NULL,
  dry_run boolean NOT NULL,
  force boolean NOT NULL,
  tenants text[],
  data_classes text[],
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  total integer,
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

CREATE TABLE retention_run_parts (
  run_id text NOT NULL REFERENCES retention_runs (id),
  tenant_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
  part jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, tenant_id)
);
CREATE INDEX retention_run_parts_tenant ON retention_run_parts (tenant_id, recorded_at DESC);
