//! The embedded database's files on disk: readable by the owner only. The data
//! directory is created 0700 and the database file 0600 before SQLite opens it;
//! SQLite gives its `-wal` and `-shm` files the database file's permissions.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Creates `dir` (and missing parents) readable by the owner only; an existing
/// directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the empty file `path` with mode 0600 unless it exists; an existing
/// file keeps its mode, with a warning when others may read it.
pub fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            warn_if_others_can_read(path);
            Ok(())
        }
        Err(err) => Err(err).with_context(|| format!("creating {}", shown(path))),
    }
}

#[cfg(unix)]
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %shown(path),
            mode = format_args!("{mode:o}"),
            "the database file is readable by other users; `chmod 600` it (and its -wal and -shm files)"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read(_path: &Path) {}

/// `path` made absolute (for messages about which file was meant).
pub fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}
