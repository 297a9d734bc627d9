//! Secrets at rest: AES-256-GCM under the master key, a random 96-bit nonce per
//! seal, stored as `nonce || ciphertext`. The associated data names the row and the
//! column a ciphertext belongs to (e.g. `connection:{id}:access_token`), so a
//! ciphertext copied to another row or column does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

const NONCE_LEN: usize = 12;

/// Why a ciphertext could not be opened (wrong row, tampered, another key).
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted")]
pub struct VaultError;

#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl Vault {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Encrypts `plaintext` bound to `aad`.
    pub fn seal(&self, plaintext: &SecretString, aad: &str) -> Result<Vec<u8>, VaultError> {
        self.seal_bytes(plaintext.expose_secret().as_bytes(), aad)
    }

    /// Decrypts what [`Vault::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &str) -> Result<SecretString, VaultError> {
        String::from_utf8(self.open_bytes(sealed, aad)?)
            .map(SecretString::from)
            .map_err(|_| VaultError)
    }

    /// Encrypts binary `plaintext` (skill blobs, for instance) bound to `aad`.
    pub fn seal_bytes(&self, plaintext: &[u8], aad: &str) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts what [`Vault::seal_bytes`] produced with the same `aad`.
    pub fn open_bytes(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, VaultError> {
        if sealed.len() <= NONCE_LEN {
            return Err(VaultError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError)
    }
}

/// Associated data of each encrypted column.
pub mod aad {
    use uuid::Uuid;

    pub fn client_secret(platform_id: Uuid, app: &str) -> String {
        format!("app_activation:{platform_id}:{app}:client_secret")
    }

    pub fn pkce_verifier(state_hash: &str) -> String {
        format!("oauth_state:{state_hash}:pkce_verifier")
    }

    pub fn access_token(connection_id: Uuid) -> String {
        format!("connection:{connection_id}:access_token")
    }

    pub fn refresh_token(connection_id: Uuid) -> String {
        format!("connection:{connection_id}:refresh_token")
    }

    /// A skill blob is bound to its content address.
    pub fn skill_blob(sha256: &str) -> String {
        format!("skill_blob:{sha256}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn vault() -> Vault {
        Vault::new(&[7u8; 32])
    }

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time() {
        let v = vault();
        let secret = SecretString::from("gho_abc123");
        let a = v.seal(&secret, "connection:1:access_token").unwrap();
        let b = v.seal(&secret, "connection:1:access_token").unwrap();
        assert_ne!(a, b, "each seal uses a new nonce");
        assert!(!a.windows(10).any(|w| w == b"gho_abc123"));
        let opened = v.open(&a, "connection:1:access_token").unwrap();
        assert_eq!(opened.expose_secret(), "gho_abc123");
    }

    #[test]
    fn another_row_or_column_does_not_decrypt() {
        let v = vault();
        let sealed = v
            .seal(&SecretString::from("s"), "connection:1:access_token")
            .unwrap();
        assert!(v.open(&sealed, "connection:2:access_token").is_err());
        assert!(v.open(&sealed, "connection:1:refresh_token").is_err());
    }

    #[test]
    fn tampering_or_another_key_fails() {
        let v = vault();
        let mut sealed = v.seal(&SecretString::from("secret"), "x").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(v.open(&sealed, "x").is_err());
        sealed[last] ^= 1;
        sealed[0] ^= 1;
        assert!(v.open(&sealed, "x").is_err(), "nonce tampered");
        sealed[0] ^= 1;
        assert!(v.open(&sealed, "x").is_ok());
        assert!(Vault::new(&[8u8; 32]).open(&sealed, "x").is_err());
        assert!(v.open(&sealed[..12], "x").is_err());
        assert!(v.open(&[], "x").is_err());
    }
}
