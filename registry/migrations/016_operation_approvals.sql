-- Up Migration
-- An operation's approval step (domain/operation.ts ApprovalState): who approved or rejected it,
-- when, with what comment. Operations waiting at one are listed by GET /v1/operations.
ALTER TABLE operations ADD COLUMN approval jsonb;
CREATE INDEX operations_updated ON operations (updated_at DESC, id DESC);
CREATE INDEX operations_waiting_approval ON operations (updated_at DESC)
  WHERE status = 'running' AND steps @> '[{"status": "waiting-approval"}]';
