//! Key minting: `<prefix><43 base62 chars>` (256 bits of randomness), stored only as
//! the SHA-256 of the whole key. Listings show the first 12 characters.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Random characters after the prefix: 43 base62 characters carry 256 bits.
const RANDOM_CHARS: usize = 43;
/// How much of a key listings may show.
pub const DISPLAY_PREFIX_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Platform,
    EndUser,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Platform => "sk-plat_",
            Self::EndUser => "sk-eu_",
        }
    }

    /// The value stored in `api_keys.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::EndUser => "end_user",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "platform" => Some(Self::Platform),
            "end_user" => Some(Self::EndUser),
            _ => None,
        }
    }
}

/// A freshly minted key. `raw` is shown to the caller once and never stored.
pub struct MintedKey {
    pub raw: String,
    pub hash: String,
    pub display_prefix: String,
}

impl MintedKey {
    pub fn new(kind: KeyKind) -> Self {
        let random: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(RANDOM_CHARS)
            .map(char::from)
            .collect();
        let raw = format!("{}{random}", kind.prefix());
        Self {
            hash: hash_key(&raw),
            display_prefix: raw.chars().take(DISPLAY_PREFIX_LEN).collect(),
            raw,
        }
    }
}

impl std::fmt::Debug for MintedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedKey")
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a raw key, lowercase hex: the only form a key is stored in.
pub fn hash_key(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// The kind a raw key claims by its prefix; used to refuse garbage before any lookup.
pub fn claimed_kind(raw: &str) -> Option<KeyKind> {
    let (kind, rest) = if let Some(rest) = raw.strip_prefix(KeyKind::Platform.prefix()) {
        (KeyKind::Platform, rest)
    } else if let Some(rest) = raw.strip_prefix(KeyKind::EndUser.prefix()) {
        (KeyKind::EndUser, rest)
    } else {
        return None;
    };
    (rest.len() >= RANDOM_CHARS
        && rest.len() <= 128
        && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_have_prefix_length_and_hash() {
        let key = MintedKey::new(KeyKind::EndUser);
        assert!(key.raw.starts_with("sk-eu_"));
        assert_eq!(key.raw.len(), "sk-eu_".len() + RANDOM_CHARS);
        assert_eq!(key.hash, hash_key(&key.raw));
        assert_eq!(key.display_prefix.len(), DISPLAY_PREFIX_LEN);
        assert_eq!(claimed_kind(&key.raw), Some(KeyKind::EndUser));
        assert_ne!(MintedKey::new(KeyKind::EndUser).raw, key.raw);
    }

    #[test]
    fn garbage_claims_no_kind() {
        assert_eq!(claimed_kind("sk-plat_short"), None);
        assert_eq!(claimed_kind("Bearer sk-plat_x"), None);
        let bad = format!("sk-plat_{}!", "a".repeat(43));
        assert_eq!(claimed_kind(&bad), None);
    }
}
