//! `/v1/platforms/{pid}/api-keys`: list (prefixes only), create (raw key once), revoke.

use axum::body::Bytes;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::domain::DisplayName;
use crate::error::Result;
use crate::http::extract::{ApiPath, ApiQuery, json_or_default};
use crate::http::response::{Created, Data, PageQuery, PageRequest, Paged};
use crate::state::AppState;
use crate::store::api_keys;
use crate::tenancy::keys::{self, IssuedKey, KeyView};

pub async fn list(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<KeyView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let rows = api_keys::list_platform_keys(
        &state.db,
        scope.platform_id,
        i64::from(page.limit),
        page.offset(),
    )
    .await?;
    let total = api_keys::count_platform_keys(&state.db, scope.platform_id).await?;
    Ok(page.into_page(rows.into_iter().map(Into::into).collect(), total))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    scope: PlatformScope,
    body: Bytes,
) -> Result<Created<IssuedKey>> {
    let request: CreateKey = json_or_default(&body)?;
    let name = request
        .name
        .map(|n| DisplayName::parse("name", n).map(DisplayName::into_inner))
        .transpose()?;
    keys::create_platform_key(&state.db, scope.platform_id, name)
        .await
        .map(Created)
}

#[derive(Serialize)]
pub struct Revoked {
    id: Uuid,
    revoked: bool,
    revoked_at: DateTime<Utc>,
}

pub async fn revoke(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, key_id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Revoked>> {
    let revoked_at =
        keys::revoke_platform_key(&state.db, &state.auth, scope.platform_id, key_id).await?;
    Ok(Data(Revoked {
        id: key_id,
        revoked: true,
        revoked_at,
    }))
}
