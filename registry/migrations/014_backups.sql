-- Up Migration
-- The backup catalog (domain/backup.ts): one sealed archive each, in the data folder's backups/ or
-- the bucket LANDLORD_BACKUP_URL names. Recorded once its file is in place; afterwards only a
-- verification that found it whole (verified_at, moving forward) and its expiry (once) change it.
-- The runtime role may only read, insert and set those (registry/postgres/runtime-role.ts).
CREATE TABLE tenant_backups (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  tenant_id text NOT NULL,
  operation_id text NOT NULL,
  taken_at timestamptz NOT NULL,
  region text NOT NULL,
  deployment_model text NOT NULL CHECK (deployment_model IN ('pool', 'silo')),
  key_id text NOT NULL,
  format text NOT NULL CHECK (format = 'tar+pgcopy'),
  location text NOT NULL,
  object_key text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes > 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  schema_version text NOT NULL,
  tables jsonb NOT NULL,
  expires_at timestamptz NOT NULL,
  expired_at timestamptz,
  verified_at timestamptz,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_backups_tenant ON tenant_backups (tenant_id, taken_at DESC, seq DESC);

CREATE FUNCTION tenant_backups_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.id, OLD.seq, OLD.tenant_id, OLD.operation_id, OLD.taken_at, OLD.region, OLD.deployment_model,
      OLD.key_id, OLD.format, OLD.location, OLD.object_key, OLD.bytes, OLD.sha256, OLD.schema_version,
      OLD.tables, OLD.expires_at, OLD.recorded_at)
     IS DISTINCT FROM (NEW.id, NEW.seq, NEW.tenant_id, NEW.operation_id, NEW.taken_at, NEW.region,
      NEW.deployment_model, NEW.key_id, NEW.format, NEW.location, NEW.object_key, NEW.bytes, NEW.sha256,
      NEW.schema_version, NEW.tables, NEW.expires_at, NEW.recorded_at)
     OR (OLD.expired_at IS NOT NULL AND NEW.expired_at IS DISTINCT FROM OLD.expired_at)
     OR (NEW.verified_at IS DISTINCT FROM OLD.verified_at
         AND (NEW.verified_at IS NULL OR NEW.verified_at < OLD.verified_at)) THEN
    RAISE EXCEPTION 'a backup changes only by its verification and its expiry';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER tenant_backups_keep BEFORE UPDATE ON tenant_backups
  FOR EACH ROW EXECUTE FUNCTION tenant_backups_keep();
