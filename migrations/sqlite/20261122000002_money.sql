-- Money: platform wallets, end-user budgets, holds, ledgers, idempotency keys,
-- the event outbox and rate-limit settings. Amounts are integer micro-USD.

CREATE TABLE wallets (
    platform_id BLOB PRIMARY KEY NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    metered BOOLEAN NOT NULL DEFAULT FALSE,
    balance_micros BIGINT NOT NULL DEFAULT 0,
    held_micros BIGINT NOT NULL DEFAULT 0 CHECK (held_micros >= 0),
    low_balance_threshold_micros BIGINT,
    low_balance_notified BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TEXT NOT NULL
);
INSERT INTO wallets (platform_id, updated_at) SELECT id, created_at FROM platforms;

CREATE TABLE budgets (
    end_user_id BLOB PRIMARY KEY NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    max_micros BIGINT NOT NULL CHECK (max_micros >= 0),
    balance_micros BIGINT NOT NULL,
    held_micros BIGINT NOT NULL DEFAULT 0 CHECK (held_micros >= 0),
    period_spent_micros BIGINT NOT NULL DEFAULT 0,
    period TEXT NOT NULL CHECK (period IN ('one_time', 'daily', 'monthly')),
    period_start_ms BIGINT NOT NULL,
    auto_replenish BOOLEAN NOT NULL DEFAULT FALSE,
    replenish_micros BIGINT,
    low_balance_threshold_micros BIGINT,
    low_balance_notified BOOLEAN NOT NULL DEFAULT FALSE,
    is_suspended BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Money reserved for work in progress, on the budget and the wallet at once.
CREATE TABLE holds (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL,
    end_user_id BLOB NOT NULL,
    amount_micros BIGINT NOT NULL CHECK (amount_micros >= 0),
    purpose TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX holds_expiry ON holds (expires_at_ms);
CREATE INDEX holds_end_user ON holds (end_user_id);

-- Ledgers outlive what they describe (no cascade from end users).
CREATE TABLE budget_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    balance_after_micros BIGINT NOT NULL,
    reason TEXT,
    actor TEXT NOT NULL,
    idempotency_key TEXT,
    related_id TEXT,
    shortfall_micros BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX budget_ledger_user ON budget_ledger (end_user_id, seq);

CREATE TABLE wallet_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    balance_after_micros BIGINT NOT NULL,
    reason TEXT,
    actor TEXT NOT NULL,
    idempotency_key TEXT,
    related_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX wallet_ledger_platform ON wallet_ledger (platform_id, seq);

-- First answers of money-moving requests, replayed for 24 h.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at_ms);

-- Events written in the same transaction as the change they report.
CREATE TABLE outbox_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    platform_id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE platform_rate_limits (
    platform_id BLOB PRIMARY KEY NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    rpm_limit BIGINT,
    tpm_limit BIGINT,
    rpd_limit BIGINT,
    updated_at TEXT NOT NULL
);

CREATE TABLE end_user_rate_limits (
    end_user_id BLOB PRIMARY KEY NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    platform_id BLOB NOT NULL,
    rpm_limit BIGINT,
    tpm_limit BIGINT,
    rpd_limit BIGINT,
    updated_at TEXT NOT NULL
);
