//! Connect links and the browser sessions they open. A link is a random token shown
//! once (stored as SHA-256), valid 15 minutes, usable once: its first use swaps it for a
//! session cookie (also stored as SHA-256) that lasts 30 minutes. The page's CSRF token
//! is an HMAC of the session cookie under a key derived from the master key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::store;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::tenancy::rate_limits::check_end_user;

/// How long a link may wait before its first use.
const LINK_TTL_MS: i64 = 15 * 60 * 1000;
/// How long the page stays usable after the link was opened.
pub const SESSION_TTL_MS: i64 = 30 * 60 * 1000;

/// A freshly minted link (the only time its token is seen).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Whose page a session shows.
#[derive(Debug, Clone, Copy)]
pub struct PageSession {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
}

fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    B64.encode(raw)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn now_ms(state: &AppState) -> i64 {
    state.clock.now().timestamp_millis()
}

/// Mints a link for an end user of the platform (404 for another platform's user).
pub async fn mint(state: &AppState, platform_id: Uuid, end_user_id: Uuid) -> Result<ConnectLink> {
    check_end_user(&state.db, platform_id, end_user_id).await?;
    let token = random_token();
    let now = now_ms(state);
    let expires_at_ms = now + LINK_TTL_MS;
    store::insert_link(
        &state.db,
        &hash(&token),
        platform_id,
        end_user_id,
        expires_at_ms,
        now - SESSION_TTL_MS,
    )
    .await?;
    Ok(ConnectLink {
        url: format!("{}/connect?t={token}", state.oauth.public_url()),
        expires_at: DateTime::from_timestamp_millis(expires_at_ms).unwrap_or_default(),
    })
}

/// Uses a link once: a new session token, or `None` when the link is unknown,
/// expired or already used (a single conditional update settles races).
pub async fn open(state: &AppState, link_token: &str) -> Result<Option<String>> {
    if link_token.is_empty() || link_token.len() > 200 {
        return Ok(None);
    }
    let session = random_token();
    let now = now_ms(state);
    let opened = store::open_session(
        &state.db,
        &hash(link_token),
        &hash(&session),
        now + SESSION_TTL_MS,
        now,
    )
    .await?;
    Ok(opened.then_some(session))
}

/// The live session behind a cookie value.
pub async fn session(state: &AppState, cookie: &str) -> Result<Option<PageSession>> {
    if cookie.is_empty() || cookie.len() > 200 {
        return Ok(None);
    }
    let row = store::live_session(&state.db, &hash(cookie), now_ms(state)).await?;
    Ok(row.map(|(platform_id, end_user_id)| PageSession {
        platform_id,
        end_user_id,
    }))
}

fn csrf_mac(master_key: &[u8; 32], session: &str) -> Hmac<Sha256> {
    let mut key = [0u8; 32];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = Hkdf::<Sha256>::new(Some(b"assistiv"), master_key)
        .expand(b"connect page csrf v1", &mut key);
    let mut mac = match Hmac::<Sha256>::new_from_slice(&key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes any key length"),
    };
    mac.update(session.as_bytes());
    mac
}

/// The CSRF token the page's forms carry for this session.
pub fn csrf_token(state: &AppState, session: &str) -> String {
    B64.encode(
        csrf_mac(state.master_key.bytes(), session)
            .finalize()
            .into_bytes(),
    )
}

/// Checks a form's CSRF token in constant time.
pub fn check_csrf(state: &AppState, session: &str, presented: &str) -> Result<()> {
    let tag = B64
        .decode(presented)
        .map_err(|_| Error::forbidden("invalid form token; reload the page"))?;
    csrf_mac(state.master_key.bytes(), session)
        .verify_slice(&tag)
        .map_err(|_| Error::forbidden("invalid form token; reload the page"))
}
