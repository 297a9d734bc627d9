-- Tenants, their API keys and their end users.
CREATE TABLE platforms (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    skills_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    display_unit TEXT NOT NULL,
    credits_per_usd REAL NOT NULL,
    markup_bps BIGINT NOT NULL DEFAULT 0,
    default_budget_micros BIGINT,
    default_budget_period TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE end_users (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    display_name TEXT,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (platform_id, external_id)
);
CREATE INDEX end_users_platform_created ON end_users (platform_id, created_at, id);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB REFERENCES end_users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('platform', 'end_user')),
    name TEXT,
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    CHECK ((kind = 'end_user') = (end_user_id IS NOT NULL))
);
CREATE INDEX api_keys_platform ON api_keys (platform_id, kind);
CREATE INDEX api_keys_end_user ON api_keys (end_user_id);

-- Recent revocations, polled by every instance to evict its key cache.
CREATE TABLE key_revocations (
    key_hash TEXT NOT NULL,
    revoked_at_ms BIGINT NOT NULL
);
CREATE INDEX key_revocations_at ON key_revocations (revoked_at_ms);
