-- One row per inference call, tool call and capability run.
CREATE TABLE usage_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    platform_id BLOB NOT NULL,
    end_user_id BLOB,
    kind TEXT NOT NULL,
    app TEXT,
    tool TEXT,
    model TEXT,
    status TEXT NOT NULL,
    error_code TEXT,
    latency_ms BIGINT NOT NULL,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cost_micros BIGINT,
    request_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX usage_logs_platform ON usage_logs (platform_id, seq);
CREATE INDEX usage_logs_end_user ON usage_logs (end_user_id, seq);
