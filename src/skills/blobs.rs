//! Blob storage for skill folders, behind [`BlobStore`] so an object store can
//! replace the filesystem. Blobs are content-addressed (hex SHA-256 of the
//! folder's canonical encoding) and stored AES-256-GCM sealed under the master
//! key, bound to their address: one blob per distinct folder, however many
//! skills (of however many platforms) share it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::folder::{Folder, content_address};
use crate::oauth::vault::{Vault, aad};

/// Where sealed blobs live. Implementations only move bytes; sealing and
/// addressing happen in [`SealedBlobs`].
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `sealed` under `address` unless something is there already (the
    /// same content). Whether it wrote.
    async fn put_if_absent(&self, address: &str, sealed: &[u8]) -> io::Result<bool>;
    async fn get(&self, address: &str) -> io::Result<Option<Vec<u8>>>;
    /// Overwrites the blob at `address` atomically (master-key rotation re-encrypts
    /// the same content in place).
    async fn replace(&self, address: &str, sealed: &[u8]) -> io::Result<()>;
    async fn delete(&self, address: &str) -> io::Result<()>;
}

/// Blobs as files: `<dir>/<first two hex digits>/<address>`, written to a
/// temporary name and renamed, so a reader never sees half a blob. The
/// directory is created on the first write.
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, address: &str) -> io::Result<PathBuf> {
        let valid = address.len() == 64
            && address
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a blob address is 64 lowercase hex digits",
            ));
        }
        Ok(self.root.join(&address[..2]).join(address))
    }
}

impl FsBlobStore {
    /// Writes to a temporary name, syncs, then renames over `path`.
    async fn write_atomically(&self, address: &str, path: &Path, sealed: &[u8]) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir).await?;
        let temporary = dir.join(format!(".{address}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let written = async {
            tokio::fs::write(&temporary, sealed).await?;
            tokio::fs::File::open(&temporary).await?.sync_all().await?;
            tokio::fs::rename(&temporary, path).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&temporary).await;
        }
        written
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_if_absent(&self, address: &str, sealed: &[u8]) -> io::Result<bool> {
        let path = self.path(address)?;
        if tokio::fs::try_exists(&path).await? {
            return Ok(false);
        }
        self.write_atomically(address, &path, sealed)
            .await
            .map(|()| true)
    }

    async fn replace(&self, address: &str, sealed: &[u8]) -> io::Result<()> {
        let path = self.path(address)?;
        self.write_atomically(address, &path, sealed).await
    }

    async fn get(&self, address: &str) -> io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(address)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, address: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(address)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Why a stored folder could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is missing from the blob store")]
    Missing(String),
    #[error("blob {0} does not decrypt with the master key (tampered, or another key)")]
    Sealed(String),
    #[error("blob {0} does not match its content address")]
    Corrupt(String),
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
}

/// A folder sealed for storage, and its address.
pub struct Sealed {
    pub address: String,
    pub bytes: Vec<u8>,
}

/// The blob store with sealing: folders in, folders out.
#[derive(Clone)]
pub struct SealedBlobs {
    store: Arc<dyn BlobStore>,
    vault: Vault,
}

impl SealedBlobs {
    pub fn new(store: Arc<dyn BlobStore>, vault: Vault) -> Self {
        Self { store, vault }
    }

    /// Encodes, addresses and encrypts a folder (CPU only: run off the runtime
    /// for big folders).
    pub fn seal(&self, folder: &Folder) -> Result<Sealed, BlobError> {
        let encoded = folder.encode();
        let address = content_address(&encoded);
        let bytes = self
            .vault
            .seal_bytes(&encoded, &aad::skill_blob(&address))
            .map_err(|_| BlobError::Sealed(address.clone()))?;
        Ok(Sealed { address, bytes })
    }

    pub async fn put_if_absent(&self, sealed: &Sealed) -> Result<bool, BlobError> {
        Ok(self
            .store
            .put_if_absent(&sealed.address, &sealed.bytes)
            .await?)
    }

    pub async fn delete(&self, address: &str) -> Result<(), BlobError> {
        Ok(self.store.delete(address).await?)
    }

    /// Reads, decrypts and checks a folder against its address.
    pub async fn get(&self, address: &str) -> Result<Folder, BlobError> {
        let sealed = self
            .store
            .get(address)
            .await?
            .ok_or_else(|| BlobError::Missing(address.to_owned()))?;
        let encoded = self
            .vault
            .open_bytes(&sealed, &aad::skill_blob(address))
            .map_err(|_| BlobError::Sealed(address.to_owned()))?;
        if content_address(&encoded) != address {
            return Err(BlobError::Corrupt(address.to_owned()));
        }
        Folder::decode(&encoded).map_err(|_| BlobError::Corrupt(address.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::skills::folder::{Limits, SkillFile};

    fn folder(text: &str) -> Folder {
        let limits = Limits {
            zip_bytes: 1 << 20,
            unpacked_bytes: 1 << 20,
            files: 10,
            file_bytes: 1 << 20,
        };
        Folder::new(
            vec![SkillFile {
                path: "SKILL.md".into(),
                content: text.as_bytes().to_vec(),
            }],
            &limits,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn sealed_round_trip_dedup_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FsBlobStore::new(dir.path().join("blobs")));
        let blobs = SealedBlobs::new(store.clone(), Vault::new(&[9u8; 32]));
        let f = folder("secret instructions");
        let sealed = blobs.seal(&f).unwrap();
        assert!(blobs.put_if_absent(&sealed).await.unwrap());
        assert!(!blobs.put_if_absent(&blobs.seal(&f).unwrap()).await.unwrap());
        assert_eq!(blobs.get(&sealed.address).await.unwrap(), f);

        let path = dir
            .path()
            .join("blobs")
            .join(&sealed.address[..2])
            .join(&sealed.address);
        let mut on_disk = std::fs::read(&path).unwrap();
        assert!(
            !on_disk.windows(6).any(|w| w == b"secret"),
            "encrypted at rest"
        );
        on_disk[20] ^= 1;
        std::fs::write(&path, &on_disk).unwrap();
        assert!(matches!(
            blobs.get(&sealed.address).await,
            Err(BlobError::Sealed(_))
        ));
        let other_key = SealedBlobs::new(store, Vault::new(&[1u8; 32]));
        assert!(other_key.get(&sealed.address).await.is_err());
        blobs.delete(&sealed.address).await.unwrap();
        assert!(matches!(
            blobs.get(&sealed.address).await,
            Err(BlobError::Missing(_))
        ));
        assert!(blobs.get("../../etc/passwd").await.is_err());
    }
}
