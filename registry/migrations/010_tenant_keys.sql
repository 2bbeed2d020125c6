-- Up Migration
-- Tenants' data keys (domain/keys.ts), only ever wrapped by a key-encryption key. One per tenant,
-- for good: destroying one (crypto-shredding) forgets the wrapped key and keeps the row, so that
-- nothing can make the tenant a second key that an old export would then be read with.
CREATE TABLE tenant_keys (
  tenant_id text PRIMARY KEY,
  key_id text NOT NULL UNIQUE,
  kek_id text NOT NULL,
  wrapped_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  destroyed_at timestamptz,
  destroyed_by text,
  -- Live with its wrapped key, or destroyed without it, by someone: nothing in between.
  CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL) AND (destroyed_at IS NULL) = (destroyed_by IS NULL))
);

CREATE FUNCTION tenant_keys_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'tenant keys are destroyed, never deleted';
  END IF;
  IF OLD.destroyed_at IS NOT NULL OR NEW.wrapped_key IS NOT NULL
      OR (OLD.tenant_id, OLD.key_id, OLD.kek_id, OLD.created_at)
         IS DISTINCT FROM (NEW.tenant_id, NEW.key_id, NEW.kek_id, NEW.created_at) THEN
    RAISE EXCEPTION 'a tenant key changes only by its destruction';
  END IF;
  -- A destruction happens now: it cannot be backdated.
  NEW.destroyed_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER tenant_keys_keep BEFORE UPDATE OR DELETE ON tenant_keys
  FOR EACH ROW EXECUTE FUNCTION tenant_keys_keep();
CREATE TRIGGER tenant_keys_no_truncate BEFORE TRUNCATE ON tenant_keys
  FOR EACH STATEMENT EXECUTE FUNCTION tenant_keys_keep();
