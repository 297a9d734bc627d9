//! The catalog as the MCP Skills extension (`io.modelcontextprotocol/skills`,
//! SEP-2640): `skills/list` and `skills/get` entries, each file a resource
//! (`resources/read`), and directory reads (`resources/directory/read`).
//!
//! A skill lives at `skill://{id}/{name}/`: the id (stable across versions,
//! unique across owners) is the organisational prefix the extension allows, so a
//! public and a private skill of one name never share a URI; the final segment
//! is the skill's name, as the extension requires. Paths are percent-encoded
//! per segment. What a caller may see is what the tools show: public skills and
//! its platform's private ones, on `/mcp` and `/mcp/skills`, once the platform
//! turned `skills_enabled` on. Another platform's private skill is not found.
//!
//! Entries describe the stored folder: each file's SHA-256 digest and size are
//! computed from the decrypted blob, and kept per content address (a blob
//! never changes under its address, so nothing needs invalidating).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rmcp::model::{
    DIRECTORY_MIME_TYPE, Resource, ResourceContents, Skill, SkillFrontmatter, SkillResource,
    SkillResources, sha256_digest,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::catalog::{SkillView, Skills};
use super::folder::{Folder, MANIFEST};
use super::manifest::front_matter_json;
use super::store::Listing;
use crate::error::{Error, Result};
use crate::tools::{ToolCaller, ToolScope};

const SCHEME: &str = "skill://";
/// Skills (or `SKILL.md` resources) per page of `skills/list` and `resources/list`.
pub const PAGE_SIZE: i64 = 50;
/// Described folders kept, weighed by their files.
const DESCRIBED_FILES_CACHED: u64 = 200_000;

/// Characters left as they are in a URI path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `path` with each `/`-separated segment percent-encoded.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// A parsed `skill://{id}/{name}[/{path}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SkillUri {
    id: Uuid,
    name: String,
    /// Decoded, `/`-separated; empty for the skill's root directory.
    path: String,
}

impl SkillUri {
    fn parse(uri: &str) -> Option<Self> {
        let rest = uri.strip_prefix(SCHEME)?;
        if rest.contains(['?', '#']) {
            return None;
        }
        let mut segments = rest.split('/');
        let raw_id = segments.next()?;
        let id = Uuid::try_parse(raw_id).ok()?;
        // One spelling per skill: the hyphenated lowercase form.
        if id.hyphenated().to_string() != raw_id {
            return None;
        }
        let name = segments.next().filter(|n| !n.is_empty())?.to_owned();
        let mut path = Vec::new();
        for segment in segments {
            let decoded = percent_decode_str(segment).decode_utf8().ok()?;
            if decoded.is_empty() || decoded == "." || decoded == ".." || decoded.contains('/') {
                return None;
            }
            path.push(decoded.into_owned());
        }
        Some(Self {
            id,
            name,
            path: path.join("/"),
        })
    }
}

fn root_uri(id: Uuid, name: &str) -> String {
    format!("{SCHEME}{id}/{name}")
}

fn file_uri(root: &str, path: &str) -> String {
    format!("{root}/{}", encode_path(path))
}

fn mime_of(path: &str) -> String {
    if path == MANIFEST || path.ends_with(".md") {
        return "text/markdown".into();
    }
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// What a folder's entry needs, computed once per content address.
struct Described {
    front_matter: Option<Map<String, Value>>,
    /// Sorted by path, as the folder is.
    files: Vec<DescribedFile>,
}

struct DescribedFile {
    path: String,
    digest: String,
    size: u64,
}

impl Described {
    fn of(folder: &Folder) -> Self {
        Self {
            front_matter: folder
                .get(MANIFEST)
                .and_then(|f| front_matter_json(&f.content)),
            files: folder
                .files()
                .iter()
                .map(|f| DescribedFile {
                    path: f.path.clone(),
                    digest: sha256_digest(&f.content),
                    size: f.content.len() as u64,
                })
                .collect(),
        }
    }
}

/// The Skills extension over the catalog.
#[derive(Clone)]
pub struct SkillsExtension {
    skills: Skills,
    described: moka::sync::Cache<String, Arc<Described>>,
}

impl SkillsExtension {
    pub fn new(skills: Skills) -> Self {
        Self {
            skills,
            described: moka::sync::Cache::builder()
                .weigher(|_, d: &Arc<Described>| u32::try_from(d.files.len()).unwrap_or(u32::MAX))
                .max_capacity(DESCRIBED_FILES_CACHED)
                .build(),
        }
    }

    /// Whether this caller gets the extension: the skills tools' rule.
    pub async fn served_to(&self, caller: &ToolCaller) -> Result<bool> {
        Ok(matches!(caller.scope, ToolScope::All | ToolScope::Skills)
            && self.skills.enabled_for(caller.platform_id).await?)
    }

    /// One page of the skills this platform may see, by name (then owner, id).
    pub async fn list(
        &self,
        platform_id: Uuid,
        cursor: Option<&str>,
    ) -> Result<(Vec<Skill>, Option<String>)> {
        let (views, next) = self.page(platform_id, cursor).await?;
        let mut skills = Vec::with_capacity(views.len());
        for view in views {
            match self.described(&view.sha256).await {
                Ok(described) => skills.push(entry(&view, &described)),
                // One unreadable blob must not hide every other skill.
                Err(err) => {
                    tracing::error!(skill = %view.id, error = %err, "skill left out of skills/list")
                }
            }
        }
        Ok((skills, next))
    }

    /// The entry of the skill whose `SKILL.md` is at `uri`.
    pub async fn get(&self, platform_id: Uuid, uri: &str) -> Result<Skill> {
        let parsed = SkillUri::parse(uri).filter(|u| u.path == MANIFEST);
        let view = match parsed {
            Some(parsed) => self.visible(platform_id, &parsed).await?,
            None => None,
        };
        let view = view.ok_or_else(|| Error::not_found(format!("no skill is served at {uri}")))?;
        let described = self.described(&view.sha256).await?;
        Ok(entry(&view, &described))
    }

    /// One page of resources: each visible skill's `SKILL.md` (its other files
    /// and directories are reached from the entry or by directory reads).
    pub async fn list_resources(
        &self,
        platform_id: Uuid,
        cursor: Option<&str>,
    ) -> Result<(Vec<Resource>, Option<String>)> {
        let (views, next) = self.page(platform_id, cursor).await?;
        let resources = views
            .iter()
            .map(|view| {
                let size = view
                    .files
                    .iter()
                    .find(|f| f.path == MANIFEST)
                    .map_or(0, |f| u64::try_from(f.size).unwrap_or(0));
                Resource::new(
                    file_uri(&root_uri(view.id, &view.name), MANIFEST),
                    view.name.clone(),
                )
                .with_description(view.description.clone())
                .with_mime_type("text/markdown")
                .with_size(size)
            })
            .collect();
        Ok((resources, next))
    }

    /// The bytes of one file, exactly as stored: text when it is UTF-8 without
    /// NUL, base64 otherwise.
    pub async fn read(&self, platform_id: Uuid, uri: &str) -> Result<ResourceContents> {
        let not_found = || Error::not_found(format!("no resource at {uri}"));
        let parsed = SkillUri::parse(uri).ok_or_else(not_found)?;
        let view = self
            .visible(platform_id, &parsed)
            .await?
            .ok_or_else(not_found)?;
        let folder = self.folder(&view.sha256).await?;
        let file = folder.get(&parsed.path).ok_or_else(not_found)?;
        let mime = mime_of(&file.path);
        Ok(match std::str::from_utf8(&file.content) {
            Ok(text) if !text.contains('\0') => {
                ResourceContents::text(text, uri).with_mime_type(mime)
            }
            _ => ResourceContents::blob(STANDARD.encode(&file.content), uri).with_mime_type(mime),
        })
    }

    /// The direct children of a skill's root or of one of its subdirectories.
    pub async fn read_directory(&self, platform_id: Uuid, uri: &str) -> Result<Vec<Resource>> {
        let not_a_directory =
            || Error::bad_request(format!("{uri} is not a directory resource of this server"));
        let parsed = SkillUri::parse(uri).ok_or_else(not_a_directory)?;
        let view = self
            .visible(platform_id, &parsed)
            .await?
            .ok_or_else(not_a_directory)?;
        let described = self.described(&view.sha256).await?;
        let root = root_uri(view.id, &view.name);
        let prefix = if parsed.path.is_empty() {
            String::new()
        } else {
            format!("{}/", parsed.path)
        };
        let mut children = BTreeMap::new();
        for file in &described.files {
            let Some(rest) = file.path.strip_prefix(&prefix) else {
                continue;
            };
            let (child, resource) = match rest.split_once('/') {
                None => (
                    rest,
                    Resource::new(file_uri(&root, &file.path), rest)
                        .with_mime_type(mime_of(&file.path))
                        .with_size(file.size),
                ),
                Some((dir, _)) => (
                    dir,
                    Resource::new(file_uri(&root, &format!("{prefix}{dir}")), dir)
                        .with_mime_type(DIRECTORY_MIME_TYPE),
                ),
            };
            children.entry(child.to_owned()).or_insert(resource);
        }
        // The root always exists (it holds SKILL.md); a path with nothing under
        // it is a file or nothing at all.
        if children.is_empty() {
            return Err(not_a_directory());
        }
        Ok(children.into_values().collect())
    }

    /// A page of the skills visible to the platform, and the next cursor.
    async fn page(
        &self,
        platform_id: Uuid,
        cursor: Option<&str>,
    ) -> Result<(Vec<SkillView>, Option<String>)> {
        let offset = match cursor {
            None => 0,
            Some(c) => c
                .parse::<u32>()
                .map_err(|_| Error::bad_request("invalid cursor: pass back a nextCursor"))?,
        };
        let offset = i64::from(offset);
        let (views, total) = self
            .skills
            .list(Listing::VisibleTo(platform_id), PAGE_SIZE, offset)
            .await?;
        let seen = offset + views.len() as i64;
        let next = (!views.is_empty() && seen < total).then(|| seen.to_string());
        Ok((views, next))
    }

    /// The skill a URI names, when this platform may see it under that name.
    async fn visible(&self, platform_id: Uuid, uri: &SkillUri) -> Result<Option<SkillView>> {
        match self.skills.visible(platform_id, uri.id).await {
            Ok(row) if row.skill.name == uri.name => Ok(Some(row.into())),
            Ok(_) => Ok(None),
            Err(err) if err.kind() == crate::error::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn folder(&self, address: &str) -> Result<Folder> {
        let folder = self.skills.open_folder(address).await?;
        if !self.described.contains_key(address) {
            self.described
                .insert(address.to_owned(), Arc::new(Described::of(&folder)));
        }
        Ok(folder)
    }

    async fn described(&self, address: &str) -> Result<Arc<Described>> {
        if let Some(described) = self.described.get(address) {
            return Ok(described);
        }
        let folder = self.skills.open_folder(address).await?;
        let described = Arc::new(Described::of(&folder));
        self.described
            .insert(address.to_owned(), Arc::clone(&described));
        Ok(described)
    }
}

/// A skill's entry: its front matter as written (name and description always
/// the catalog's, which the URI and search use), every file with its digest.
fn entry(view: &SkillView, described: &Described) -> Skill {
    let root = root_uri(view.id, &view.name);
    let mut front_matter = SkillFrontmatter::new(view.name.clone(), view.description.clone());
    if let Some(written) = &described.front_matter {
        for (key, value) in written {
            match (key.as_str(), value) {
                ("name", _) => {}
                // The author's own spelling, when it is text (folded YAML keeps its newline).
                ("description", Value::String(text)) => front_matter.description = text.clone(),
                ("description", _) => {}
                _ => front_matter = front_matter.with_field(key.clone(), value.clone()),
            }
        }
    }
    let files = described
        .files
        .iter()
        .map(|f| SkillResource::new(file_uri(&root, &f.path), f.digest.clone(), f.size))
        .collect();
    Skill::new(
        file_uri(&root, MANIFEST),
        front_matter,
        SkillResources::Files(files),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190d1f2-3a4b-7c5d-8e9f-a0b1c2d3e4f5";

    #[test]
    fn uris_round_trip_through_encoding() {
        let id = Uuid::parse_str(ID).unwrap_or_default();
        let root = root_uri(id, "pdf-tools");
        for path in ["SKILL.md", "scripts/fill form.py", "docs/ünïcode/%25.md"] {
            let uri = file_uri(&root, path);
            assert_eq!(
                SkillUri::parse(&uri),
                Some(SkillUri {
                    id,
                    name: "pdf-tools".into(),
                    path: path.into()
                }),
                "{uri}"
            );
        }
        assert_eq!(SkillUri::parse(&root).map(|u| u.path), Some(String::new()));
    }

    #[test]
    fn hostile_or_foreign_uris_name_nothing() {
        for uri in [
            format!("skill://{ID}/pdf/../other/SKILL.md"),
            format!("skill://{ID}/pdf/a%2Fb"),
            format!("skill://{ID}/pdf/a/"),
            format!("skill://{ID}/pdf/%2e%2e/x"),
            format!("skill://{ID}/pdf/SKILL.md?x=1"),
            format!("skill://{}/pdf/SKILL.md", ID.to_uppercase()),
            format!("skill://{}/pdf/SKILL.md", ID.replace('-', "")),
            format!("skill://{ID}/"),
            format!("skill://{ID}"),
            "skill://not-a-uuid/pdf/SKILL.md".into(),
            format!("file://{ID}/pdf/SKILL.md"),
            format!("skill://{ID}/pdf/%ff.md"),
        ] {
            assert_eq!(SkillUri::parse(&uri), None, "{uri}");
        }
    }
}
