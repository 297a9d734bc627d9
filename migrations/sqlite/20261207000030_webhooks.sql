-- Outbound webhooks. The outbox (outbox_events) is dispatched into messages (the
-- exact bytes each event is delivered as, with its per-platform sequence number)
-- and one delivery per (endpoint, message); every try is an attempt row. Times
-- are epoch milliseconds (compared by the worker on both databases).
ALTER TABLE outbox_events ADD COLUMN dispatched_at_ms BIGINT;
CREATE INDEX outbox_events_undispatched ON outbox_events (seq) WHERE dispatched_at_ms IS NULL;

CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT,
    -- JSON array of event types; empty means every type.
    event_types TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- The whsec_ signing secret, sealed with the master key.
    secret_enc BLOB NOT NULL,
    -- The secret before the last rotation, still signing until previous_secret_until_ms.
    previous_secret_enc BLOB,
    previous_secret_until_ms BIGINT,
    disabled_reason TEXT,
    disabled_at_ms BIGINT,
    -- First failure since the last success (NULL while healthy).
    failing_since_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_platform ON webhook_endpoints (platform_id, created_at_ms);

CREATE TABLE webhook_sequences (
    platform_id BLOB PRIMARY KEY NOT NULL,
    last_sequence BIGINT NOT NULL
);

CREATE TABLE webhook_messages (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    sequence BIGINT,
    body TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX webhook_messages_platform ON webhook_messages (platform_id, created_at_ms);

CREATE TABLE webhook_deliveries (
    id BLOB PRIMARY KEY NOT NULL,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    message_id BLOB NOT NULL REFERENCES webhook_messages(id) ON DELETE CASCADE,
    -- pending | delivered | failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    -- Position in the retry schedule (reset by replay and recover).
    step INTEGER NOT NULL,
    next_attempt_ms BIGINT,
    lease_token BLOB,
    lease_until_ms BIGINT,
    last_status_code INTEGER,
    last_error TEXT,
    last_latency_ms BIGINT,
    last_response TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease_token) WHERE lease_token IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (message_id);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (updated_at_ms) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
    id BLOB PRIMARY KEY NOT NULL,
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at_ms BIGINT NOT NULL,
    finished_at_ms BIGINT NOT NULL,
    status_code INTEGER,
    error TEXT,
    latency_ms BIGINT NOT NULL,
    response TEXT,
    next_attempt_ms BIGINT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
