-- The inference plane: each platform's LLM provider configs, and the usage-log
-- fields an inference call records.

-- api_key_enc: AES-256-GCM under the master key, bound to the row id
-- (llm_provider:{id}:api_key). models: JSON array (NULL: the kind's priced
-- models); aliases: JSON object alias -> model; prices: JSON object model ->
-- {input, cached_input, cache_write, output} in micro-USD per million tokens.
CREATE TABLE llm_providers (
    id UUID PRIMARY KEY NOT NULL,
    platform_id UUID NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic', 'google', 'xai', 'openai-compatible', 'mock')),
    api_key_enc BYTEA,
    base_url TEXT,
    enabled BOOLEAN NOT NULL,
    priority BIGINT NOT NULL,
    models TEXT,
    aliases TEXT NOT NULL,
    prices TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX llm_providers_platform ON llm_providers (platform_id, priority);

ALTER TABLE usage_logs ADD COLUMN provider TEXT;
ALTER TABLE usage_logs ADD COLUMN cached_tokens BIGINT;
ALTER TABLE usage_logs ADD COLUMN ttft_ms BIGINT;
ALTER TABLE usage_logs ADD COLUMN tokens_estimated BOOLEAN;
ALTER TABLE usage_logs ADD COLUMN price TEXT;
