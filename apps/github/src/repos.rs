//! Context and repository tools: the signed-in user, repositories, branches, files,
//! commits and code search.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, Query, encode_path, repo_route};
use crate::compact::{self, list, obj};
use crate::{Direction, s, short, str_enum, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<GetMe>(
            "get_me",
            "Get my GitHub profile",
            "Get the GitHub user the connection is signed in as: login, name, profile \
             counts. Use it to learn whose repositories and issues 'my' refers to.",
            ToolAnnotations::READ,
        ),
        tool::<SearchRepositories>(
            "search_repositories",
            "Search repositories",
            "Search GitHub repositories with GitHub's search syntax (e.g. `language:rust \
             topic:cli`, `org:rust-lang`, `user:octocat`).",
            ToolAnnotations::READ,
        ),
        tool::<RepoArgs>(
            "get_repository",
            "Get a repository",
            "Get a repository's description, visibility, default branch, language and counts.",
            ToolAnnotations::READ,
        ),
        tool::<ListBranches>(
            "list_branches",
            "List branches",
            "List the branches of a repository with the SHA each points at.",
            ToolAnnotations::READ,
        ),
        tool::<CreateBranch>(
            "create_branch",
            "Create a branch",
            "Create a branch pointing at a commit SHA, or at the head of another branch \
             (default: the repository's default branch).",
            ToolAnnotations::CREATE,
        ),
        tool::<GetFileContents>(
            "get_file_contents",
            "Get file or directory contents",
            "Get a file's text (decoded) or a directory's entries, at a branch, tag or \
             commit. The file's `sha` is what create_or_update_file needs to update it.",
            ToolAnnotations::READ,
        ),
        tool::<CreateOrUpdateFile>(
            "create_or_update_file",
            "Create or update a file",
            "Commit one file to a branch: creates it, or replaces it when `sha` (the \
             current blob SHA from get_file_contents) is given.",
            ToolAnnotations::UPDATE,
        ),
        tool::<ListCommits>(
            "list_commits",
            "List commits",
            "List commits of a branch, tag or SHA (default: the default branch), newest \
             first, optionally only those touching a path or by an author.",
            ToolAnnotations::READ,
        ),
        tool::<SearchCode>(
            "search_code",
            "Search code",
            "Search code across GitHub with code search syntax (e.g. `fn main repo:o/r`, \
             `language:go path:cmd`). Returns file paths, not matching lines.",
            ToolAnnotations::READ,
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetMe {}

pub(crate) async fn get_me(api: &Api, _: GetMe) -> Result<ToolOutput, AppError> {
    let me = compact::me(&api.get("/user", &Query::new()).await?);
    let text = match s(&me["name"]) {
        "" => format!("Signed in to GitHub as {}", s(&me["login"])),
        name => format!("Signed in to GitHub as {} ({name})", s(&me["login"])),
    };
    Ok(ToolOutput::new(me, text))
}

str_enum!(
    /// Sort field (default: best match).
    RepoSort { Stars = "stars", Forks = "forks", HelpWantedIssues = "help-wanted-issues", Updated = "updated" }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchRepositories {
    /// Search query in GitHub's repository search syntax.
    #[schemars(length(min = 1))]
    query: String,
    sort: Option<RepoSort>,
    order: Option<Direction>,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn search_repositories(
    api: &Api,
    a: SearchRepositories,
) -> Result<ToolOutput, AppError> {
    let query = Query::new()
        .set("q", &a.query)
        .opt("sort", a.sort)
        .opt("order", a.order)
        .page(a.page, a.per_page);
    let found = api.get("/search/repositories", &query).await?;
    let repositories = list(&found["items"], compact::repo);
    let text = format!(
        "{} repositories match `{}`; {} on this page",
        found["total_count"].as_u64().unwrap_or_default(),
        a.query,
        repositories.len()
    );
    let structured = obj([
        ("total_count", found["total_count"].clone()),
        ("incomplete_results", found["incomplete_results"].clone()),
        ("repositories", json!(repositories)),
    ]);
    Ok(ToolOutput::new(structured, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepoArgs {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
}

pub(crate) async fn get_repository(api: &Api, a: RepoArgs) -> Result<ToolOutput, AppError> {
    let repo = compact::repo(
        &api.get(&repo_route(&a.owner, &a.repo)?, &Query::new())
            .await?,
    );
    let text = match s(&repo["description"]) {
        "" => s(&repo["full_name"]).to_string(),
        d => format!("{}: {d}", s(&repo["full_name"])),
    };
    Ok(ToolOutput::new(repo, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListBranches {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Only protected (true) or only unprotected (false) branches.
    protected: Option<bool>,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn list_branches(api: &Api, a: ListBranches) -> Result<ToolOutput, AppError> {
    let route = format!("{}/branches", repo_route(&a.owner, &a.repo)?);
    let query = Query::new()
        .opt("protected", a.protected)
        .page(a.page, a.per_page);
    let branches = list(&api.get(&route, &query).await?, compact::branch);
    let text = format!("{} branches in {}/{}", branches.len(), a.owner, a.repo);
    Ok(ToolOutput::new(json!({ "branches": branches }), text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBranch {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Name of the new branch, e.g. `feature/login`.
    #[schemars(length(min = 1))]
    branch: String,
    /// Branch to start from (default: the repository's default branch).
    from_branch: Option<String>,
    /// Full commit SHA to start from instead of a branch.
    sha: Option<String>,
}

pub(crate) async fn create_branch(api: &Api, a: CreateBranch) -> Result<ToolOutput, AppError> {
    let repo = repo_route(&a.owner, &a.repo)?;
    encode_path(&a.branch, "branch")?; // refuse names GitHub would refuse anyway
    let (sha, from) = match (a.sha, a.from_branch) {
        (Some(_), Some(_)) => {
            return Err(AppError::InvalidArguments(
                "give `sha` or `from_branch`, not both".into(),
            ));
        }
        (Some(sha), None) => (sha.clone(), sha),
        (None, from) => {
            let from = match from {
                Some(from) => from,
                None => {
                    let info = api.get(&repo, &Query::new()).await?;
                    s(&info["default_branch"]).to_string()
                }
            };
            let route = format!(
                "{repo}/git/ref/heads/{}",
                encode_path(&from, "from_branch")?
            );
            let git_ref = api.get(&route, &Query::new()).await?;
            let sha = s(&git_ref["object"]["sha"]).to_string();
            if sha.is_empty() {
                return Err(AppError::Upstream {
                    status: 502,
                    message: format!("GitHub returned no SHA for branch `{from}`"),
                });
            }
            (sha, from)
        }
    };
    let body = json!({ "ref": format!("refs/heads/{}", a.branch), "sha": sha });
    let created = api.post(&format!("{repo}/git/refs"), &body).await?;
    let sha = s(&created["object"]["sha"]).to_string();
    let text = format!(
        "Created branch {} from {} at {} in {}/{}",
        a.branch,
        from,
        short(&sha),
        a.owner,
        a.repo
    );
    let structured = obj([
        ("branch", json!(a.branch)),
        ("ref", created["ref"].clone()),
        ("sha", json!(sha)),
        ("from", json!(from)),
    ]);
    Ok(ToolOutput::new(structured, text))
}

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
        let path = if a.path.is_empty() {
            "/"
        } else {
            a.path.as_str()
        };
        let text = format!(
            "{} entries in {}/{}:{}",
            entries.len(),
            a.owner,
            a.repo,
            path
        );
        let structured = json!({ "type": "dir", "path": a.path, "entries": entries });
        return Ok(ToolOutput::new(structured, text));
    }
    let meta = compact::content_entry(&found);
    let mut structured = meta.clone();
    let put = |out: &mut Value, key: &str, v: Value| {
        if let Some(o) = out.as_object_mut() {
            o.insert(key.to_string(), v);
        }
    };
    let path = s(&found["path"]).to_string();
    let text = match (s(&found["type"]), s(&found["encoding"])) {
        ("file", "base64") => {
            let encoded: String = s(&found["content"])
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let bytes = BASE64.decode(&encoded).map_err(|e| {
                AppError::Transport(format!("GitHub sent undecodable base64 for {path}: {e}"))
            })?;
            match String::from_utf8(bytes) {
                Ok(content) => {
                    put(&mut structured, "encoding", json!("utf-8"));
                    put(&mut structured, "content", json!(content));
                    content
                }
                Err(_) => {
                    put(&mut structured, "encoding", json!("base64"));
                    put(&mut structured, "content", json!(encoded));
                    format!(
                        "{path} is a binary file of {} bytes (content in base64)",
                        meta["size"]
                    )
                }
            }
        }
        ("file", _) => {
            put(&mut structured, "too_large", json!(true));
            put(
                &mut structured,
                "download_url",
                found["download_url"].clone(),
            );
            format!(
                "{path} ({} bytes) is too large for the contents API; use download_url",
                meta["size"]
            )
        }
        ("symlink", _) => {
            put(&mut structured, "target", found["target"].clone());
            format!("{path} is a symlink to {}", s(&found["target"]))
        }
        ("submodule", _) => {
            put(
                &mut structured,
                "submodule_git_url",
                found["submodule_git_url"].clone(),
            );
            format!(
                "{path} is a submodule of {}",
                s(&found["submodule_git_url"])
            )
        }
        (other, _) => format!("{path} is a {other}"),
    };
    Ok(ToolOutput::new(structured, text))
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
    let structured = obj([
        ("path", done["content"]["path"].clone()),
        ("sha", done["content"]["sha"].clone()),
        ("html_url", done["content"]["html_url"].clone()),
        (
            "commit",
            obj([
                ("sha", json!(commit_sha)),
                ("message", done["commit"]["message"].clone()),
                ("html_url", done["commit"]["html_url"].clone()),
            ]),
        ),
    ]);
    Ok(ToolOutput::new(structured, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListCommits {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Branch, tag or SHA to list from (default: the default branch).
    sha: Option<String>,
    /// Only commits touching this path.
    path: Option<String>,
    /// Only commits by this GitHub login or email address.
    author: Option<String>,
    /// Only commits after this ISO 8601 time, e.g. `2024-01-31T00:00:00Z`.
    since: Option<String>,
    /// Only commits before this ISO 8601 time.
    until: Option<String>,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn list_commits(api: &Api, a: ListCommits) -> Result<ToolOutput, AppError> {
    let route = format!("{}/commits", repo_route(&a.owner, &a.repo)?);
    let query = Query::new()
        .opt("sha", a.sha.as_ref())
        .opt("path", a.path.as_ref())
        .opt("author", a.author.as_ref())
        .opt("since", a.since.as_ref())
        .opt("until", a.until.as_ref())
        .page(a.page, a.per_page);
    let commits = list(&api.get(&route, &query).await?, compact::commit);
    let text = match commits.first() {
        Some(c) => format!(
            "{} commits in {}/{}, newest {} {}",
            commits.len(),
            a.owner,
            a.repo,
            short(s(&c["sha"])),
            s(&c["message"]).lines().next().unwrap_or_default()
        ),
        None => format!("No commits in {}/{} match", a.owner, a.repo),
    };
    Ok(ToolOutput::new(json!({ "commits": commits }), text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchCode {
    /// Search query in GitHub's code search syntax, e.g. `parse_args repo:owner/name`.
    #[schemars(length(min = 1))]
    query: String,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn search_code(api: &Api, a: SearchCode) -> Result<ToolOutput, AppError> {
    let query = Query::new().set("q", &a.query).page(a.page, a.per_page);
    let found = api.get("/search/code", &query).await?;
    let items = list(&found["items"], compact::code_hit);
    let text = format!(
        "{} code results for `{}`; {} on this page",
        found["total_count"].as_u64().unwrap_or_default(),
        a.query,
        items.len()
    );
    let structured = obj([
        ("total_count", found["total_count"].clone()),
        ("incomplete_results", found["incomplete_results"].clone()),
        ("items", json!(items)),
    ]);
    Ok(ToolOutput::new(structured, text))
}
