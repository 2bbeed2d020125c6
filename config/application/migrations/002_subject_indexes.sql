-- Up Migration
-- One data subject's rows of a tenant, found by index: what an erasure (and a legal hold's subject
-- filter) looks up. app_users needs none: its subject key is its primary key. These also serve the
-- foreign key check when a user is deleted.
CREATE INDEX IF NOT EXISTS documents_author ON documents (tenant_id, author_id);
CREATE INDEX IF NOT EXISTS activity_log_actor ON activity_log (tenant_id, actor_id);
