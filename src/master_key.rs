//! The master encryption key for secrets at rest: `ASSISTIV_MASTER_KEY` (base64 of
//! 32 bytes) or, when absent, a key generated once into `<data dir>/master.key`
//! (mode 0600). Instances sharing one database must share this key, so set it in
//! the environment for PostgreSQL deployments. `ASSISTIV_PREVIOUS_MASTER_KEYS` lists
//! keys being rotated away from: they open old values, never seal new ones.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::config::Config;
use crate::oauth::vault::Vault;

pub const KEY_FILE: &str = "master.key";

pub struct MasterKey {
    current: SecretBox<[u8; 32]>,
    previous: Vec<SecretBox<[u8; 32]>>,
}

impl MasterKey {
    /// The current key and the previous ones from the configuration.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let mut key = Self::load_current(config)?;
        if let Some(list) = &config.previous_master_keys {
            for (n, encoded) in list
                .expose_secret()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
            {
                let previous = Self::decode(encoded)
                    .with_context(|| format!("ASSISTIV_PREVIOUS_MASTER_KEYS, key {}", n + 1))?;
                key.previous.push(previous.current);
            }
        }
        Ok(key)
    }

    fn load_current(config: &Config) -> anyhow::Result<Self> {
        if let Some(encoded) = &config.master_key {
            return Self::decode(encoded.expose_secret()).context("ASSISTIV_MASTER_KEY");
        }
        let path = config.data_dir.join(KEY_FILE);
        if path.exists() {
            let encoded = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Self::decode(encoded.trim()).with_context(|| path.display().to_string());
        }
        Self::generate_into(&path)
    }

    fn decode(encoded: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .context("the master key must be base64")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the master key must be 32 bytes"))?;
        Ok(Self::from_bytes(key))
    }

    fn generate_into(path: &Path) -> anyhow::Result<Self> {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        if let Some(dir) = path.parent() {
            crate::store::files::create_private_dir(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(STANDARD.encode(key).as_bytes())?;
        tracing::warn!(
            path = %path.display(),
            "generated a new master key; back it up, and set ASSISTIV_MASTER_KEY when several instances share a database"
        );
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        Self {
            current: SecretBox::new(Box::new(key)),
            previous: Vec::new(),
        }
    }

    /// The current key: it seals, signs links and derives the page's CSRF key.
    pub fn bytes(&self) -> &[u8; 32] {
        self.current.expose_secret()
    }

    /// The vault for secrets at rest: seals under the current key, opens under any.
    pub fn vault(&self) -> Vault {
        let previous: Vec<[u8; 32]> = self.previous.iter().map(|k| *k.expose_secret()).collect();
        Vault::with_previous(self.bytes(), &previous)
    }

    /// A fresh random key, base64, for `ASSISTIV_MASTER_KEY`.
    pub fn generate_encoded() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reloads_the_same_key() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let config = Config::for_data_dir(dir.path().to_path_buf());
        let first = MasterKey::load(&config)?;
        let second = MasterKey::load(&config)?;
        assert_eq!(first.bytes(), second.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Ok(())
    }

    #[test]
    fn previous_keys_open_and_the_current_one_seals() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut config = Config::for_data_dir(dir.path().to_path_buf());
        config.master_key = Some(STANDARD.encode([1u8; 32]).into());
        let old = MasterKey::load(&config)?.vault();
        let sealed = old
            .seal(&"s".into(), "a")
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        config.master_key = Some(STANDARD.encode([2u8; 32]).into());
        config.previous_master_keys = Some(
            format!(
                " {} , {} ",
                STANDARD.encode([1u8; 32]),
                STANDARD.encode([3u8; 32])
            )
            .into(),
        );
        let rotating = MasterKey::load(&config)?;
        assert_eq!(rotating.bytes(), &[2u8; 32]);
        let vault = rotating.vault();
        assert!(vault.open(&sealed, "a").is_ok());
        assert!(vault.needs_reseal(&sealed));
        assert!(
            !vault.needs_reseal(
                &vault
                    .seal(&"s".into(), "a")
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            )
        );
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "a configured key writes no file"
        );
        config.previous_master_keys = Some("not base64!".into());
        let refused = MasterKey::load(&config).err().map(|e| format!("{e:#}"));
        assert!(refused.is_some_and(|e| e.contains("PREVIOUS_MASTER_KEYS")));
        Ok(())
    }

    #[test]
    fn configured_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::decode("not base64!").is_err());
        assert!(MasterKey::decode(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::decode(&STANDARD.encode([1u8; 32])).is_ok());
    }
}
