//! End users: idempotent creation on `external_id` (always with a fresh key),
//! reads, updates, and deletion that kills their keys at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::keys::{IssuedKey, mint, now};
use crate::auth::{Authenticator, KeyKind};
use crate::domain::{DisplayName, ExternalId, Metadata};
use crate::error::{ApiError, ApiResult};
use crate::http::response::PageRequest;
use crate::store::Db;
use crate::store::end_users::{self, EndUserRow, EndUserUpdate, NewEndUser};

#[derive(Debug, Serialize)]
pub struct EndUserView {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub external_id: String,
    pub display_name: Option<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndUserRow> for EndUserView {
    fn from(row: EndUserRow) -> Self {
        Self {
            id: row.id,
            platform_id: row.platform_id,
            external_id: row.external_id,
            display_name: row.display_name,
            metadata: row.metadata.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The answer to a create: the end user and a key shown once.
#[derive(Debug, Serialize)]
pub struct EndUserWithKey {
    #[serde(flatten)]
    pub end_user: EndUserView,
    pub api_key: IssuedKey,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndUser {
    pub external_id: String,
    pub display_name: Option<String>,
    pub metadata: Option<Value>,
}

/// Returns the end user with a fresh key, and whether the end user is new.
pub async fn create_or_get(
    db: &Db,
    platform_id: Uuid,
    request: CreateEndUser,
) -> ApiResult<(EndUserWithKey, bool)> {
    let external_id = ExternalId::parse(request.external_id)?;
    let display_name = request
        .display_name
        .map(|d| DisplayName::parse("display_name", d).map(DisplayName::into_inner))
        .transpose()?;
    let metadata = match request.metadata {
        Some(value) => Metadata::parse(value)?,
        None => Metadata::empty(),
    };
    let created_at = now();
    let user = NewEndUser {
        id: Uuid::now_v7(),
        platform_id,
        external_id: external_id.as_str().to_owned(),
        display_name,
        metadata: metadata.into_inner(),
        created_at,
    };
    let mut issued = None;
    let (row, created) = end_users::create_or_get(db, &user, |end_user_id| {
        let (row, key) = mint(
            KeyKind::EndUser,
            platform_id,
            Some(end_user_id),
            None,
            created_at,
        );
        issued = Some(key);
        row
    })
    .await?;
    let api_key = issued.ok_or_else(|| ApiError::internal("end-user key was not minted"))?;
    Ok((
        EndUserWithKey {
            end_user: row.into(),
            api_key,
        },
        created,
    ))
}

pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> ApiResult<EndUserView> {
    end_users::get(db, platform_id, id)
        .await?
        .map(Into::into)
        .ok_or_else(|| ApiError::not_found("end user not found"))
}

pub async fn list(
    db: &Db,
    platform_id: Uuid,
    external_id: Option<String>,
    page: PageRequest,
) -> ApiResult<(Vec<EndUserView>, i64)> {
    let external_id = external_id.map(ExternalId::parse).transpose()?;
    let (rows, total) = end_users::list(
        db,
        platform_id,
        external_id.as_ref().map(ExternalId::as_str),
        i64::from(page.limit),
        page.offset(),
    )
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchEndUser {
    /// `null` clears the display name.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    pub display_name: Option<Option<String>>,
    pub metadata: Option<Value>,
}

pub async fn update(
    db: &Db,
    platform_id: Uuid,
    id: Uuid,
    patch: PatchEndUser,
) -> ApiResult<EndUserView> {
    let display_name = match patch.display_name {
        None => None,
        Some(None) => Some(None),
        Some(Some(name)) => Some(Some(DisplayName::parse("display_name", name)?.into_inner())),
    };
    let update = EndUserUpdate {
        display_name,
        metadata: patch
            .metadata
            .map(Metadata::parse)
            .transpose()?
            .map(Metadata::into_inner),
    };
    end_users::update(db, platform_id, id, &update, now())
        .await?
        .map(Into::into)
        .ok_or_else(|| ApiError::not_found("end user not found"))
}

/// Deletes the end user and everything it owns; its keys stop working at once.
pub async fn delete(db: &Db, auth: &Authenticator, platform_id: Uuid, id: Uuid) -> ApiResult<()> {
    let hashes = end_users::delete(db, platform_id, id, Utc::now().timestamp_millis())
        .await?
        .ok_or_else(|| ApiError::not_found("end user not found"))?;
    auth.evict(&hashes);
    Ok(())
}
