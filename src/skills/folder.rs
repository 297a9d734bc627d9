//! A skill folder, normalised: relative `/`-separated paths, unique, sorted, inside
//! the size caps. Its canonical encoding is what gets hashed (the content address)
//! and encrypted into the blob, so the same files give the same address whatever
//! zip tool, compression, ordering or timestamps produced them.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use unicode_normalization::{UnicodeNormalization, is_nfc};

use crate::config::Config;
use crate::error::{Error, Result};

/// Where the instructions live; required at the folder's root.
pub const MANIFEST: &str = "SKILL.md";

const MAX_PATH_BYTES: usize = 1024;
const MAX_COMPONENT_BYTES: usize = 255;
/// First bytes of the canonical encoding, so a format change is detected.
const ENCODING_TAG: &[u8] = b"assistiv-skill-folder-v1\n";

/// Caps on what one skill may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub zip_bytes: usize,
    pub unpacked_bytes: u64,
    pub files: usize,
    pub file_bytes: u64,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            zip_bytes: config.max_skill_zip_bytes,
            unpacked_bytes: config.max_skill_unpacked_bytes,
            files: config.max_skill_files,
            file_bytes: config.max_skill_file_bytes,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillFile {
    pub path: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    files: Vec<SkillFile>,
}

/// Why a path cannot be part of a skill.
fn refuse(path: &str, why: &str) -> Error {
    Error::bad_request(format!("refused path '{}': {why}", printable(path)))
}

pub(crate) fn printable(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect()
}

/// A relative path with `/` separators: no absolute paths, drive letters,
/// backslashes, control characters or `..`; `.` and empty components vanish.
pub fn normalise_path(raw: &str) -> Result<String> {
    if raw.chars().any(char::is_control) {
        return Err(refuse(raw, "control characters are not allowed"));
    }
    if raw.contains('\\') {
        return Err(refuse(raw, "backslashes are not allowed; use '/'"));
    }
    if raw.starts_with('/') {
        return Err(refuse(raw, "absolute paths are not allowed"));
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(refuse(raw, "drive-letter paths are not allowed"));
    }
    let mut parts = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(refuse(raw, "'..' (path traversal) is not allowed")),
            c if c.len() > MAX_COMPONENT_BYTES => {
                return Err(refuse(raw, "a path component is longer than 255 bytes"));
            }
            c => parts.push(c),
        }
    }
    let path = parts.join("/");
    if path.is_empty() {
        return Err(refuse(raw, "the path is empty"));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(refuse(raw, "the path is longer than 1024 bytes"));
    }
    Ok(path)
}

/// Clutter that archivers add and nobody means to ship.
pub fn is_clutter(path: &str) -> bool {
    path.starts_with("__MACOSX/") || path == ".DS_Store" || path.ends_with("/.DS_Store")
}

impl Folder {
    /// Validates and normalises `files` (paths already normalised): unique paths,
    /// caps on count and sizes, a `SKILL.md` at the root. A folder whose files
    /// all sit in one top-level directory holding the `SKILL.md` is unwrapped.
    pub fn new(mut files: Vec<SkillFile>, limits: &Limits) -> Result<Self> {
        if files.len() > limits.files {
            return Err(Error::bad_request(format!(
                "too many files: {} (at most {})",
                files.len(),
                limits.files
            )));
        }
        let mut total: u64 = 0;
        for file in &files {
            let size = file.content.len() as u64;
            if size > limits.file_bytes {
                return Err(Error::bad_request(format!(
                    "file '{}' is {size} bytes, over the {}-byte cap per file",
                    file.path, limits.file_bytes
                )));
            }
            total += size;
        }
        if total > limits.unpacked_bytes {
            return Err(Error::bad_request(format!(
                "the files add up to {total} bytes, over the {}-byte cap",
                limits.unpacked_bytes
            )));
        }
        unwrap_single_root(&mut files);
        files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        if let Some(pair) = files.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(Error::bad_request(format!(
                "the path '{}' appears twice",
                pair[0].path
            )));
        }
        refuse_colliding_names(&files)?;
        let Some(manifest) = files.iter().find(|f| f.path == MANIFEST) else {
            return Err(Error::bad_request(
                "SKILL.md is missing: a skill folder needs a SKILL.md at its root",
            ));
        };
        // Its text is stored in the catalog, which cannot hold NUL.
        if manifest.content.contains(&0) {
            return Err(Error::bad_request(format!(
                "SKILL.md: {}",
                crate::domain::nul::NUL_REFUSED
            )));
        }
        Ok(Self { files })
    }

    pub fn files(&self) -> &[SkillFile] {
        &self.files
    }

    pub fn get(&self, path: &str) -> Option<&SkillFile> {
        self.files
            .binary_search_by(|f| f.path.as_bytes().cmp(path.as_bytes()))
            .ok()
            .map(|i| &self.files[i])
    }

    pub fn size_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.content.len() as u64).sum()
    }

    /// The canonical encoding: a tag, then per file (in path order) the path's
    /// length (u32 BE), the path, the content's length (u64 BE), the content.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .files
            .iter()
            .map(|f| 12 + f.path.len() + f.content.len())
            .sum();
        let mut out = Vec::with_capacity(ENCODING_TAG.len() + size);
        out.extend_from_slice(ENCODING_TAG);
        for file in &self.files {
            // Paths are at most 1024 bytes, so the cast is exact.
            out.extend_from_slice(&(file.path.len() as u32).to_be_bytes());
            out.extend_from_slice(file.path.as_bytes());
            out.extend_from_slice(&(file.content.len() as u64).to_be_bytes());
            out.extend_from_slice(&file.content);
        }
        out
    }

    /// Reads back what [`Folder::encode`] wrote (a blob this gateway stored).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut rest = bytes.strip_prefix(ENCODING_TAG).ok_or(DecodeError)?;
        let mut files = Vec::new();
        while !rest.is_empty() {
            let (len, tail) = take_array::<4>(rest)?;
            let path_len = u32::from_be_bytes(len) as usize;
            let (path, tail) = take(tail, path_len)?;
            let (len, tail) = take_array::<8>(tail)?;
            let content_len = usize::try_from(u64::from_be_bytes(len)).map_err(|_| DecodeError)?;
            let (content, tail) = take(tail, content_len)?;
            files.push(SkillFile {
                path: String::from_utf8(path.to_vec()).map_err(|_| DecodeError)?,
                content: content.to_vec(),
            });
            rest = tail;
        }
        Ok(Self { files })
    }
}

/// How a file system that ignores letter case and Unicode normal form (macOS,
/// Windows) sees a path: NFC, lower case.
fn as_seen_by_lenient_file_systems(path: &str) -> String {
    path.nfc().collect::<String>().to_lowercase()
}

/// Refuses paths that name the same file, or a file and a directory, once
/// extracted where case and normal form are ignored (`A.txt` beside `a.txt`,
/// `é` composed beside `é` decomposed, `a` beside `a/b` or `A/b`): one would
/// silently replace the other, depending on where the skill lands.
fn refuse_colliding_names(files: &[SkillFile]) -> Result<()> {
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(files.len());
    for file in files {
        let key = as_seen_by_lenient_file_systems(&file.path);
        if let Some(other) = seen.insert(key, &file.path) {
            let (first, second) = (printable(other), printable(&file.path));
            let message = if other.nfc().eq(file.path.nfc()) {
                let form = |path: &str| if is_nfc(path) { "NFC" } else { "NFD" };
                format!(
                    "'{first}' ({}) and '{second}' ({}) are the same name in two Unicode \
                     normal forms",
                    form(other),
                    form(&file.path)
                )
            } else {
                format!("'{first}' and '{second}' are names that differ only in letter case")
            };
            return Err(Error::bad_request(format!(
                "{message}: one would replace the other when extracted"
            )));
        }
    }
    for file in files {
        let mut prefix = file.path.as_str();
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            if let Some(other) = seen.get(&as_seen_by_lenient_file_systems(parent)) {
                return Err(Error::bad_request(format!(
                    "'{}' is a file and '{}' needs it to be a directory",
                    printable(other),
                    printable(&file.path)
                )));
            }
            prefix = parent;
        }
    }
    Ok(())
}

/// A stored blob that is not a folder this gateway encoded.
#[derive(Debug, thiserror::Error)]
#[error("the stored skill blob is malformed")]
pub struct DecodeError;

fn take(bytes: &[u8], n: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    if bytes.len() < n {
        return Err(DecodeError);
    }
    Ok(bytes.split_at(n))
}

fn take_array<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), DecodeError> {
    let (head, tail) = take(bytes, N)?;
    let array = <[u8; N]>::try_from(head).map_err(|_| DecodeError)?;
    Ok((array, tail))
}

/// `my-skill/SKILL.md, my-skill/x.py` → `SKILL.md, x.py` (zipping a folder
/// usually includes the folder itself).
fn unwrap_single_root(files: &mut [SkillFile]) {
    if files.iter().any(|f| f.path == MANIFEST) {
        return;
    }
    let Some(root) = files
        .first()
        .and_then(|f| f.path.split_once('/'))
        .map(|(root, _)| format!("{root}/"))
    else {
        return;
    };
    let all_inside = files.iter().all(|f| f.path.starts_with(&root));
    let manifest_there = files
        .iter()
        .any(|f| f.path.strip_prefix(&root) == Some(MANIFEST));
    if all_inside && manifest_there {
        for file in files.iter_mut() {
            file.path = file.path[root.len()..].to_owned();
        }
    }
}

/// Hex SHA-256 of a canonical encoding: the folder's content address.
pub fn content_address(encoded: &[u8]) -> String {
    hex::encode(Sha256::digest(encoded))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn limits() -> Limits {
        Limits {
            zip_bytes: 1 << 20,
            unpacked_bytes: 1 << 20,
            files: 10,
            file_bytes: 1 << 16,
        }
    }

    fn file(path: &str, content: &str) -> SkillFile {
        SkillFile {
            path: path.into(),
            content: content.as_bytes().to_vec(),
        }
    }

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(normalise_path("a/./b//c.txt").unwrap(), "a/b/c.txt");
        assert_eq!(normalise_path("dir/").unwrap(), "dir");
        for bad in [
            "../x",
            "a/../../x",
            "a/..",
            "/etc/passwd",
            "C:/Windows/x",
            "c:x",
            "a\\b",
            "a\0b",
            "",
            "./",
        ] {
            assert!(normalise_path(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalise_path(&"x".repeat(256)).is_err());
    }

    #[test]
    fn order_and_root_folder_do_not_change_the_address() {
        let a = Folder::new(
            vec![file("SKILL.md", "---\n"), file("src/run.py", "print(1)")],
            &limits(),
        )
        .unwrap();
        let b = Folder::new(
            vec![
                file("skill/src/run.py", "print(1)"),
                file("skill/SKILL.md", "---\n"),
            ],
            &limits(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(content_address(&a.encode()), content_address(&b.encode()));
        assert_eq!(Folder::decode(&a.encode()).unwrap(), a);
        let c = Folder::new(
            vec![file("SKILL.md", "---\n"), file("src/run.py", "print(2)")],
            &limits(),
        )
        .unwrap();
        assert_ne!(content_address(&a.encode()), content_address(&c.encode()));
    }

    #[test]
    fn bad_folders_are_refused() {
        let l = limits();
        assert!(
            Folder::new(vec![file("README.md", "x")], &l).is_err(),
            "no SKILL.md"
        );
        assert!(
            Folder::new(vec![file("SKILL.md", "a"), file("SKILL.md", "b")], &l).is_err(),
            "duplicate"
        );
        assert!(
            Folder::new(
                vec![file("SKILL.md", "a"), file("a", "x"), file("a/b", "y")],
                &l
            )
            .is_err(),
            "file and directory"
        );
        let many = (0..11).map(|i| file(&format!("f{i}"), "x")).collect();
        assert!(Folder::new(many, &l).is_err(), "too many files");
        let big = SkillFile {
            path: "big.bin".into(),
            content: vec![0; (1 << 16) + 1],
        };
        assert!(Folder::new(vec![file("SKILL.md", "a"), big], &l).is_err());
    }

    #[test]
    fn names_one_file_system_would_merge_are_refused() {
        let l = limits();
        let refused = |paths: &[&str]| {
            let mut files: Vec<SkillFile> = paths.iter().map(|p| file(p, "x")).collect();
            files.push(file("SKILL.md", "---\n"));
            Folder::new(files, &l).unwrap_err().message().to_owned()
        };
        let case = refused(&["docs/A.txt", "docs/a.txt"]);
        assert!(case.contains("'docs/A.txt' and 'docs/a.txt'"), "{case}");
        assert!(case.contains("letter case"), "{case}");
        let forms = refused(&["caf\u{e9}.txt", "cafe\u{301}.txt"]);
        assert!(forms.contains("Unicode normal forms"), "{forms}");
        let dir = refused(&["Notes", "notes/today.md"]);
        assert!(dir.contains("'Notes' is a file"), "{dir}");
        assert!(
            refused(&["skill.md"]).contains("letter case"),
            "beside SKILL.md"
        );
        // Different names stay different, whatever their form.
        Folder::new(
            vec![
                file("SKILL.md", "---\n"),
                file("caf\u{e9}.txt", "x"),
                file("docs/a.txt", "y"),
                file("docs-a.txt", "z"),
            ],
            &l,
        )
        .unwrap();
    }

    #[test]
    fn a_skill_md_holding_nul_is_refused() {
        let err = Folder::new(vec![file("SKILL.md", "---\nname: a\0\n")], &limits()).unwrap_err();
        assert!(err.message().contains("NUL"), "{}", err.message());
    }

    #[test]
    fn truncated_or_foreign_blobs_do_not_decode() {
        let folder = Folder::new(vec![file("SKILL.md", "hello")], &limits()).unwrap();
        let encoded = folder.encode();
        assert!(Folder::decode(&encoded[..encoded.len() - 1]).is_err());
        assert!(Folder::decode(b"PK\x03\x04").is_err());
    }
}
