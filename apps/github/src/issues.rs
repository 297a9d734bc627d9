//! Issue tools: list, get, search, create, update, comment.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, Query, repo_route};
use crate::compact::{self, Comment, Issue, SearchPage, list, output};
use crate::{Direction, str_enum, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<ListIssues, Issues>(
            "list_issues",
            "List issues",
            "List a repository's issues (open by default), filtered by state, labels, \
             assignee or creator. GitHub counts pull requests as issues: those carry \
             `is_pull_request: true`.",
            ToolAnnotations::READ,
        ),
        tool::<IssueRef, Issue>(
            "get_issue",
            "Get an issue",
            "Get one issue with its body, labels, assignees and state.",
            ToolAnnotations::READ,
        ),
        tool::<SearchIssues, SearchPage<Issue>>(
            "search_issues",
            "Search issues",
            "Search issues across GitHub with issue search syntax (e.g. `repo:o/r is:open \
             label:bug`, `author:@me`). `is:issue` is added unless the query already says \
             `is:issue`, `is:pr`, `type:issue` or `type:pr`.",
            ToolAnnotations::READ,
        ),
        tool::<CreateIssue, Issue>(
            "create_issue",
            "Create an issue",
            "Open a new issue in a repository.",
            ToolAnnotations::CREATE,
        ),
        tool::<UpdateIssue, Issue>(
            "update_issue",
            "Update an issue",
            "Change an issue's title, body, state (close or reopen), labels, assignees or \
             milestone. Only the given fields change; `labels` and `assignees` replace the \
             current lists.",
            ToolAnnotations::UPDATE,
        ),
        tool::<AddIssueComment, Comment>(
            "add_issue_comment",
            "Comment on an issue",
            "Add a comment to an issue or pull request (Markdown).",
            ToolAnnotations::CREATE,
        ),
    ]
}

str_enum!(
    /// Which issues by state (default: open).
    StateFilter { Open = "open", Closed = "closed", All = "all" }
);

str_enum!(
    /// Sort field (default: created).
    IssueSort { Created = "created", Updated = "updated", Comments = "comments" }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListIssues {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    state: Option<StateFilter>,
    /// Only issues with all of these label names.
    labels: Option<Vec<String>>,
    /// Only issues assigned to this login (`none` for unassigned, `*` for any).
    assignee: Option<String>,
    /// Only issues created by this login.
    creator: Option<String>,
    /// Only issues mentioning this login.
    mentioned: Option<String>,
    /// Only issues updated after this ISO 8601 time, e.g. `2024-01-31T00:00:00Z`.
    since: Option<String>,
    sort: Option<IssueSort>,
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
pub(crate) struct Issues {
    issues: Vec<Issue>,
}

pub(crate) async fn list_issues(api: &Api, a: ListIssues) -> Result<ToolOutput, AppError> {
    let route = format!("{}/issues", repo_route(&a.owner, &a.repo)?);
    let query = Query::new()
        .opt("state", a.state)
        .opt("labels", a.labels.map(|l| l.join(",")))
        .opt("assignee", a.assignee.as_ref())
        .opt("creator", a.creator.as_ref())
        .opt("mentioned", a.mentioned.as_ref())
        .opt("since", a.since.as_ref())
        .opt("sort", a.sort)
        .opt("direction", a.direction)
        .page(a.page, a.per_page);
    let issues = list(&api.get(&route, &query).await?, |i| {
        compact::issue(i, false)
    });
    let text = format!("{} issues in {}/{}", issues.len(), a.owner, a.repo);
    output(&Issues { issues }, text)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueRef {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Issue number.
    #[schemars(range(min = 1))]
    issue_number: u64,
}

pub(crate) async fn get_issue(api: &Api, a: IssueRef) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/issues/{}",
        repo_route(&a.owner, &a.repo)?,
        a.issue_number
    );
    let issue = compact::issue(&api.get(&route, &Query::new()).await?, true);
    let text = summary(&issue, &a.owner, &a.repo);
    output(&issue, text)
}

/// "o/r#12 Title (open)".
fn summary(issue: &Issue, owner: &str, repo: &str) -> String {
    format!(
        "{owner}/{repo}#{} {} ({})",
        issue.number.unwrap_or_default(),
        issue.title.as_deref().unwrap_or_default(),
        issue.state.as_deref().unwrap_or_default()
    )
}

str_enum!(
    /// Sort field (default: best match).
    SearchIssueSort {
        Comments = "comments",
        Reactions = "reactions",
        Created = "created",
        Updated = "updated",
        Interactions = "interactions",
    }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchIssues {
    /// Search query in GitHub's issue search syntax.
    #[schemars(length(min = 1))]
    query: String,
    sort: Option<SearchIssueSort>,
    order: Option<Direction>,
    /// Page number, from 1.
    #[schemars(range(min = 1))]
    page: Option<u32>,
    /// Results per page (1-100, default 30).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn search_issues(api: &Api, a: SearchIssues) -> Result<ToolOutput, AppError> {
    // GitHub refuses issue searches that do not say issues or pull requests.
    let kind_given = a.query.split_whitespace().any(|term| {
        matches!(
            term.to_ascii_lowercase().as_str(),
            "is:issue" | "is:pr" | "is:pull-request" | "type:issue" | "type:pr"
        )
    });
    let q = if kind_given {
        a.query.clone()
    } else {
        format!("{} is:issue", a.query)
    };
    let query = Query::new()
        .set("q", &q)
        .opt("sort", a.sort)
        .opt("order", a.order)
        .page(a.page, a.per_page);
    let found = compact::search_page(&api.get("/search/issues", &query).await?, |i| {
        compact::issue(i, false)
    });
    let text = format!(
        "{} issues match `{q}`; {} on this page",
        found.total_count.unwrap_or_default(),
        found.items.len()
    );
    output(&found, text)
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIssue {
    /// Repository owner (user or organization).
    #[serde(skip_serializing)]
    owner: String,
    /// Repository name.
    #[serde(skip_serializing)]
    repo: String,
    /// Issue title.
    #[schemars(length(min = 1))]
    title: String,
    /// Issue body (Markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    /// Label names to add.
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<String>>,
    /// Logins to assign.
    #[serde(skip_serializing_if = "Option::is_none")]
    assignees: Option<Vec<String>>,
    /// Milestone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    milestone: Option<u64>,
}

pub(crate) async fn create_issue(api: &Api, a: CreateIssue) -> Result<ToolOutput, AppError> {
    let route = format!("{}/issues", repo_route(&a.owner, &a.repo)?);
    let issue = compact::issue(&api.post(&route, &a).await?, false);
    let text = format!(
        "Created {}: {}",
        summary(&issue, &a.owner, &a.repo),
        issue.html_url.as_deref().unwrap_or_default()
    );
    output(&issue, text)
}

str_enum!(
    /// New state.
    IssueState { Open = "open", Closed = "closed" }
);

str_enum!(
    /// Why the state changed.
    StateReason {
        Completed = "completed",
        NotPlanned = "not_planned",
        Duplicate = "duplicate",
        Reopened = "reopened",
    }
);

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateIssue {
    /// Repository owner (user or organization).
    #[serde(skip_serializing)]
    owner: String,
    /// Repository name.
    #[serde(skip_serializing)]
    repo: String,
    /// Issue number.
    #[serde(skip_serializing)]
    #[schemars(range(min = 1))]
    issue_number: u64,
    /// New title.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    /// New body (Markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<IssueState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_reason: Option<StateReason>,
    /// The complete new list of label names.
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<String>>,
    /// The complete new list of assignee logins.
    #[serde(skip_serializing_if = "Option::is_none")]
    assignees: Option<Vec<String>>,
    /// Milestone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    milestone: Option<u64>,
}

pub(crate) async fn update_issue(api: &Api, a: UpdateIssue) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/issues/{}",
        repo_route(&a.owner, &a.repo)?,
        a.issue_number
    );
    let changes =
        serde_json::to_value(&a).map_err(|e| AppError::InvalidArguments(e.to_string()))?;
    if changes.as_object().is_none_or(|c| c.is_empty()) {
        return Err(AppError::InvalidArguments(
            "nothing to update: give at least one of title, body, state, state_reason, \
             labels, assignees, milestone"
                .into(),
        ));
    }
    let issue = compact::issue(&api.patch(&route, &changes).await?, false);
    let text = format!("Updated {}", summary(&issue, &a.owner, &a.repo));
    output(&issue, text)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddIssueComment {
    /// Repository owner (user or organization).
    owner: String,
    /// Repository name.
    repo: String,
    /// Issue or pull request number.
    #[schemars(range(min = 1))]
    issue_number: u64,
    /// Comment text (Markdown).
    #[schemars(length(min = 1))]
    body: String,
}

pub(crate) async fn add_issue_comment(
    api: &Api,
    a: AddIssueComment,
) -> Result<ToolOutput, AppError> {
    let route = format!(
        "{}/issues/{}/comments",
        repo_route(&a.owner, &a.repo)?,
        a.issue_number
    );
    let comment = compact::comment(&api.post(&route, &json!({ "body": a.body })).await?);
    let text = format!(
        "Commented on {}/{}#{}: {}",
        a.owner,
        a.repo,
        a.issue_number,
        comment.html_url.as_deref().unwrap_or_default()
    );
    output(&comment, text)
}
