//! Secrets at rest: AES-256-GCM under the master key, a random 96-bit nonce per
//! seal. A sealed value is `0xA5 0x01 || key id (4 bytes) || nonce || ciphertext`;
//! values sealed before key ids existed are `nonce || ciphertext` and still open.
//! The associated data names the row and the column a ciphertext belongs to (e.g.
//! `connection:{id}:access_token`), so a ciphertext copied to another row or column
//! does not decrypt.
//!
//! The vault holds the current key, which seals, and any previous keys, which only
//! open: during a master-key rotation old and new ciphertexts coexist, and
//! [`Vault::needs_reseal`] tells which values the rotation still has to rewrite.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;
/// Marks a value that carries its key id (format version 1).
const MAGIC: [u8; 2] = [0xA5, 0x01];
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN;

/// Why a ciphertext could not be opened (wrong row, tampered, another key).
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted")]
pub struct VaultError;

/// A key's public name: the first bytes of a hash of it. Reveals nothing usable
/// about the key and lets a ciphertext say which key opens it.
pub fn key_id(key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let digest = Sha256::new()
        .chain_update(b"assistiv vault key id\0")
        .chain_update(key)
        .finalize();
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    id
}

#[derive(Clone)]
struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl Key {
    fn new(key: &[u8; 32]) -> Self {
        Self {
            id: key_id(key),
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Opens `nonce || ciphertext`.
    fn open(&self, body: &[u8], aad: &str) -> Option<Vec<u8>> {
        if body.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }
}

#[derive(Clone)]
pub struct Vault {
    current: Key,
    /// Keys that open but never seal.
    previous: Vec<Key>,
}

impl Vault {
    /// A vault with one key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self::with_previous(key, &[])
    }

    /// A vault sealing under `current` and opening under it or any of `previous`.
    pub fn with_previous(current: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        let current = Key::new(current);
        let previous = previous
            .iter()
            .map(Key::new)
            .filter(|k| k.id != current.id)
            .collect();
        Self { current, previous }
    }

    /// The id of the key new values are sealed under.
    pub fn current_key_id(&self) -> [u8; KEY_ID_LEN] {
        self.current.id
    }

    /// The header every value sealed under the current key starts with.
    pub fn current_header(&self) -> Vec<u8> {
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&self.current.id);
        header
    }

    /// Whether `sealed` is not (yet) under the current key.
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        !(sealed.len() > HEADER_LEN && sealed.starts_with(&self.current_header()))
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
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError)?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&MAGIC);
        sealed.extend_from_slice(&self.current.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts what [`Vault::seal_bytes`] produced with the same `aad`, under
    /// whichever known key it names (or, for a value without a key id, any).
    pub fn open_bytes(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, VaultError> {
        let keys = || std::iter::once(&self.current).chain(&self.previous);
        if sealed.len() > HEADER_LEN && sealed.starts_with(&MAGIC) {
            let id = &sealed[MAGIC.len()..HEADER_LEN];
            if let Some(plain) = keys()
                .find(|k| k.id == id)
                .and_then(|key| key.open(&sealed[HEADER_LEN..], aad))
            {
                return Ok(plain);
            }
        }
        // A value from before key ids (whose nonce may even start like a header).
        keys().find_map(|k| k.open(sealed, aad)).ok_or(VaultError)
    }

    /// `sealed` re-encrypted under the current key; `None` when it already is.
    pub fn reseal(&self, sealed: &[u8], aad: &str) -> Result<Option<Vec<u8>>, VaultError> {
        if !self.needs_reseal(sealed) {
            return Ok(None);
        }
        let plain = secrecy::zeroize::Zeroizing::new(self.open_bytes(sealed, aad)?);
        self.seal_bytes(&plain, aad).map(Some)
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

    /// A capability provider's auth secret, bound to its uid.
    pub fn capability_secret(uid: &str) -> String {
        format!("capability_provider:{uid}:auth_secret")
    }

    /// A webhook endpoint's `whsec_` signing secret.
    pub fn webhook_secret(endpoint_id: Uuid) -> String {
        format!("webhook_endpoint:{endpoint_id}:secret")
    }

    /// The secret a webhook endpoint signed with before its last rotation.
    pub fn webhook_previous_secret(endpoint_id: Uuid) -> String {
        format!("webhook_endpoint:{endpoint_id}:previous_secret")
    }

    /// An LLM provider config's API key, bound to the config's id.
    pub fn llm_provider_key(id: Uuid) -> String {
        format!("llm_provider:{id}:api_key")
    }

    /// A stored Responses conversation, bound to the response id.
    pub fn response_body(id: &str) -> String {
        format!("response:{id}:body")
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

    /// `nonce || ciphertext` under `key`, as values were sealed before key ids.
    fn legacy_seal(key: &[u8; 32], plain: &[u8], aad: &str) -> Vec<u8> {
        let nonce = [3u8; NONCE_LEN];
        let mut out = nonce.to_vec();
        out.extend(
            Aes256Gcm::new(key.into())
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: plain,
                        aad: aad.as_bytes(),
                    },
                )
                .unwrap(),
        );
        out
    }

    #[test]
    fn rotation_opens_old_values_and_reseals_under_the_new_key() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let before = Vault::new(&old);
        let tagged = before.seal(&SecretString::from("tok"), "a").unwrap();
        let legacy = legacy_seal(&old, b"tok", "a");
        assert!(tagged.starts_with(&MAGIC) && tagged[2..6] == key_id(&old));

        let during = Vault::with_previous(&new, &[old]);
        for value in [&tagged, &legacy] {
            assert!(during.needs_reseal(value));
            assert_eq!(during.open(value, "a").unwrap().expose_secret(), "tok");
            let resealed = during.reseal(value, "a").unwrap().unwrap();
            assert!(!during.needs_reseal(&resealed));
            assert!(
                during.reseal(&resealed, "a").unwrap().is_none(),
                "idempotent"
            );
            let after = Vault::new(&new);
            assert_eq!(after.open(&resealed, "a").unwrap().expose_secret(), "tok");
            assert!(after.open(value, "a").is_err(), "the old key is gone");
            assert!(during.reseal(value, "b").is_err(), "the AAD still binds");
        }
        assert!(Vault::new(&[9u8; 32]).reseal(&tagged, "a").is_err());
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
        assert!(v.open(&sealed[..18], "x").is_err());
        assert!(v.open(&[], "x").is_err());
    }
}
