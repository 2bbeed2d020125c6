-- Up Migration
-- Tenants' exports (domain/export.ts): one sealed archive each, under the data folder's exports/.
-- Recorded once, when the archive is in place; afterwards only its verification is noted, once.
-- The runtime role may only read, insert and set verified_at (registry/postgres/runtime-role.ts).
CREATE TABLE tenant_exports (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  tenant_id text NOT NULL,
  operation_id text NOT NULL,
  created_at timestamptz NOT NULL,
  key_id text NOT NULL,
  format text NOT NULL CHECK (format = 'tar+jsonl'),
  bytes bigint NOT NULL CHECK (bytes > 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  schema_version text NOT NULL,
  tables jsonb NOT NULL,
  verified_at timestamptz,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_exports_tenant ON tenant_exports (tenant_id, created_at DESC, seq DESC);

CREATE FUNCTION tenant_exports_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.verified_at IS NOT NULL
      OR (OLD.id, OLD.seq, OLD.tenant_id, OLD.operation_id, OLD.created_at, OLD.key_id, OLD.format,
          OLD.bytes, OLD.sha256, OLD.schema_version, OLD.tables, OLD.recorded_at)
         IS DISTINCT FROM (NEW.id, NEW.seq, NEW.tenant_id, NEW.operation_id, NEW.created_at, NEW.key_id,
          NEW.format, NEW.bytes, NEW.sha256, NEW.schema_version, NEW.tables, NEW.recorded_at) THEN
    RAISE EXCEPTION 'an export changes only by its first verification';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER tenant_exports_keep BEFORE UPDATE ON tenant_exports
  FOR EACH ROW EXECUTE FUNCTION tenant_exports_keep();
