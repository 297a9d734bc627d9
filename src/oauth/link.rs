//! Stateless signed start links: `{public_url}/oauth/start?t=<token>`, where the
//! token is `base64url(platform ‖ end user ‖ expiry ms ‖ app)` `.`
//! `base64url(HMAC-SHA256)`. The HMAC key is derived from the master key with HKDF
//! (never the AES key itself), so a link proves who it was made for without any
//! row in the database, and carries no API key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// What a valid link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartClaims {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub app: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the connect link is malformed or its signature is wrong")]
    Invalid,
    #[error("the connect link has expired")]
    Expired,
}

#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl LinkSigner {
    /// Derives the signing key from the master key (HKDF-SHA256, own label).
    pub fn new(master_key: &[u8; 32]) -> Self {
        let mut key = [0u8; 32];
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = Hkdf::<Sha256>::new(Some(b"assistiv"), master_key)
            .expand(b"oauth start link v1", &mut key);
        Self { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes any key length"),
        }
    }

    pub fn sign(&self, claims: &StartClaims) -> String {
        let mut payload = Vec::with_capacity(40 + claims.app.len());
        payload.extend_from_slice(claims.platform_id.as_bytes());
        payload.extend_from_slice(claims.end_user_id.as_bytes());
        payload.extend_from_slice(&claims.expires_at_ms.to_be_bytes());
        payload.extend_from_slice(claims.app.as_bytes());
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", B64.encode(&payload), B64.encode(tag))
    }

    pub fn verify(&self, token: &str, now_ms: i64) -> Result<StartClaims, LinkError> {
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = B64.decode(payload).map_err(|_| LinkError::Invalid)?;
        let tag = B64.decode(tag).map_err(|_| LinkError::Invalid)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| LinkError::Invalid)?;
        if payload.len() <= 40 {
            return Err(LinkError::Invalid);
        }
        let uuid = |range: std::ops::Range<usize>| {
            <[u8; 16]>::try_from(&payload[range])
                .map(Uuid::from_bytes)
                .map_err(|_| LinkError::Invalid)
        };
        let expires: [u8; 8] = payload[32..40].try_into().map_err(|_| LinkError::Invalid)?;
        let claims = StartClaims {
            platform_id: uuid(0..16)?,
            end_user_id: uuid(16..32)?,
            expires_at_ms: i64::from_be_bytes(expires),
            app: String::from_utf8(payload[40..].to_vec()).map_err(|_| LinkError::Invalid)?,
        };
        if claims.expires_at_ms <= now_ms {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn claims() -> StartClaims {
        StartClaims {
            platform_id: Uuid::now_v7(),
            end_user_id: Uuid::now_v7(),
            app: "github".into(),
            expires_at_ms: 10_000,
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let signer = LinkSigner::new(&[1u8; 32]);
        let token = signer.sign(&claims());
        assert!(!token.contains('+') && !token.contains('/') && !token.contains('='));
        let back = signer.verify(&token, 9_999).unwrap();
        assert_eq!(back.app, "github");
        assert_eq!(back.expires_at_ms, 10_000);
        assert_eq!(signer.verify(&token, 10_000), Err(LinkError::Expired));
    }

    #[test]
    fn tampered_or_foreign_links_are_refused() {
        let signer = LinkSigner::new(&[1u8; 32]);
        let c = claims();
        let token = signer.sign(&c);
        let (payload, tag) = token.split_once('.').unwrap();
        // Another end user in the payload, the old signature.
        let forged = StartClaims {
            end_user_id: Uuid::now_v7(),
            ..c.clone()
        };
        let forged_payload = signer.sign(&forged);
        let forged_payload = forged_payload.split_once('.').unwrap().0;
        assert_eq!(
            signer.verify(&format!("{forged_payload}.{tag}"), 0),
            Err(LinkError::Invalid)
        );
        // A later expiry with the old signature.
        let longer = signer.sign(&StartClaims {
            expires_at_ms: i64::MAX,
            ..c
        });
        let longer_payload = longer.split_once('.').unwrap().0;
        assert_eq!(
            signer.verify(&format!("{longer_payload}.{tag}"), 0),
            Err(LinkError::Invalid)
        );
        // Signed under another master key.
        assert_eq!(
            LinkSigner::new(&[2u8; 32]).verify(&token, 0),
            Err(LinkError::Invalid)
        );
        for bad in ["", ".", "abc", &format!("{payload}."), &format!(".{tag}")] {
            assert_eq!(signer.verify(bad, 0), Err(LinkError::Invalid), "{bad}");
        }
    }

    #[test]
    fn the_link_key_is_not_the_master_key() {
        let master = [3u8; 32];
        assert_ne!(LinkSigner::new(&master).key, master);
    }
}
