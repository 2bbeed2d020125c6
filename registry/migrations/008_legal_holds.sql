-- Up Migration
-- Legal holds (domain/legal-hold.ts): placed and released, never deleted.
CREATE TABLE legal_holds (
  id text PRIMARY KEY,
  tenant_id text NOT NULL,
  reason text NOT NULL,
  data_classes text[],
  subjects text[],
  until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  released_at timestamptz,
  released_by text,
  release_reason text,
  -- Released entirely or not at all.
  CHECK ((released_at IS NULL) = (released_by IS NULL) AND (released_at IS NULL) = (release_reason IS NULL))
);
CREATE INDEX legal_holds_tenant ON legal_holds (tenant_id, created_at);

CREATE FUNCTION legal_holds_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'legal holds are released, never deleted';
  END IF;
  IF OLD.released_at IS NOT NULL OR (OLD.id, OLD.tenant_id, OLD.reason, OLD.data_classes, OLD.subjects, OLD.until,
      OLD.created_at, OLD.created_by) IS DISTINCT FROM (NEW.id, NEW.tenant_id, NEW.reason, NEW.data_classes,
      NEW.subjects, NEW.until, NEW.created_at, NEW.created_by) THEN
    RAISE EXCEPTION 'a legal hold changes only by its release';
  END IF;
  -- A release happens now: it cannot be backdated.
  NEW.released_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER legal_holds_keep BEFORE UPDATE OR DELETE ON legal_holds
  FOR EACH ROW EXECUTE FUNCTION legal_holds_keep();
CREATE TRIGGER legal_holds_no_truncate BEFORE TRUNCATE ON legal_holds
  FOR EACH STATEMENT EXECUTE FUNCTION legal_holds_keep();

-- The legal role (domain/auth.ts).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('viewer', 'sales', 'operator', 'legal', 'admin'));
