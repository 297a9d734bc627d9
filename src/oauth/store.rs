//! SQL for the OAuth tables, written once for both databases.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::args;
use crate::store::Db;
use crate::store::tx::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivationRow {
    pub platform_id: Uuid,
    pub app: String,
    pub client_id: String,
    pub client_secret_enc: Vec<u8>,
    pub scopes: String,
    pub base_url: String,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub api_base_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ACTIVATION_COLUMNS: &str = "platform_id, app, client_id, client_secret_enc, scopes, \
    base_url, authorize_url, token_url, revoke_url, api_base_url, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub app: String,
    pub status: String,
    pub access_token_enc: Vec<u8>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub expires_at_ms: Option<i64>,
    pub scopes: String,
    pub account_login: Option<String>,
    pub account_label: Option<String>,
    /// The connection's settings as a JSON object (see `ConnectionSettings`).
    pub settings_json: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CONNECTION_COLUMNS: &str = "id, platform_id, end_user_id, app, status, access_token_enc, \
    refresh_token_enc, expires_at_ms, scopes, account_login, account_label, settings_json, \
    created_at, updated_at";

pub const STATUS_CONNECTED: &str = "connected";
pub const STATUS_NEEDS_REAUTH: &str = "needs_reauth";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateRow {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub app: String,
    pub pkce_verifier_enc: Option<Vec<u8>>,
    pub expires_at_ms: i64,
    /// Settings given at connect time, as a JSON object.
    pub settings_json: String,
    /// Where the browser lands after the callback: `None` for the platform's
    /// `base_url`, [`RETURN_TO_CONNECT_PAGE`] for the hosted connect page.
    pub return_to: Option<String>,
}

pub const RETURN_TO_CONNECT_PAGE: &str = "connect_page";

pub async fn activation(
    db: &Db,
    platform_id: Uuid,
    app: &str,
) -> Result<Option<ActivationRow>, sqlx::Error> {
    db.fetch_optional(
        &format!(
            "SELECT {ACTIVATION_COLUMNS} FROM app_activations WHERE platform_id = $1 AND app = $2"
        ),
        &args![platform_id, app],
    )
    .await
}

pub async fn activations(db: &Db, platform_id: Uuid) -> Result<Vec<ActivationRow>, sqlx::Error> {
    db.fetch_all(
        &format!(
            "SELECT {ACTIVATION_COLUMNS} FROM app_activations WHERE platform_id = $1 ORDER BY app"
        ),
        &args![platform_id],
    )
    .await
}

/// Inserts or replaces an activation; whether it was new.
pub async fn upsert_activation(db: &Db, row: &ActivationRow) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let existed: Option<(String,)> = tx
        .fetch_optional(
            &format!(
                "SELECT app FROM app_activations WHERE platform_id = $1 AND app = $2{}",
                tx.for_update()
            ),
            &args![row.platform_id, row.app.as_str()],
        )
        .await?;
    tx.execute(
        "INSERT INTO app_activations (platform_id, app, client_id, client_secret_enc, scopes, \
         base_url, authorize_url, token_url, revoke_url, api_base_url, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (platform_id, app) DO UPDATE SET client_id = excluded.client_id, \
         client_secret_enc = excluded.client_secret_enc, scopes = excluded.scopes, \
         base_url = excluded.base_url, authorize_url = excluded.authorize_url, \
         token_url = excluded.token_url, revoke_url = excluded.revoke_url, \
         api_base_url = excluded.api_base_url, updated_at = excluded.updated_at",
        &args![
            row.platform_id,
            row.app.as_str(),
            row.client_id.as_str(),
            row.client_secret_enc.clone(),
            row.scopes.as_str(),
            row.base_url.as_str(),
            row.authorize_url.clone(),
            row.token_url.clone(),
            row.revoke_url.clone(),
            row.api_base_url.clone(),
            row.updated_at
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(existed.is_none())
}

/// Deletes the activation and every connection of that app on the platform, in one
/// transaction; the deleted connections (to revoke at the provider), or `None` when
/// the app was not activated.
pub async fn delete_activation(
    db: &Db,
    platform_id: Uuid,
    app: &str,
) -> Result<Option<Vec<ConnectionRow>>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = tx
        .execute(
            "DELETE FROM app_activations WHERE platform_id = $1 AND app = $2",
            &args![platform_id, app],
        )
        .await?;
    if deleted == 0 {
        return Ok(None);
    }
    let connections = tx
        .fetch_all(
            &format!("SELECT {CONNECTION_COLUMNS} FROM app_connections WHERE platform_id = $1 AND app = $2"),
            &args![platform_id, app],
        )
        .await?;
    tx.execute(
        "DELETE FROM app_connections WHERE platform_id = $1 AND app = $2",
        &args![platform_id, app],
    )
    .await?;
    tx.execute(
        "DELETE FROM oauth_states WHERE platform_id = $1 AND app = $2",
        &args![platform_id, app],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(connections))
}

pub async fn connection(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    app: &str,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    db.fetch_optional(
        &format!(
            "SELECT {CONNECTION_COLUMNS} FROM app_connections \
             WHERE platform_id = $1 AND end_user_id = $2 AND app = $3"
        ),
        &args![platform_id, end_user_id, app],
    )
    .await
}

/// The connection read on the write side (SQLite's writer sees its own commits at
/// once; the read pool may lag a moment behind under WAL).
pub async fn connection_fresh(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    app: &str,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT {CONNECTION_COLUMNS} FROM app_connections \
                 WHERE platform_id = $1 AND end_user_id = $2 AND app = $3"
            ),
            &args![platform_id, end_user_id, app],
        )
        .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn connections_of(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
) -> Result<Vec<ConnectionRow>, sqlx::Error> {
    db.fetch_all(
        &format!(
            "SELECT {CONNECTION_COLUMNS} FROM app_connections \
             WHERE platform_id = $1 AND end_user_id = $2 ORDER BY app"
        ),
        &args![platform_id, end_user_id],
    )
    .await
}

/// Deletes one connection; the deleted row.
pub async fn delete_connection(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    app: &str,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row: Option<ConnectionRow> = tx
        .fetch_optional(
            &format!(
                "SELECT {CONNECTION_COLUMNS} FROM app_connections \
                 WHERE platform_id = $1 AND end_user_id = $2 AND app = $3{}",
                tx.for_update()
            ),
            &args![platform_id, end_user_id, app],
        )
        .await?;
    if let Some(row) = &row {
        tx.execute("DELETE FROM app_connections WHERE id = $1", &args![row.id])
            .await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Stores a (re)connection. The row gets `row.id` even when it replaces an older
/// connection of the same end user and app, because the ciphertexts are bound to it.
pub async fn upsert_connection(tx: &mut Tx, row: &ConnectionRow) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO app_connections (id, platform_id, end_user_id, app, status, access_token_enc, \
         refresh_token_enc, expires_at_ms, scopes, account_login, account_label, settings_json, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12) \
         ON CONFLICT (end_user_id, app) DO UPDATE SET id = excluded.id, status = excluded.status, \
         access_token_enc = excluded.access_token_enc, refresh_token_enc = excluded.refresh_token_enc, \
         expires_at_ms = excluded.expires_at_ms, scopes = excluded.scopes, \
         account_login = excluded.account_login, account_label = excluded.account_label, \
         settings_json = excluded.settings_json, updated_at = excluded.updated_at, \
         refresh_lease_until_ms = NULL",
        &args![
            row.id,
            row.platform_id,
            row.end_user_id,
            row.app.as_str(),
            row.status.as_str(),
            row.access_token_enc.clone(),
            row.refresh_token_enc.clone(),
            row.expires_at_ms,
            row.scopes.as_str(),
            row.account_login.clone(),
            row.account_label.clone(),
            row.updated_at,
            row.settings_json.as_str()
        ],
    )
    .await
    .map(|_| ())
}

/// Refreshed tokens (and the settings the refresh answer updated) for one connection.
pub struct Refreshed {
    pub access_token_enc: Vec<u8>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub expires_at_ms: Option<i64>,
    pub scopes: Option<String>,
    pub settings_json: String,
}

/// Saves refreshed tokens on connection `id`.
pub async fn save_refreshed(
    db: &Db,
    id: Uuid,
    refreshed: Refreshed,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE app_connections SET status = 'connected', access_token_enc = $2, \
         refresh_token_enc = $3, expires_at_ms = $4, scopes = COALESCE($5, scopes), updated_at = $6, \
         settings_json = $7 WHERE id = $1",
        &args![
            id,
            refreshed.access_token_enc,
            refreshed.refresh_token_enc,
            refreshed.expires_at_ms,
            refreshed.scopes,
            now,
            refreshed.settings_json
        ],
    )
    .await?;
    tx.commit().await
}

/// Takes the connection's refresh lease until `until_ms` unless another instance
/// holds an unexpired one; whether it was taken.
pub async fn take_refresh_lease(
    db: &Db,
    id: Uuid,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let taken = tx
        .execute(
            "UPDATE app_connections SET refresh_lease_until_ms = $3 \
             WHERE id = $1 AND (refresh_lease_until_ms IS NULL OR refresh_lease_until_ms < $2)",
            &args![id, now_ms, until_ms],
        )
        .await?;
    tx.commit().await?;
    Ok(taken == 1)
}

pub async fn release_refresh_lease(db: &Db, id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE app_connections SET refresh_lease_until_ms = NULL WHERE id = $1",
        &args![id],
    )
    .await?;
    tx.commit().await
}

pub async fn mark_needs_reauth(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE app_connections SET status = 'needs_reauth', updated_at = $2 WHERE id = $1",
        &args![id, now],
    )
    .await?;
    tx.commit().await
}

pub async fn insert_state(
    db: &Db,
    state_hash: &str,
    row: &StateRow,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    // Expired states are useless: sweep them while we are writing anyway.
    tx.execute(
        "DELETE FROM oauth_states WHERE expires_at_ms < $1",
        &args![now_ms - 3_600_000],
    )
    .await?;
    tx.execute(
        "INSERT INTO oauth_states (state_hash, platform_id, end_user_id, app, pkce_verifier_enc, \
         expires_at_ms, used_at, settings_json, return_to) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)",
        &args![
            state_hash,
            row.platform_id,
            row.end_user_id,
            row.app.as_str(),
            row.pkce_verifier_enc.clone(),
            row.expires_at_ms,
            row.settings_json.as_str(),
            row.return_to.clone()
        ],
    )
    .await?;
    tx.commit().await
}

/// What consuming a state found.
pub enum Consumed {
    /// First use: the state is now spent.
    Fresh(StateRow),
    /// Known but already used.
    Replayed(StateRow),
    Unknown,
}

/// Marks the state used, once: a single conditional update, so two callbacks with
/// one state cannot both succeed.
pub async fn consume_state(
    db: &Db,
    state_hash: &str,
    now: DateTime<Utc>,
) -> Result<Consumed, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row: Option<StateRow> = tx
        .fetch_optional(
            &format!(
                "SELECT platform_id, end_user_id, app, pkce_verifier_enc, expires_at_ms, \
                 settings_json, return_to FROM oauth_states WHERE state_hash = $1{}",
                tx.for_update()
            ),
            &args![state_hash],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Consumed::Unknown);
    };
    let spent = tx
        .execute(
            "UPDATE oauth_states SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL",
            &args![state_hash, now],
        )
        .await?;
    tx.commit().await?;
    Ok(if spent == 1 {
        Consumed::Fresh(row)
    } else {
        Consumed::Replayed(row)
    })
}

/// Deletes authorization states that expired before `before_ms`; how many.
pub async fn delete_states_expired_before(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    crate::with_pool!(db.write(), pool => {
        sqlx::query("DELETE FROM oauth_states WHERE expires_at_ms < $1")
            .bind(before_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
}
