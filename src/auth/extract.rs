//! Extractors for the caller's key. Order of refusals: no or unknown key → 401;
//! a key of the wrong kind for the route → 403; `X-Assistiv-Platform-Id` not the
//! key's platform → 403; a platform path that is not the key's platform → 404.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::cache::AuthContext;
use super::keys::KeyKind;
use crate::error::Error;
use crate::state::AppState;

pub const PLATFORM_ID_HEADER: &str = "x-assistiv-platform-id";

/// The raw token of `Authorization: Bearer <token>`.
pub fn bearer_token(parts: &Parts) -> Result<&str, Error> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| Error::unauthorized("missing API key: send Authorization: Bearer <key>"))?;
    let value = header
        .to_str()
        .map_err(|_| Error::unauthorized("invalid Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| Error::unauthorized("expected Authorization: Bearer <key>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::unauthorized("expected Authorization: Bearer <key>"));
    }
    Ok(token.trim())
}

/// Any valid key (platform or end user).
#[derive(Debug, Clone)]
pub struct Caller(pub AuthContext);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some(ctx) = parts.extensions.get::<AuthContext>() {
            return Ok(Self(ctx.clone()));
        }
        let token = bearer_token(parts)?;
        let ctx = state
            .auth
            .authenticate(token)
            .await?
            .ok_or_else(|| Error::unauthorized("invalid or revoked API key"))?;
        if let Some(claimed) = parts.headers.get(PLATFORM_ID_HEADER) {
            let matches = claimed
                .to_str()
                .ok()
                .and_then(|s| Uuid::parse_str(s.trim()).ok())
                .is_some_and(|id| id == ctx.platform_id);
            if !matches {
                return Err(Error::forbidden(
                    "X-Assistiv-Platform-Id does not match this key's platform",
                ));
            }
        }
        parts.extensions.insert(ctx.clone());
        Ok(Self(ctx))
    }
}

/// A platform key (`sk-plat_*`).
#[derive(Debug, Clone)]
pub struct PlatformKey(pub AuthContext);

impl FromRequestParts<AppState> for PlatformKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await?;
        if ctx.kind != KeyKind::Platform {
            return Err(Error::forbidden(
                "this route needs a platform key (sk-plat_*)",
            ));
        }
        Ok(Self(ctx))
    }
}

/// An end-user key (`sk-eu_*`).
#[derive(Debug, Clone)]
pub struct EndUserKey {
    pub ctx: AuthContext,
    pub end_user_id: Uuid,
}

impl FromRequestParts<AppState> for EndUserKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await?;
        match (ctx.kind, ctx.end_user_id) {
            (KeyKind::EndUser, Some(end_user_id)) => Ok(Self { ctx, end_user_id }),
            _ => Err(Error::forbidden(
                "this route needs an end-user key (sk-eu_*)",
            )),
        }
    }
}

/// The `{pid}` of the matched route.
async fn path_platform_id(parts: &mut Parts, state: &AppState) -> Result<Uuid, Error> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| Error::bad_request(e.body_text()))?;
    let raw = params
        .iter()
        .find_map(|(name, value)| (name == "pid").then_some(value))
        .ok_or_else(|| Error::internal("route has no {pid} parameter"))?;
    Uuid::parse_str(raw)
        .map_err(|_| Error::bad_request(format!("invalid platform id '{raw}': expected a UUID")))
}

/// A platform key acting on its own `/v1/platforms/{pid}/...`. Another platform's
/// id answers 404, so it never learns whether that platform exists.
#[derive(Debug, Clone)]
pub struct PlatformScope {
    pub platform_id: Uuid,
    pub key: AuthContext,
}

impl FromRequestParts<AppState> for PlatformScope {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let PlatformKey(key) = PlatformKey::from_request_parts(parts, state).await?;
        let platform_id = path_platform_id(parts, state).await?;
        if platform_id != key.platform_id {
            return Err(Error::not_found("platform not found"));
        }
        Ok(Self { platform_id, key })
    }
}

impl PlatformScope {
    /// The ledger's name for this caller.
    pub fn actor(&self) -> crate::billing::budgets::Actor {
        crate::billing::budgets::Actor(format!("platform_key:{}", self.key.key_id))
    }
}

/// A platform's routes served to two audiences by one handler: the operator's
/// admin token under `/admin/v1/platforms/{pid}/...` (an unknown platform is a
/// 404) and the platform's own key under `/v1/platforms/{pid}/...` (as
/// [`PlatformScope`]).
#[derive(Debug, Clone)]
pub struct PlatformOrOperator {
    pub platform_id: Uuid,
    /// `None` for the operator.
    pub key: Option<AuthContext>,
}

impl FromRequestParts<AppState> for PlatformOrOperator {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if !parts.uri.path().starts_with("/admin/") {
            let scope = PlatformScope::from_request_parts(parts, state).await?;
            return Ok(Self {
                platform_id: scope.platform_id,
                key: Some(scope.key),
            });
        }
        super::Admin::from_request_parts(parts, state).await?;
        let platform_id = path_platform_id(parts, state).await?;
        if crate::store::platforms::get(&state.db, platform_id)
            .await?
            .is_none()
        {
            return Err(Error::not_found("platform not found"));
        }
        Ok(Self {
            platform_id,
            key: None,
        })
    }
}
