-- Up Migration
-- Restore verification runs (domain/dr-verification.ts) and each sampled tenant's result: the
-- backup restored into a scratch database, what came back against the catalog, how long it took.
CREATE TABLE restore_verification_runs (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'api')),
  requested_by text NOT NULL,
  share double precision NOT NULL CHECK (share >= 0 AND share <= 1),
  tenants text[],
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  total integer NOT NULL DEFAULT 0 CHECK (total >= 0),
  error jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

-- One result per run and tenant: a retried write of it changes nothing.
CREATE TABLE restore_verification_results (
  run_id text NOT NULL REFERENCES restore_verification_runs (id),
  tenant_id text NOT NULL,
  seq bigserial NOT NULL UNIQUE,
  backup_id text,
  ok boolean NOT NULL,
  problems jsonb NOT NULL,
  restore_ms integer CHECK (restore_ms >= 0),
  tables jsonb,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  PRIMARY KEY (run_id, tenant_id)
);
-- Each tenant's latest result (the failing-tenants gauge).
CREATE INDEX restore_verification_results_tenant ON restore_verification_results (tenant_id, seq DESC);
