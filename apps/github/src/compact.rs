//! Compact views of GitHub objects: the fields a model needs, not the whole payload
//! (GitHub repeats dozens of `*_url` templates per object).
//!
//! Each view is a typed struct whose JSON Schema (derived with `schemars`) is part of the
//! tool's output schema. A GitHub field that is absent, null or of an unexpected type
//! reads as `None`, and [`structured`] leaves `None` fields out, so an output always fits
//! its schema whatever GitHub (Enterprise) sends. Indexing a `Value` never panics: a
//! missing key reads as null.

use assistiv_app_sdk::{AppError, ToolOutput};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The tool result for a typed output: its JSON without the null (absent) fields, plus
/// the text.
pub(crate) fn output<T: Serialize>(
    out: &T,
    text: impl Into<String>,
) -> Result<ToolOutput, AppError> {
    let mut structured = serde_json::to_value(out)
        .map_err(|e| AppError::Transport(format!("cannot encode the tool output: {e}")))?;
    drop_nulls(&mut structured);
    Ok(ToolOutput::new(structured, text))
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(fields) => {
            fields.retain(|_, v| !v.is_null());
            fields.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// `v` as a `T`, or `None` when it is absent, null or of another type.
pub(crate) fn get<T: DeserializeOwned>(v: &Value) -> Option<T> {
    T::deserialize(v).ok()
}

/// The items of a JSON array (empty for anything else), mapped.
pub(crate) fn list<T>(src: &Value, f: impl Fn(&Value) -> T) -> Vec<T> {
    src.as_array()
        .map(|items| items.iter().map(f).collect())
        .unwrap_or_default()
}

fn login(user: &Value) -> Option<String> {
    get(&user["login"])
}

/// The logins of a list of users; `None` when there are none.
fn logins(users: &Value) -> Option<Vec<String>> {
    non_empty(list(users, login).into_iter().flatten().collect())
}

/// Label names; `None` when there are none. Labels are objects in most payloads, plain
/// strings in a few.
fn label_names(labels: &Value) -> Option<Vec<String>> {
    let names = list(labels, |l| get::<String>(l).or_else(|| get(&l["name"])));
    non_empty(names.into_iter().flatten().collect())
}

fn non_empty(items: Vec<String>) -> Option<Vec<String>> {
    (!items.is_empty()).then_some(items)
}

/// A GitHub account's profile.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct User {
    pub login: Option<String>,
    pub id: Option<u64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
    pub bio: Option<String>,
    pub blog: Option<String>,
    pub html_url: Option<String>,
    /// `User`, `Organization` or `Bot`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub public_repos: Option<u64>,
    pub followers: Option<u64>,
    pub following: Option<u64>,
    pub created_at: Option<String>,
}

pub(crate) fn user(v: &Value) -> User {
    User {
        login: get(&v["login"]),
        id: get(&v["id"]),
        name: get(&v["name"]),
        email: get(&v["email"]),
        company: get(&v["company"]),
        location: get(&v["location"]),
        bio: get(&v["bio"]),
        blog: get(&v["blog"]),
        html_url: get(&v["html_url"]),
        kind: get(&v["type"]),
        public_repos: get(&v["public_repos"]),
        followers: get(&v["followers"]),
        following: get(&v["following"]),
        created_at: get(&v["created_at"]),
    }
}

/// A repository.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Repo {
    /// `owner/name`.
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub private: Option<bool>,
    pub fork: Option<bool>,
    pub archived: Option<bool>,
    pub html_url: Option<String>,
    pub default_branch: Option<String>,
    pub language: Option<String>,
    pub topics: Option<Vec<String>>,
    pub stargazers_count: Option<u64>,
    pub forks_count: Option<u64>,
    pub open_issues_count: Option<u64>,
    pub pushed_at: Option<String>,
    pub updated_at: Option<String>,
}

pub(crate) fn repo(v: &Value) -> Repo {
    Repo {
        full_name: get(&v["full_name"]),
        description: get(&v["description"]),
        private: get(&v["private"]),
        fork: get(&v["fork"]),
        archived: get(&v["archived"]),
        html_url: get(&v["html_url"]),
        default_branch: get(&v["default_branch"]),
        language: get(&v["language"]),
        topics: get(&v["topics"]),
        stargazers_count: get(&v["stargazers_count"]),
        forks_count: get(&v["forks_count"]),
        open_issues_count: get(&v["open_issues_count"]),
        pushed_at: get(&v["pushed_at"]),
        updated_at: get(&v["updated_at"]),
    }
}

/// A branch and the commit it points at.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Branch {
    pub name: Option<String>,
    pub sha: Option<String>,
    pub protected: Option<bool>,
}

pub(crate) fn branch(v: &Value) -> Branch {
    Branch {
        name: get(&v["name"]),
        sha: get(&v["commit"]["sha"]),
        protected: get(&v["protected"]),
    }
}

/// A commit.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Commit {
    pub sha: Option<String>,
    pub message: Option<String>,
    /// The author's name as recorded in the commit.
    pub author: Option<String>,
    /// The author's GitHub login, when GitHub matched the commit to an account.
    pub author_login: Option<String>,
    /// When the commit was authored.
    pub date: Option<String>,
    pub html_url: Option<String>,
}

pub(crate) fn commit(v: &Value) -> Commit {
    Commit {
        sha: get(&v["sha"]),
        message: get(&v["commit"]["message"]),
        author: get(&v["commit"]["author"]["name"]),
        author_login: login(&v["author"]),
        date: get(&v["commit"]["author"]["date"]),
        html_url: get(&v["html_url"]),
    }
}

/// A directory entry, or a file's metadata, from the contents API.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ContentEntry {
    /// `file`, `dir`, `symlink` or `submodule`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub path: Option<String>,
    /// Blob SHA: what `create_or_update_file` needs to replace a file.
    pub sha: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    pub html_url: Option<String>,
}

pub(crate) fn content_entry(v: &Value) -> ContentEntry {
    ContentEntry {
        kind: get(&v["type"]),
        name: get(&v["name"]),
        path: get(&v["path"]),
        sha: get(&v["sha"]),
        size: get(&v["size"]),
        html_url: get(&v["html_url"]),
    }
}

/// A file a code search found.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CodeHit {
    /// `owner/name` of the repository holding the file.
    pub repository: Option<String>,
    pub path: Option<String>,
    pub name: Option<String>,
    pub sha: Option<String>,
    pub html_url: Option<String>,
}

pub(crate) fn code_hit(v: &Value) -> CodeHit {
    CodeHit {
        repository: get(&v["repository"]["full_name"]),
        path: get(&v["path"]),
        name: get(&v["name"]),
        sha: get(&v["sha"]),
        html_url: get(&v["html_url"]),
    }
}

/// A page of search results with GitHub's total.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct SearchPage<T> {
    /// How many results match in all (every page).
    pub total_count: Option<u64>,
    /// True when GitHub's search timed out before finding every match.
    pub incomplete_results: Option<bool>,
    pub items: Vec<T>,
}

pub(crate) fn search_page<T>(found: &Value, f: impl Fn(&Value) -> T) -> SearchPage<T> {
    SearchPage {
        total_count: get(&found["total_count"]),
        incomplete_results: get(&found["incomplete_results"]),
        items: list(&found["items"], f),
    }
}

/// An issue (or a pull request seen through the issues API).
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Issue {
    pub number: Option<u64>,
    pub title: Option<String>,
    /// `open` or `closed`.
    pub state: Option<String>,
    /// Why it was closed or reopened: `completed`, `not_planned`, `duplicate`, `reopened`.
    pub state_reason: Option<String>,
    /// Number of comments.
    pub comments: Option<u64>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub closed_at: Option<String>,
    /// `owner/name` of the repository.
    pub repository: Option<String>,
    /// The author's login.
    pub user: Option<String>,
    pub labels: Option<Vec<String>>,
    pub assignees: Option<Vec<String>>,
    /// The milestone's title.
    pub milestone: Option<String>,
    /// GitHub counts pull requests as issues; this says which one it is.
    pub is_pull_request: bool,
    /// Markdown body (get_issue only).
    pub body: Option<String>,
}

/// An issue; `full` adds the body.
pub(crate) fn issue(v: &Value, full: bool) -> Issue {
    Issue {
        number: get(&v["number"]),
        title: get(&v["title"]),
        state: get(&v["state"]),
        state_reason: get(&v["state_reason"]),
        comments: get(&v["comments"]),
        html_url: get(&v["html_url"]),
        created_at: get(&v["created_at"]),
        updated_at: get(&v["updated_at"]),
        closed_at: get(&v["closed_at"]),
        repository: repository_name(v),
        user: login(&v["user"]),
        labels: label_names(&v["labels"]),
        assignees: logins(&v["assignees"]),
        milestone: get(&v["milestone"]["title"]),
        is_pull_request: !v["pull_request"].is_null(),
        body: if full { get(&v["body"]) } else { None },
    }
}

/// `owner/repo` of a search hit (search results carry `repository_url` only).
fn repository_name(v: &Value) -> Option<String> {
    v["repository_url"]
        .as_str()
        .and_then(|u| u.split("/repos/").nth(1))
        .map(str::to_string)
}

/// A comment on an issue or pull request.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Comment {
    pub id: Option<u64>,
    /// The author's login.
    pub user: Option<String>,
    pub body: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
}

pub(crate) fn comment(v: &Value) -> Comment {
    Comment {
        id: get(&v["id"]),
        user: login(&v["user"]),
        body: get(&v["body"]),
        html_url: get(&v["html_url"]),
        created_at: get(&v["created_at"]),
    }
}

/// A pull request. Body, merge state and change counts come with get_pull_request only.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Pull {
    pub number: Option<u64>,
    pub title: Option<String>,
    /// `open` or `closed` (a merged pull request is closed with `merged: true`).
    pub state: Option<String>,
    pub draft: Option<bool>,
    pub merged: Option<bool>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub closed_at: Option<String>,
    pub merged_at: Option<String>,
    /// The author's login.
    pub user: Option<String>,
    /// The branch with the changes.
    pub head: PullHead,
    /// The branch the changes merge into.
    pub base: PullBase,
    pub labels: Option<Vec<String>>,
    #[serde(flatten)]
    pub details: Option<PullDetails>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PullHead {
    #[serde(rename = "ref")]
    pub branch: Option<String>,
    pub sha: Option<String>,
    /// `owner:branch`.
    pub label: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PullBase {
    #[serde(rename = "ref")]
    pub branch: Option<String>,
    pub sha: Option<String>,
}

/// What get_pull_request adds: body, merge state and change counts.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PullDetails {
    pub body: Option<String>,
    /// Whether it merges cleanly; absent while GitHub is still computing it.
    pub mergeable: Option<bool>,
    /// GitHub's merge state, e.g. `clean`, `dirty`, `blocked`, `behind`, `unstable`.
    pub mergeable_state: Option<String>,
    pub merge_commit_sha: Option<String>,
    pub commits: Option<u64>,
    pub additions: Option<u64>,
    pub deletions: Option<u64>,
    pub changed_files: Option<u64>,
    pub comments: Option<u64>,
    pub review_comments: Option<u64>,
    pub merged_by: Option<String>,
    pub requested_reviewers: Option<Vec<String>>,
    pub assignees: Option<Vec<String>>,
}

/// A pull request; `full` adds the [`PullDetails`].
pub(crate) fn pull(v: &Value, full: bool) -> Pull {
    Pull {
        number: get(&v["number"]),
        title: get(&v["title"]),
        state: get(&v["state"]),
        draft: get(&v["draft"]),
        merged: get(&v["merged"]),
        html_url: get(&v["html_url"]),
        created_at: get(&v["created_at"]),
        updated_at: get(&v["updated_at"]),
        closed_at: get(&v["closed_at"]),
        merged_at: get(&v["merged_at"]),
        user: login(&v["user"]),
        head: PullHead {
            branch: get(&v["head"]["ref"]),
            sha: get(&v["head"]["sha"]),
            label: get(&v["head"]["label"]),
        },
        base: PullBase {
            branch: get(&v["base"]["ref"]),
            sha: get(&v["base"]["sha"]),
        },
        labels: label_names(&v["labels"]),
        details: full.then(|| PullDetails {
            body: get(&v["body"]),
            mergeable: get(&v["mergeable"]),
            mergeable_state: get(&v["mergeable_state"]),
            merge_commit_sha: get(&v["merge_commit_sha"]),
            commits: get(&v["commits"]),
            additions: get(&v["additions"]),
            deletions: get(&v["deletions"]),
            changed_files: get(&v["changed_files"]),
            comments: get(&v["comments"]),
            review_comments: get(&v["review_comments"]),
            merged_by: login(&v["merged_by"]),
            requested_reviewers: logins(&v["requested_reviewers"]),
            assignees: logins(&v["assignees"]),
        }),
    }
}

/// A file a pull request changes.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PullFile {
    pub filename: Option<String>,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: Option<String>,
    pub additions: Option<u64>,
    pub deletions: Option<u64>,
    pub changes: Option<u64>,
    /// The old path of a renamed file.
    pub previous_filename: Option<String>,
    /// The file's unified diff hunk; absent for binary or very large files.
    pub patch: Option<String>,
}

pub(crate) fn pull_file(v: &Value) -> PullFile {
    PullFile {
        filename: get(&v["filename"]),
        status: get(&v["status"]),
        additions: get(&v["additions"]),
        deletions: get(&v["deletions"]),
        changes: get(&v["changes"]),
        previous_filename: get(&v["previous_filename"]),
        patch: get(&v["patch"]),
    }
}

/// A pull request review.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Review {
    pub id: Option<u64>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED` or `PENDING`.
    pub state: Option<String>,
    /// The reviewer's login.
    pub user: Option<String>,
    pub body: Option<String>,
    /// The commit reviewed.
    pub commit_id: Option<String>,
    pub html_url: Option<String>,
    pub submitted_at: Option<String>,
}

pub(crate) fn review(v: &Value) -> Review {
    Review {
        id: get(&v["id"]),
        state: get(&v["state"]),
        user: login(&v["user"]),
        body: get(&v["body"]),
        commit_id: get(&v["commit_id"]),
        html_url: get(&v["html_url"]),
        submitted_at: get(&v["submitted_at"]),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn json_of<T: Serialize>(out: &T) -> Value {
        output(out, "-").unwrap().structured
    }

    #[test]
    fn missing_or_mistyped_fields_are_left_out_and_never_panic() {
        assert_eq!(
            json_of(&issue(&json!("not an object"), true)),
            json!({"is_pull_request": false})
        );
        assert_eq!(
            json_of(&pull(&Value::Null, true)),
            json!({"head": {}, "base": {}})
        );
        assert_eq!(
            json_of(&branch(&json!({"name": "main"}))),
            json!({"name": "main"})
        );
        assert_eq!(
            json_of(&repo(
                &json!({"full_name": 7, "private": "no", "topics": ["a", 1]})
            )),
            json!({})
        );
        assert!(list(&json!({}), repo).is_empty());
    }

    #[test]
    fn labels_accept_objects_and_strings() {
        let v = json!({"labels": [{"name": "bug"}, "help wanted"], "repository_url": "https://api.github.com/repos/o/r"});
        let out = json_of(&issue(&v, false));
        assert_eq!(out["labels"], json!(["bug", "help wanted"]));
        assert_eq!(out["repository"], json!("o/r"));
    }
}
