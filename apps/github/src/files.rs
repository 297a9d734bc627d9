//! File tools: read a file or directory, commit one file.

use assistiv_app_sdk::{AppError, ToolOutput};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{Api, Query, encode_path, repo_route};
use crate::compact::{self, ContentEntry, get, list, output};
use crate::{s, short};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetFileContents {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Path of a file or directory (default: the repository root).
    #[serde(default)]
    path: String,
    /// Branch, tag or commit SHA (default: the default branch).
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

/// A directory's entries, or one file, symlink or submodule.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(extend("type" = "object"))] // MCP wants an object schema at the root
pub(crate) enum Contents {
    Dir(DirListing),
    Item(ContentItem),
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct DirListing {
    #[serde(rename = "type")]
    kind: DirKind,
    /// The directory's path as asked ("" for the repository root).
    path: String,
    entries: Vec<ContentEntry>,
}

#[derive(Serialize, JsonSchema)]
enum DirKind {
    #[serde(rename = "dir")]
    Dir,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ContentItem {
    #[serde(rename = "type")]
    kind: Option<ItemKind>,
    name: Option<String>,
    path: Option<String>,
    /// Blob SHA: what `create_or_update_file` needs to replace a file.
    sha: Option<String>,
    /// Size in bytes.
    size: Option<u64>,
    html_url: Option<String>,
    /// How `content` is given: the text itself, or base64 for a binary file.
    encoding: Option<Encoding>,
    content: Option<String>,
    /// The file is too large for the contents API: fetch `download_url` instead.
    too_large: Option<bool>,
    download_url: Option<String>,
    /// A symlink's target path.
    target: Option<String>,
    /// A submodule's repository URL.
    submodule_git_url: Option<String>,
}

#[derive(Serialize, JsonSchema)]
enum ItemKind {
    #[serde(rename = "file")]
    File,
    #[serde(rename = "symlink")]
    Symlink,
    #[serde(rename = "submodule")]
    Submodule,
}

#[derive(Serialize, JsonSchema)]
enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "base64")]
    Base64,
}

pub(crate) async fn get_file_contents(
    api: &Api,
    a: GetFileContents,
) -> Result<ToolOutput, AppError> {
    let repo = repo_route(&a.owner, &a.repo)?;
    let route = match a.path.trim_matches('/') {
        "" => format!("{repo}/contents"),
        path => format!("{repo}/contents/{}", encode_path(path, "path")?),
    };
    let found = api
        .get(&route, &Query::new().opt("ref", a.git_ref.as_ref()))
        .await?;
    if found.is_array() {
        let entries = list(&found, compact::content_entry);
        let shown = if a.path.is_empty() { "/" } else { &a.path };
        let text = format!(
            "{} entries in {}/{}:{shown}",
            entries.len(),
            a.owner,
            a.repo
        );
        let dir = DirListing {
            kind: DirKind::Dir,
            path: a.path,
            entries,
        };
        return output(&Contents::Dir(dir), text);
    }
    let (item, text) = content_item(&found)?;
    output(&Contents::Item(item), text)
}

/// One file, symlink or submodule, and the text to show for it: a file's own text, or a
/// sentence saying what it is.
fn content_item(found: &Value) -> Result<(ContentItem, String), AppError> {
    let entry = compact::content_entry(found);
    let mut item = ContentItem {
        kind: None,
        name: entry.name,
        path: entry.path,
        sha: entry.sha,
        size: entry.size,
        html_url: entry.html_url,
        encoding: None,
        content: None,
        too_large: None,
        download_url: None,
        target: None,
        submodule_git_url: None,
    };
    let path = item.path.clone().unwrap_or_default();
    let size = item.size.unwrap_or_default();
    let text = match (s(&found["type"]), s(&found["encoding"])) {
        ("file", "base64") => {
            item.kind = Some(ItemKind::File);
            let encoded: String = s(&found["content"])
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let bytes = BASE64.decode(&encoded).map_err(|e| {
                AppError::Transport(format!("GitHub sent undecodable base64 for {path}: {e}"))
            })?;
            match String::from_utf8(bytes) {
                Ok(content) => {
                    item.encoding = Some(Encoding::Utf8);
                    item.content = Some(content.clone());
                    content
                }
                Err(_) => {
                    item.encoding = Some(Encoding::Base64);
                    item.content = Some(encoded);
                    format!("{path} is a binary file of {size} bytes (content in base64)")
                }
            }
        }
        ("file", _) => {
            item.kind = Some(ItemKind::File);
            item.too_large = Some(true);
            item.download_url = get(&found["download_url"]);
            format!("{path} ({size} bytes) is too large for the contents API; use download_url")
        }
        ("symlink", _) => {
            item.kind = Some(ItemKind::Symlink);
            item.target = get(&found["target"]);
            format!("{path} is a symlink to {}", s(&found["target"]))
        }
        ("submodule", _) => {
            item.kind = Some(ItemKind::Submodule);
            item.submodule_git_url = get(&found["submodule_git_url"]);
            format!(
                "{path} is a submodule of {}",
                s(&found["submodule_git_url"])
            )
        }
        (other, _) => format!("{path} is a {other}"),
    };
    Ok((item, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrUpdateFile {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// File path, e.g. `docs/guide.md`.
    #[schemars(length(min = 1))]
    path: String,
    /// The complete new file content (text).
    content: String,
    /// Commit message.
    #[schemars(length(min = 1))]
    message: String,
    /// Branch to commit to (default: the default branch).
    branch: Option<String>,
    /// Blob SHA of the file being replaced; required to update an existing file.
    sha: Option<String>,
}

#[derive(Serialize)]
struct PutContents<'a> {
    message: &'a str,
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha: Option<&'a str>,
}

/// The file committed and the commit.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CommittedFile {
    path: Option<String>,
    /// The new blob SHA: what the next update of this file needs.
    sha: Option<String>,
    html_url: Option<String>,
    commit: FileCommit,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct FileCommit {
    sha: String,
    message: Option<String>,
    html_url: Option<String>,
}

pub(crate) async fn create_or_update_file(
    api: &Api,
    a: CreateOrUpdateFile,
) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/contents/{}",
        repo_route(&a.owner, &a.repo)?,
        encode_path(&a.path, "path")?
    );
    let body = PutContents {
        message: &a.message,
        content: BASE64.encode(a.content.as_bytes()),
        branch: a.branch.as_deref(),
        sha: a.sha.as_deref(),
    };
    let done = api.put(&route, &body).await?;
    let commit_sha = s(&done["commit"]["sha"]).to_string();
    let text = format!(
        "{} {} in {}/{} (commit {})",
        if a.sha.is_some() {
            "Updated"
        } else {
            "Created"
        },
        a.path,
        a.owner,
        a.repo,
        short(&commit_sha)
    );
    let out = CommittedFile {
        path: get(&done["content"]["path"]),
        sha: get(&done["content"]["sha"]),
        html_url: get(&done["content"]["html_url"]),
        commit: FileCommit {
            sha: commit_sha,
            message: get(&done["commit"]["message"]),
            html_url: get(&done["commit"]["html_url"]),
        },
    };
    output(&out, text)
}
