-- Per-connection settings (a Zendesk subdomain, a Zoho data centre): plain JSON, not
-- secret, filled into the app's OAuth and API URL templates. A pending authorization
-- carries the settings given at connect time and where the browser returns.
ALTER TABLE app_connections ADD COLUMN settings_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE oauth_states ADD COLUMN settings_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE oauth_states ADD COLUMN return_to TEXT;

-- Hosted connect page: a short-lived, single-use link (stored as SHA-256) becomes a
-- browser session (its cookie also stored as SHA-256) on first use.
CREATE TABLE connect_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    expires_at_ms BIGINT NOT NULL,
    session_hash TEXT UNIQUE,
    session_expires_at_ms BIGINT
);
CREATE INDEX connect_links_expiry ON connect_links (expires_at_ms);
