-- Agents: a named configuration whose MCP URL exposes only its allowed apps.
CREATE TABLE agents (
    id UUID PRIMARY KEY NOT NULL,
    platform_id UUID NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config JSONB NOT NULL,
    allowed_apps JSONB NOT NULL,
    read_only BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX agents_platform ON agents (platform_id, created_at, id);
