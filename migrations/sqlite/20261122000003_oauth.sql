-- OAuth broker: per-platform app activations, pending authorizations (state) and
-- end users' connections. Secrets and tokens are AES-256-GCM ciphertexts
-- (nonce || ciphertext), bound to their row and column; states are stored as SHA-256.

CREATE TABLE app_activations (
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_enc BLOB NOT NULL,
    scopes TEXT NOT NULL,
    base_url TEXT NOT NULL,
    authorize_url TEXT,
    token_url TEXT,
    revoke_url TEXT,
    api_base_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (platform_id, app)
);

CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    pkce_verifier_enc BLOB,
    expires_at_ms BIGINT NOT NULL,
    used_at TEXT
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at_ms);

CREATE TABLE app_connections (
    id BLOB PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('connected', 'needs_reauth')),
    access_token_enc BLOB NOT NULL,
    refresh_token_enc BLOB,
    expires_at_ms BIGINT,
    scopes TEXT NOT NULL,
    account_login TEXT,
    account_label TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (end_user_id, app)
);
CREATE INDEX app_connections_platform_app ON app_connections (platform_id, app);
