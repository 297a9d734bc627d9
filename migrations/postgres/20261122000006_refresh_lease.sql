-- A short lease on a connection while one gateway instance refreshes its tokens,
-- so instances sharing the database refresh once between them.
ALTER TABLE app_connections ADD COLUMN refresh_lease_until_ms BIGINT;
