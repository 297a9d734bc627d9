-- Capabilities marketplace: per-platform enablement and policy, the operator's
-- provider changes (laid over the shipped catalog) and one row per run.

CREATE TABLE capability_settings (
    platform_id BLOB PRIMARY KEY NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('curated', 'open')),
    allowlist TEXT NOT NULL,
    denylist TEXT NOT NULL,
    max_cost_micros BIGINT,
    min_rating_centi BIGINT,
    require_healthy BOOLEAN NOT NULL,
    charge_failed_calls BOOLEAN NOT NULL,
    updated_at TEXT NOT NULL
);

-- spec: the provider's full definition (JSON) when added or changed; removed:
-- a shipped provider taken out. auth_secret: AES-256-GCM, bound to the uid.
CREATE TABLE capability_providers (
    uid TEXT PRIMARY KEY NOT NULL,
    spec TEXT,
    removed BOOLEAN NOT NULL DEFAULT FALSE,
    auth_secret BLOB,
    updated_at TEXT NOT NULL
);

CREATE TABLE capability_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB NOT NULL,
    provider_uid TEXT NOT NULL,
    capability TEXT NOT NULL,
    final_state TEXT NOT NULL CHECK (final_state IN ('billed', 'failed', 'released')),
    status BIGINT NOT NULL,
    quote_micros BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    charged BOOLEAN NOT NULL,
    error TEXT,
    latency_ms BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX capability_runs_end_user ON capability_runs (end_user_id, seq);
