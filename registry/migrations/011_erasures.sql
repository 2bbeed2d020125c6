-- Up Migration
-- Data-subject erasure requests (domain/erasure.ts). `subject` is kept only until the request is
-- erased; from then on the subject is known only by its per-tenant HMAC.
CREATE TABLE erasure_requests (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  tenant_id text NOT NULL,
  operation_id text,
  subject text,
  subject_hmac text,
  reason text NOT NULL,
  received_at timestamptz NOT NULL,
  due_by timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'erasing', 'blocked-by-hold', 'erased')),
  counts jsonb NOT NULL DEFAULT '[]',
  blocked_by text[],
  requested_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- An erased request has forgotten its subject; one still to be carried out has it.
  CHECK ((status = 'erased') = (subject IS NULL)),
  CHECK (status <> 'erased' OR (subject_hmac IS NOT NULL AND finished_at IS NOT NULL))
);
CREATE INDEX erasure_requests_tenant ON erasure_requests (tenant_id, seq);
CREATE INDEX erasure_requests_open ON erasure_requests (due_by) WHERE status <> 'erased';

-- Each tenant's erasure list: what a restore re-applies to a backup taken before `erased_at`.
-- Append-only: the runtime role may only read and insert (registry/postgres/runtime-role.ts).
CREATE TABLE erasure_list (
  seq bigserial PRIMARY KEY,
  tenant_id text NOT NULL,
  erasure_id text NOT NULL UNIQUE REFERENCES erasure_requests (id),
  subject_hmac text NOT NULL,
  erased_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_list_tenant ON erasure_list (tenant_id, erased_at);
