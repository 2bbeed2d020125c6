-- Up Migration
-- Only roles granted CONNECT may connect to the registry: on a server shared with a region, the
-- tenants' roles must not reach it (nor hold its advisory locks). Where the registry's own role is
-- not the database's owner, Postgres only warns and nothing changes.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO CURRENT_USER', current_database());
  EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
