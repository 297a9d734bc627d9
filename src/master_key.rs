//! The master encryption key for secrets at rest: `ASSISTIV_MASTER_KEY` (base64 of
//! 32 bytes) or, when absent, a key generated once into `<data dir>/master.key`
//! (mode 0600). Instances sharing one database must share this key, so set it in
//! the environment for PostgreSQL deployments.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::config::Config;

pub const KEY_FILE: &str = "master.key";

pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    pub fn load(config: &Config) -> anyhow::Result<Self> {
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
        Ok(Self(SecretBox::new(Box::new(key))))
    }

    fn generate_into(path: &Path) -> anyhow::Result<Self> {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
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
        Ok(Self(SecretBox::new(Box::new(key))))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
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
    fn configured_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::decode("not base64!").is_err());
        assert!(MasterKey::decode(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::decode(&STANDARD.encode([1u8; 32])).is_ok());
    }
}
