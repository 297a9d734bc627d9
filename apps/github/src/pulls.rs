//! Pull request tools: list, get, files, diff, create, merge, review.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::{Api, Query, repo_route};
use crate::compact::{self, Pull, PullFile, Review, get, list, output};
use crate::{Direction, short, str_enum, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<ListPullRequests, PullRequests>(
            "list_pull_requests",
            "List pull requests",
            "List a repository's pull requests (open by default), filtered by state, head \
             or base branch.",
            ToolAnnotations::READ,
        ),
        tool::<PullRef, Pull>(
            "get_pull_request",
            "Get a pull request",
            "Get one pull request: body, head and base, merge state, change counts.",
            ToolAnnotations::READ,
        ),
        tool::<PullFiles, ChangedFiles>(
            "get_pull_request_files",
            "List pull request files",
            "List the files a pull request changes, with their status, line counts and patch.",
            ToolAnnotations::READ,
        ),
        tool::<PullRef, Diff>(
            "get_pull_request_diff",
            "Get a pull request diff",
            "Get the unified diff of a pull request.",
            ToolAnnotations::READ,
        ),
        tool::<CreatePullRequest, Pull>(
            "create_pull_request",
            "Create a pull request",
            "Open a pull request merging `head` into `base`.",
            ToolAnnotations::CREATE,
        ),
        tool::<MergePullRequest, Merge>(
            "merge_pull_request",
            "Merge a pull request",
            "Merge a pull request into its base branch (merge commit, squash or rebase). \
             Irreversible: the base branch changes for everyone.",
            ToolAnnotations::DESTRUCTIVE,
        ),
        tool::<CreateReview, Review>(
            "create_pull_request_review",
            "Review a pull request",
            "Submit a review: approve, request changes or comment, with optional line \
             comments. Without `event` the review stays pending (a draft only you see).",
            ToolAnnotations::CREATE,
        ),
    ]
}

str_enum!(
    /// Which pull requests by state (default: open).
    PullStateFilter { Open = "open", Closed = "closed", All = "all" }
);

str_enum!(
    /// Sort field (default: created).
    PullSort {
        Created = "created",
        Updated = "updated",
        Popularity = "popularity",
        LongRunning = "long-running",
    }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListPullRequests {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    state: Option<PullStateFilter>,
    /// Only pull requests from this head, as `user:branch` or `org:branch`.
    head: Option<String>,
    /// Only pull requests into this base branch.
    base: Option<String>,
    sort: Option<PullSort>,
    direction: Option<Direction>,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PullRequests {
    pull_requests: Vec<Pull>,
}

pub(crate) async fn list_pull_requests(
    api: &Api,
    a: ListPullRequests,
) -> Result<ToolOutput, AppError> {
    let route = format!("{}/pulls", repo_route(&a.owner, &a.repo)?);
    let query = Query::new()
        .opt("state", a.state)
        .opt("head", a.head.as_ref())
        .opt("base", a.base.as_ref())
        .opt("sort", a.sort)
        .opt("direction", a.direction)
        .page(a.page, a.per_page);
    let pulls = list(&api.get(&route, &query).await?, |p| compact::pull(p, false));
    let text = format!("{} pull requests in {}/{}", pulls.len(), a.owner, a.repo);
    output(
        &PullRequests {
            pull_requests: pulls,
        },
        text,
    )
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullRef {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Pull request number.
    #[schemars(range(min = 1))]
    pull_number: u64,
}

impl PullRef {
    fn route(&self) -> Result<String, AppError> {
        Ok(format!(
            "{}/pulls/{}",
            repo_route(&self.owner, &self.repo)?,
            self.pull_number
        ))
    }
}

/// "o/r#7 Title (open, feature -> main)".
fn summary(pull: &Pull, owner: &str, repo: &str) -> String {
    let state = if pull.merged == Some(true) {
        "merged"
    } else {
        pull.state.as_deref().unwrap_or_default()
    };
    format!(
        "{owner}/{repo}#{} {} ({state}, {} -> {})",
        pull.number.unwrap_or_default(),
        pull.title.as_deref().unwrap_or_default(),
        pull.head.branch.as_deref().unwrap_or_default(),
        pull.base.branch.as_deref().unwrap_or_default()
    )
}

pub(crate) async fn get_pull_request(api: &Api, a: PullRef) -> Result<ToolOutput, AppError> {
    let pull = compact::pull(&api.get(&a.route()?, &Query::new()).await?, true);
    let text = summary(&pull, &a.owner, &a.repo);
    output(&pull, text)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullFiles {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Pull request number.
    #[schemars(range(min = 1))]
    pull_number: u64,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ChangedFiles {
    files: Vec<PullFile>,
}

pub(crate) async fn get_pull_request_files(
    api: &Api,
    a: PullFiles,
) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/pulls/{}/files",
        repo_route(&a.owner, &a.repo)?,
        a.pull_number
    );
    let query = Query::new().page(a.page, a.per_page);
    let files = list(&api.get(&route, &query).await?, compact::pull_file);
    let (added, removed) = files.iter().fold((0, 0), |(add, del), f| {
        (
            add + f.additions.unwrap_or_default(),
            del + f.deletions.unwrap_or_default(),
        )
    });
    let text = format!(
        "{} files changed in {}/{}#{} (+{added} -{removed})",
        files.len(),
        a.owner,
        a.repo,
        a.pull_number
    );
    output(&ChangedFiles { files }, text)
}

/// A pull request's unified diff.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Diff {
    pull_number: u64,
    diff: String,
}

pub(crate) async fn get_pull_request_diff(api: &Api, a: PullRef) -> Result<ToolOutput, AppError> {
    let diff = api
        .get_text(&a.route()?, "application/vnd.github.diff")
        .await?;
    let out = Diff {
        pull_number: a.pull_number,
        diff,
    };
    output(&out, out.diff.clone())
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePullRequest {
    /// Repository owner (user or organization).
    #[serde(skip_serializing)]
    owner: String,
    /// Repository name.
    #[serde(skip_serializing)]
    repo: String,
    /// Pull request title.
    #[schemars(length(min = 1))]
    title: String,
    /// Branch with the changes; `user:branch` for a fork.
    #[schemars(length(min = 1))]
    head: String,
    /// Branch to merge into, e.g. `main`.
    #[schemars(length(min = 1))]
    base: String,
    /// Description (Markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    /// Open as a draft.
    #[serde(skip_serializing_if = "Option::is_none")]
    draft: Option<bool>,
    /// Let maintainers push to the head branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    maintainer_can_modify: Option<bool>,
}

pub(crate) async fn create_pull_request(
    api: &Api,
    a: CreatePullRequest,
) -> Result<ToolOutput, AppError> {
    let route = format!("{}/pulls", repo_route(&a.owner, &a.repo)?);
    let pull = compact::pull(&api.post(&route, &a).await?, false);
    let text = format!(
        "Opened {}: {}",
        summary(&pull, &a.owner, &a.repo),
        pull.html_url.as_deref().unwrap_or_default()
    );
    output(&pull, text)
}

str_enum!(
    /// How to merge (default: merge).
    MergeMethod { Merge = "merge", Squash = "squash", Rebase = "rebase" }
);

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergePullRequest {
    /// Repository owner (user or organization).
    #[serde(skip_serializing)]
    owner: String,
    /// Repository name.
    #[serde(skip_serializing)]
    repo: String,
    /// Pull request number.
    #[serde(skip_serializing)]
    #[schemars(range(min = 1))]
    pull_number: u64,
    /// Title of the merge commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_title: Option<String>,
    /// Extra detail appended to the merge commit message.
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merge_method: Option<MergeMethod>,
    /// Merge only if the head is still at this SHA.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha: Option<String>,
}

/// GitHub's answer to a merge.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Merge {
    merged: Option<bool>,
    /// The merge (or squash, or last rebased) commit.
    sha: Option<String>,
    message: Option<String>,
}

pub(crate) async fn merge_pull_request(
    api: &Api,
    a: MergePullRequest,
) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/pulls/{}/merge",
        repo_route(&a.owner, &a.repo)?,
        a.pull_number
    );
    let merged = api.put(&route, &a).await?;
    let out = Merge {
        merged: get(&merged["merged"]),
        sha: get(&merged["sha"]),
        message: get(&merged["message"]),
    };
    let text = format!(
        "{}/{}#{}: {} ({})",
        a.owner,
        a.repo,
        a.pull_number,
        out.message.as_deref().unwrap_or_default(),
        short(out.sha.as_deref().unwrap_or_default())
    );
    output(&out, text)
}

str_enum!(
    /// The review's verdict; leave it out to keep the review pending.
    ReviewEvent { Approve = "APPROVE", RequestChanges = "REQUEST_CHANGES", Comment = "COMMENT" }
);

str_enum!(
    /// Side of the diff: LEFT (deletions) or RIGHT (additions and context).
    Side { Left = "LEFT", Right = "RIGHT" }
);

/// A comment on a line (or a range of lines) of the diff.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewComment {
    /// File path relative to the repository root.
    #[schemars(length(min = 1))]
    path: String,
    /// Comment text (Markdown).
    #[schemars(length(min = 1))]
    body: String,
    /// Line in the file (the last line of a range).
    #[schemars(range(min = 1))]
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    side: Option<Side>,
    /// First line of a multi-line comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    start_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_side: Option<Side>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateReview {
    /// Repository owner (user or organization).
    #[serde(skip_serializing)]
    owner: String,
    /// Repository name.
    #[serde(skip_serializing)]
    repo: String,
    /// Pull request number.
    #[serde(skip_serializing)]
    #[schemars(range(min = 1))]
    pull_number: u64,
    /// Review summary (Markdown); required for REQUEST_CHANGES and COMMENT.
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<ReviewEvent>,
    /// Commit the review applies to (default: the pull request's head).
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_id: Option<String>,
    /// Line comments.
    #[serde(skip_serializing_if = "Option::is_none")]
    comments: Option<Vec<ReviewComment>>,
}

pub(crate) async fn create_pull_request_review(
    api: &Api,
    a: CreateReview,
) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/pulls/{}/reviews",
        repo_route(&a.owner, &a.repo)?,
        a.pull_number
    );
    let review = compact::review(&api.post(&route, &a).await?);
    let text = format!(
        "Review {} on {}/{}#{}: {}",
        review.state.as_deref().unwrap_or_default(),
        a.owner,
        a.repo,
        a.pull_number,
        review.html_url.as_deref().unwrap_or_default()
    );
    output(&review, text)
}
