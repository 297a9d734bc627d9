//! Context and repository tools: the signed-in user, repositories, branches, files,
//! commits and code search.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, Query, encode_path, repo_route};
use crate::compact::{self, CodeHit, Commit, Repo, SearchPage, User, list, output};
use crate::{Direction, files, s, short, str_enum, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<GetMe, User>(
            "get_me",
            "Get my GitHub profile",
            "Get the GitHub user the connection is signed in as: login, name, profile \
             counts. Use it to learn whose repositories and issues 'my' refers to.",
            ToolAnnotations::READ,
        ),
        tool::<SearchRepositories, RepositorySearch>(
            "search_repositories",
            "Search repositories",
            "Search GitHub repositories with GitHub's search syntax (e.g. `language:rust \
             topic:cli`, `org:rust-lang`, `user:octocat`).",
            ToolAnnotations::READ,
        ),
        tool::<RepoArgs, Repo>(
            "get_repository",
            "Get a repository",
            "Get a repository's description, visibility, default branch, language and counts.",
            ToolAnnotations::READ,
        ),
        tool::<ListBranches, Branches>(
            "list_branches",
            "List branches",
            "List the branches of a repository with the SHA each points at.",
            ToolAnnotations::READ,
        ),
        tool::<CreateBranch, CreatedBranch>(
            "create_branch",
            "Create a branch",
            "Create a branch pointing at a commit SHA, or at the head of another branch \
             (default: the repository's default branch).",
            ToolAnnotations::CREATE,
        ),
        tool::<files::GetFileContents, files::Contents>(
            "get_file_contents",
            "Get file or directory contents",
            "Get a file's text (decoded) or a directory's entries, at a branch, tag or \
             commit. The file's `sha` is what create_or_update_file needs to update it.",
            ToolAnnotations::READ,
        ),
        tool::<files::CreateOrUpdateFile, files::CommittedFile>(
            "create_or_update_file",
            "Create or update a file",
            "Commit one file to a branch: creates it, or replaces it when `sha` (the \
             current blob SHA from get_file_contents) is given.",
            ToolAnnotations::UPDATE,
        ),
        tool::<ListCommits, Commits>(
            "list_commits",
            "List commits",
            "List commits of a branch, tag or SHA (default: the default branch), newest \
             first, optionally only those touching a path or by an author.",
            ToolAnnotations::READ,
        ),
        tool::<SearchCode, SearchPage<CodeHit>>(
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

/// The signed-in user's login, for the connection's account.
pub(crate) async fn login(api: &Api) -> Option<String> {
    let me = compact::user(&api.get("/user", &Query::new()).await.ok()?);
    me.login.filter(|l| !l.is_empty())
}

pub(crate) async fn get_me(api: &Api, _: GetMe) -> Result<ToolOutput, AppError> {
    let me = compact::user(&api.get("/user", &Query::new()).await?);
    let login = me.login.as_deref().unwrap_or_default();
    let text = match me.name.as_deref().unwrap_or_default() {
        "" => format!("Signed in to GitHub as {login}"),
        name => format!("Signed in to GitHub as {login} ({name})"),
    };
    output(&me, text)
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

/// A page of repository search results.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct RepositorySearch {
    /// How many repositories match in all (every page).
    total_count: Option<u64>,
    /// True when GitHub's search timed out before finding every match.
    incomplete_results: Option<bool>,
    repositories: Vec<Repo>,
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
    let found = compact::search_page(
        &api.get("/search/repositories", &query).await?,
        compact::repo,
    );
    let text = format!(
        "{} repositories match `{}`; {} on this page",
        found.total_count.unwrap_or_default(),
        a.query,
        found.items.len()
    );
    let out = RepositorySearch {
        total_count: found.total_count,
        incomplete_results: found.incomplete_results,
        repositories: found.items,
    };
    output(&out, text)
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
    let full_name = repo.full_name.as_deref().unwrap_or_default();
    let text = match repo.description.as_deref().unwrap_or_default() {
        "" => full_name.to_string(),
        d => format!("{full_name}: {d}"),
    };
    output(&repo, text)
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

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Branches {
    branches: Vec<compact::Branch>,
}

pub(crate) async fn list_branches(api: &Api, a: ListBranches) -> Result<ToolOutput, AppError> {
    let route = format!("{}/branches", repo_route(&a.owner, &a.repo)?);
    let query = Query::new()
        .opt("protected", a.protected)
        .page(a.page, a.per_page);
    let branches = list(&api.get(&route, &query).await?, compact::branch);
    let text = format!("{} branches in {}/{}", branches.len(), a.owner, a.repo);
    output(&Branches { branches }, text)
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

/// The branch created.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CreatedBranch {
    /// The new branch's name.
    branch: String,
    /// The full ref, `refs/heads/<branch>`.
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    /// The commit the branch points at.
    sha: String,
    /// The branch or SHA it was created from.
    from: String,
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
    let out = CreatedBranch {
        branch: a.branch,
        git_ref: compact::get(&created["ref"]),
        sha,
        from,
    };
    output(&out, text)
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

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Commits {
    commits: Vec<Commit>,
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
            short(c.sha.as_deref().unwrap_or_default()),
            c.message
                .as_deref()
                .and_then(|m| m.lines().next())
                .unwrap_or_default()
        ),
        None => format!("No commits in {}/{} match", a.owner, a.repo),
    };
    output(&Commits { commits }, text)
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
    let found = compact::search_page(&api.get("/search/code", &query).await?, compact::code_hit);
    let text = format!(
        "{} code results for `{}`; {} on this page",
        found.total_count.unwrap_or_default(),
        a.query,
        found.items.len()
    );
    output(&found, text)
}
