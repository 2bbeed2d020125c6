-- Up Migration
-- The registry: a projection of the tenant workflows, read by the API.

CREATE TABLE tenants (
  id text PRIMARY KEY,
  name text NOT NULL,
  tier text NOT NULL,
  region text NOT NULL,
  dr_region text,
  residency text,
  deployment_model text NOT NULL,
  status text NOT NULL,
  status_reason text,
  admin_email text NOT NULL,
  features jsonb NOT NULL DEFAULT '{}',
  labels jsonb NOT NULL DEFAULT '{}',
  resources jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- Written by the tenant workflow only; a lower version never overwrites a higher one.
  version bigint NOT NULL
);
CREATE INDEX tenants_page ON tenants (created_at, id);
CREATE INDEX tenants_tier ON tenants (tier, created_at, id);
CREATE INDEX tenants_region ON tenants (region, created_at, id);
CREATE INDEX tenants_status ON tenants (status, created_at, id);

CREATE TABLE operations (
  id text PRIMARY KEY,
  tenant_id text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  run integer NOT NULL,
  steps jsonb NOT NULL,
  actor jsonb NOT NULL,
  input jsonb NOT NULL,
  error jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  finished_at timestamptz,
  version bigint NOT NULL
);
CREATE INDEX operations_tenant ON operations (tenant_id, created_at);

-- Failed activity attempts, written by the activity as it fails so that a step that keeps retrying
-- shows its attempts and last error while it is still running.
CREATE TABLE operation_step_failures (
  operation_id text NOT NULL,
  run integer NOT NULL,
  step text NOT NULL,
  attempt integer NOT NULL,
  error jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operation_id, run, step, attempt)
);

CREATE TABLE audit_events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Makes a retried write a no-op.
  event_key text NOT NULL UNIQUE,
  at timestamptz NOT NULL DEFAULT now(),
  tenant_id text,
  operation_id text,
  actor text NOT NULL,
  actor_role text,
  request_id text,
  action text NOT NULL,
  outcome text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('viewer', 'sales', 'operator', 'admin')),
  -- sha256 of the secret part; keys are 256-bit random, so a fast hash is enough.
  secret_hash text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);

CREATE TABLE idempotency_keys (
  principal text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  response_status integer,
  response_headers jsonb,
  response_body jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (principal, key)
);
