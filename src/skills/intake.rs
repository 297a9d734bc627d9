//! Zip intake: a skill zip becomes a [`Folder`], or a 400 saying why not. Two
//! passes: the central directory alone (names, symlinks, encryption, entry
//! count: refused before anything is inflated), then each file inflated through
//! a bounded reader, so a bomb is caught as it inflates (at most one byte past
//! the cap), whatever sizes its headers claim. Nothing is written anywhere.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use super::folder::{Folder, Limits, SkillFile, is_clutter, normalise_path};
use crate::error::{Error, Result};

/// Directory entries do not count as files, but a central directory this much
/// longer than the file cap is refused without looking further.
const ENTRY_SLACK: usize = 1000;

/// Unpacks and validates a skill zip.
pub fn unpack(zip: &[u8], limits: &Limits) -> Result<Folder> {
    if zip.len() > limits.zip_bytes {
        return Err(Error::payload_too_large(format!(
            "the zip is {} bytes, over the {}-byte cap",
            zip.len(),
            limits.zip_bytes
        )));
    }
    let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(|e| {
        Error::bad_request(format!("the body is not a readable zip archive: {e}"))
    })?;
    let wanted = plan(&archive, limits)?;
    let mut files = Vec::with_capacity(wanted.len());
    let mut total: u64 = 0;
    for (index, path) in wanted {
        let entry = archive.by_index(index).map_err(|e| unreadable(&path, &e))?;
        let budget = limits
            .file_bytes
            .min(limits.unpacked_bytes.saturating_sub(total));
        let content = read_bounded(entry, budget).map_err(|failure| match failure {
            ReadFailure::TooLarge => {
                if budget < limits.file_bytes {
                    Error::bad_request(format!(
                        "the files inflate past the {}-byte cap on a skill's unpacked size \
                         (at '{path}'): refused as a zip bomb",
                        limits.unpacked_bytes
                    ))
                } else {
                    Error::bad_request(format!(
                        "'{path}' inflates past the {}-byte cap per file: refused as a zip bomb",
                        limits.file_bytes
                    ))
                }
            }
            // The zip reader stops a file that inflates past its declared size.
            ReadFailure::Io(e) if e.to_string().contains("larger than its declared") => {
                Error::bad_request(format!(
                    "'{path}' inflates past the size its header declares: refused as a zip bomb"
                ))
            }
            ReadFailure::Io(e) => Error::bad_request(format!(
                "'{path}' could not be inflated (corrupt or unsupported entry): {e}"
            )),
        })?;
        total += content.len() as u64;
        files.push(SkillFile { path, content });
    }
    Folder::new(files, limits)
}

/// Pass one, on the central directory only: the (index, normalised path) of each
/// file to read.
fn plan(archive: &ZipArchive<Cursor<&[u8]>>, limits: &Limits) -> Result<Vec<(usize, String)>> {
    if archive.len() > limits.files + ENTRY_SLACK {
        return Err(too_many(archive.len(), limits));
    }
    let mut wanted = Vec::new();
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_data(index)
            .map_err(|e| Error::bad_request(format!("unreadable zip entry #{index}: {e}")))?;
        let raw = entry.name().map_err(|_| {
            Error::bad_request(format!("zip entry #{index} has a name that is not UTF-8"))
        })?;
        let raw = raw.into_owned();
        if entry.is_symlink() {
            return Err(Error::bad_request(format!(
                "refused path '{raw}': symbolic links are not allowed in a skill"
            )));
        }
        let path = normalise_path(&raw)?;
        if entry.is_dir() || is_clutter(&path) {
            continue;
        }
        if entry.encrypted() {
            return Err(Error::bad_request(format!(
                "'{path}' is encrypted: upload an unencrypted zip"
            )));
        }
        // Claimed sizes are only hints (the inflating reader enforces the caps),
        // but an honest zip over the caps is refused before inflating anything.
        if entry.size() > limits.file_bytes {
            return Err(Error::bad_request(format!(
                "'{path}' is {} bytes, over the {}-byte cap per file",
                entry.size(),
                limits.file_bytes
            )));
        }
        declared = declared.saturating_add(entry.size());
        wanted.push((index, path));
    }
    if wanted.len() > limits.files {
        return Err(too_many(wanted.len(), limits));
    }
    if declared > limits.unpacked_bytes {
        return Err(Error::bad_request(format!(
            "the files add up to {declared} bytes unpacked, over the {}-byte cap",
            limits.unpacked_bytes
        )));
    }
    Ok(wanted)
}

fn too_many(count: usize, limits: &Limits) -> Error {
    Error::bad_request(format!(
        "the zip has {count} entries: a skill holds at most {} files",
        limits.files
    ))
}

fn unreadable(path: &str, err: &ZipError) -> Error {
    match err {
        ZipError::UnsupportedArchive(what) => Error::bad_request(format!(
            "'{path}' uses an unsupported zip feature ({what}): use deflate or store"
        )),
        other => Error::bad_request(format!("'{path}' could not be read: {other}")),
    }
}

#[derive(Debug)]
pub enum ReadFailure {
    /// More than the budget came out.
    TooLarge,
    Io(std::io::Error),
}

/// Reads at most `budget` bytes; one byte more means the entry is too large, and
/// reading stops there.
pub fn read_bounded(reader: impl Read, budget: u64) -> Result<Vec<u8>, ReadFailure> {
    let mut content = Vec::new();
    reader
        .take(budget.saturating_add(1))
        .read_to_end(&mut content)
        .map_err(ReadFailure::Io)?;
    if content.len() as u64 > budget {
        return Err(ReadFailure::TooLarge);
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::io::Write;

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;

    const SKILL_MD: &[u8] = b"---\nname: demo\ndescription: A demo.\nversion: '1'\n---\nHi\n";

    fn limits() -> Limits {
        Limits {
            zip_bytes: 1 << 20,
            unpacked_bytes: 4 << 20,
            files: 50,
            file_bytes: 1 << 20,
        }
    }

    /// A reader of `n` zero bytes that counts what was pulled from it.
    struct Zeros {
        left: u64,
        pulled: std::rc::Rc<std::cell::Cell<u64>>,
    }

    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(0);
            self.left -= n as u64;
            self.pulled.set(self.pulled.get() + n as u64);
            Ok(n)
        }
    }

    #[test]
    fn bounded_reads_stop_one_byte_past_the_budget() {
        let pulled = std::rc::Rc::new(std::cell::Cell::new(0));
        let huge = Zeros {
            left: 1 << 40,
            pulled: pulled.clone(),
        };
        assert!(matches!(
            read_bounded(huge, 1000),
            Err(ReadFailure::TooLarge)
        ));
        assert_eq!(pulled.get(), 1001, "reading stopped right after the cap");
        let small = Zeros {
            left: 1000,
            pulled: pulled.clone(),
        };
        assert_eq!(read_bounded(small, 1000).unwrap().len(), 1000);
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, content) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_plain_skill_unpacks() {
        let zip = zip_of(&[("demo/SKILL.md", SKILL_MD), ("demo/run.sh", b"echo hi")]);
        let folder = unpack(&zip, &limits()).unwrap();
        let paths: Vec<&str> = folder.files().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["SKILL.md", "run.sh"]);
        assert_eq!(folder.get("run.sh").unwrap().content, b"echo hi");
    }

    #[test]
    fn a_file_inflating_past_the_cap_is_refused_while_inflating() {
        // 64 MiB of zeros deflates to ~64 KiB; the per-file cap is 1 MiB.
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        writer.start_file("SKILL.md", options).unwrap();
        writer.write_all(SKILL_MD).unwrap();
        writer.start_file("bomb.bin", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            writer.write_all(&chunk).unwrap();
        }
        let zip = writer.finish().unwrap().into_inner();
        assert!(zip.len() < 1 << 20, "{}", zip.len());
        let err = unpack(&zip, &limits()).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(
            err.message().contains("bytes, over the"),
            "{}",
            err.message()
        );
        // Claiming a small size in the headers does not help (see the API test
        // for a lying header); here the honest header refuses it before inflating.
    }

    #[test]
    fn not_a_zip_is_a_clear_400() {
        let err = unpack(b"hello", &limits()).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message().contains("not a readable zip"));
    }
}
