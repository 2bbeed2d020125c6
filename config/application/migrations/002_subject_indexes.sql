-- Up Migration
-- One data subject's rows of a tenant, found by index: what an erasure (and a legal hold's subject
-- filter) looks up. app_users needs none: its subject key is its primary key. These also serve the
-- foreign key check when a user is deleted. The primary key last: an erasure batch takes the
-- subject's rows in key order, which the index then gives without a sort, whatever the batch size.
CREATE INDEX IF NOT EXISTS documents_author ON documents (tenant_id, author_id, id);
CREATE INDEX IF NOT EXISTS activity_log_actor ON activity_log (tenant_id, actor_id, id);
