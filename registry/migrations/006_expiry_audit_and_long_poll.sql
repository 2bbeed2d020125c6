-- Up Migration
-- Expired Idempotency-Keys are found by their completion time and deleted in batches.
CREATE INDEX idempotency_keys_completed ON idempotency_keys (completed_at) WHERE completed_at IS NOT NULL;
-- The audit trail read without a tenant: events about no tenant, and by action.
CREATE INDEX audit_events_without_tenant ON audit_events (seq) WHERE tenant_id IS NULL;
CREATE INDEX audit_events_action ON audit_events (action, seq);
-- A long poll on an operation (GET /v1/operations/{id}?wait=) learns at once that it ended.
CREATE FUNCTION notify_operation_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('landlord_operation_ended', NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER operations_notify_ended AFTER INSERT OR UPDATE OF status ON operations
  FOR EACH ROW WHEN (NEW.status <> 'running') EXECUTE FUNCTION notify_operation_ended();
