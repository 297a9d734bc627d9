//! Issuing and revoking keys.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Authenticator, KeyKind, MintedKey};
use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::api_keys::{self, ApiKeyRow, KeyOwner, NewApiKey};

/// A key as listings show it: never the key itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub id: Uuid,
    pub name: Option<String>,
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
}

impl From<ApiKeyRow> for KeyView {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            key_prefix: row.key_prefix,
            created_at: row.created_at,
        }
    }
}

/// A key just issued: the only time `raw_key` is ever shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    pub id: Uuid,
    pub name: Option<String>,
    pub key_prefix: String,
    pub raw_key: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("id", &self.id)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

/// A new key of `kind` for a platform (and end user), ready to insert, with the
/// raw key that will be shown once.
pub fn mint(
    kind: KeyKind,
    platform_id: Uuid,
    end_user_id: Option<Uuid>,
    name: Option<String>,
    now: DateTime<Utc>,
) -> (NewApiKey, IssuedKey) {
    let minted = MintedKey::new(kind);
    let row = NewApiKey {
        id: Uuid::now_v7(),
        platform_id,
        end_user_id,
        kind: kind.as_str(),
        name,
        key_hash: minted.hash,
        key_prefix: minted.display_prefix,
        created_at: now,
    };
    let issued = IssuedKey {
        id: row.id,
        name: row.name.clone(),
        key_prefix: row.key_prefix.clone(),
        raw_key: minted.raw,
        created_at: now,
    };
    (row, issued)
}

pub async fn create_platform_key(
    db: &Db,
    platform_id: Uuid,
    name: Option<String>,
) -> Result<IssuedKey> {
    let (row, issued) = mint(KeyKind::Platform, platform_id, None, name, now());
    api_keys::insert(db, &row).await?;
    Ok(issued)
}

/// Revokes a key of this platform (its own or one of its end users'); effective
/// at once here and within a second on every other instance.
pub async fn revoke(
    db: &Db,
    auth: &Authenticator,
    owner: KeyOwner,
    key_id: Uuid,
) -> Result<DateTime<Utc>> {
    let at = now();
    let hash = api_keys::revoke_key(db, owner, key_id, at)
        .await?
        .ok_or_else(|| Error::not_found("API key not found"))?;
    auth.evict(&[hash]);
    Ok(at)
}

/// The current time at the precision both databases store (microseconds).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
