-- Up Migration
-- The deletion ledger (domain/ledger.ts): one record per deletion, hash-chained. Postgres itself
-- keeps it append-only and its chain linked, whatever role writes: no UPDATE, DELETE or TRUNCATE,
-- and an insert must be the next link (next seq, previous record's hash).
CREATE TABLE ledger_records (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  tenant_id text NOT NULL,
  region text NOT NULL,
  database_name text,
  target text NOT NULL,
  data_class text,
  count bigint NOT NULL CHECK (count >= 0),
  unit text NOT NULL CHECK (unit IN ('rows', 'objects')),
  policy jsonb,
  run_id text,
  operation_id text,
  requested_by text NOT NULL,
  subject_hmac text,
  deleted_at timestamptz,
  record_key text NOT NULL UNIQUE,
  prev_hash text NOT NULL,
  hash text NOT NULL UNIQUE
);
CREATE INDEX ledger_records_tenant ON ledger_records (tenant_id, seq);
CREATE INDEX ledger_records_at ON ledger_records (at);

CREATE FUNCTION ledger_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_records is append-only';
END $$;
CREATE TRIGGER ledger_records_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_records
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_records_append_only();

CREATE FUNCTION ledger_records_next_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  -- One append at a time, so that two writers never link to the same record.
  PERFORM pg_advisory_xact_lock(hashtext('landlord.ledger_records'));
  SELECT seq, hash INTO last_seq, last_hash FROM ledger_records ORDER BY seq DESC LIMIT 1;
  IF NEW.seq <> coalesce(last_seq, 0) + 1 OR NEW.prev_hash <> coalesce(last_hash, repeat('0', 64)) THEN
    RAISE EXCEPTION 'ledger_records: record % does not link to the chain''s last record', NEW.seq;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_records_next_link BEFORE INSERT ON ledger_records
  FOR EACH ROW EXECUTE FUNCTION ledger_records_next_link();

REVOKE UPDATE, DELETE, TRUNCATE ON ledger_records FROM PUBLIC;
