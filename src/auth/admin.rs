//! The operator's admin token for `/admin/v1`: configured, kept only as a digest,
//! compared in constant time.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::extract::bearer_token;
use crate::error::Error;
use crate::state::AppState;

#[derive(Clone)]
pub struct AdminToken {
    digest: Option<[u8; 32]>,
}

impl AdminToken {
    pub fn new(token: Option<&str>) -> Self {
        Self {
            digest: token.map(|t| Sha256::digest(t.as_bytes()).into()),
        }
    }

    fn matches(&self, presented: &str) -> Option<bool> {
        let expected = self.digest.as_ref()?;
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        Some(bool::from(expected.ct_eq(&presented)))
    }
}

/// Proof that the request carries the operator's admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer_token(parts)?;
        match state.admin_token.matches(token) {
            None => Err(Error::forbidden(
                "the operator API is disabled: set ASSISTIV_ADMIN_TOKEN to enable it",
            )),
            Some(true) => Ok(Admin),
            Some(false) => match state.auth.authenticate(token).await? {
                Some(_) => Err(Error::forbidden(
                    "this route needs the operator admin token",
                )),
                None => Err(Error::unauthorized("invalid admin token")),
            },
        }
    }
}
