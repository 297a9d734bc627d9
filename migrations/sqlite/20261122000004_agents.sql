-- Agents: a named configuration whose MCP URL exposes only its allowed apps.
CREATE TABLE agents (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    allowed_apps TEXT NOT NULL,
    read_only BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX agents_platform ON agents (platform_id, created_at, id);
