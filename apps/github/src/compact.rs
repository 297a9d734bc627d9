//! Compact views of GitHub objects: the fields a model needs, not the whole payload
//! (GitHub repeats dozens of `*_url` templates per object). Absent and null fields are
//! left out. Indexing a `Value` never panics: a missing key reads as null.

use serde_json::{Map, Value, json};

/// An object of the given pairs, without the null ones.
pub(crate) fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// The present, non-null `fields` of `src`, plus `extra` pairs.
fn pick<const N: usize>(src: &Value, fields: &[&str], extra: [(&str, Value); N]) -> Value {
    let mut out = Map::new();
    for field in fields {
        let v = &src[*field];
        if !v.is_null() {
            out.insert((*field).to_string(), v.clone());
        }
    }
    if let Value::Object(extra) = obj(extra) {
        out.extend(extra);
    }
    Value::Object(out)
}

/// The `items` of a JSON array (empty for anything else), mapped.
pub(crate) fn list(src: &Value, f: impl Fn(&Value) -> Value) -> Vec<Value> {
    src.as_array()
        .map(|items| items.iter().map(f).collect())
        .unwrap_or_default()
}

fn login(v: &Value) -> Value {
    v["login"].clone()
}

fn logins(v: &Value) -> Value {
    let names = list(v, login);
    if names.is_empty() {
        Value::Null
    } else {
        json!(names)
    }
}

fn label_names(v: &Value) -> Value {
    // Labels are objects in most payloads, plain strings in a few.
    let names = list(v, |l| {
        if l.is_string() {
            l.clone()
        } else {
            l["name"].clone()
        }
    });
    if names.is_empty() {
        Value::Null
    } else {
        json!(names)
    }
}

pub(crate) fn me(v: &Value) -> Value {
    pick(
        v,
        &[
            "login",
            "id",
            "name",
            "email",
            "company",
            "location",
            "bio",
            "blog",
            "html_url",
            "type",
            "public_repos",
            "followers",
            "following",
            "created_at",
        ],
        [],
    )
}

pub(crate) fn repo(v: &Value) -> Value {
    pick(
        v,
        &[
            "full_name",
            "description",
            "private",
            "fork",
            "archived",
            "html_url",
            "default_branch",
            "language",
            "topics",
            "stargazers_count",
            "forks_count",
            "open_issues_count",
            "pushed_at",
            "updated_at",
        ],
        [],
    )
}

pub(crate) fn branch(v: &Value) -> Value {
    obj([
        ("name", v["name"].clone()),
        ("sha", v["commit"]["sha"].clone()),
        ("protected", v["protected"].clone()),
    ])
}

pub(crate) fn commit(v: &Value) -> Value {
    obj([
        ("sha", v["sha"].clone()),
        ("message", v["commit"]["message"].clone()),
        ("author", v["commit"]["author"]["name"].clone()),
        ("author_login", login(&v["author"])),
        ("date", v["commit"]["author"]["date"].clone()),
        ("html_url", v["html_url"].clone()),
    ])
}

/// A directory entry or file metadata from the contents API.
pub(crate) fn content_entry(v: &Value) -> Value {
    pick(v, &["type", "name", "path", "sha", "size", "html_url"], [])
}

pub(crate) fn code_hit(v: &Value) -> Value {
    obj([
        ("repository", v["repository"]["full_name"].clone()),
        ("path", v["path"].clone()),
        ("name", v["name"].clone()),
        ("sha", v["sha"].clone()),
        ("html_url", v["html_url"].clone()),
    ])
}

/// An issue (or a pull request seen through the issues API). `full` adds the body.
pub(crate) fn issue(v: &Value, full: bool) -> Value {
    pick(
        v,
        &[
            "number",
            "title",
            "state",
            "state_reason",
            "comments",
            "html_url",
            "created_at",
            "updated_at",
            "closed_at",
        ],
        [
            ("repository", repository_name(v)),
            ("user", login(&v["user"])),
            ("labels", label_names(&v["labels"])),
            ("assignees", logins(&v["assignees"])),
            ("milestone", v["milestone"]["title"].clone()),
            ("is_pull_request", json!(!v["pull_request"].is_null())),
            ("body", if full { v["body"].clone() } else { Value::Null }),
        ],
    )
}

/// `owner/repo` of a search hit (search results carry `repository_url` only).
fn repository_name(v: &Value) -> Value {
    v["repository_url"]
        .as_str()
        .and_then(|u| u.split("/repos/").nth(1))
        .map_or(Value::Null, |name| json!(name))
}

pub(crate) fn comment(v: &Value) -> Value {
    obj([
        ("id", v["id"].clone()),
        ("user", login(&v["user"])),
        ("body", v["body"].clone()),
        ("html_url", v["html_url"].clone()),
        ("created_at", v["created_at"].clone()),
    ])
}

/// A pull request. `full` adds the body, merge state and change counts.
pub(crate) fn pull(v: &Value, full: bool) -> Value {
    let mut out = pick(
        v,
        &[
            "number",
            "title",
            "state",
            "draft",
            "merged",
            "html_url",
            "created_at",
            "updated_at",
            "closed_at",
            "merged_at",
        ],
        [
            ("user", login(&v["user"])),
            (
                "head",
                obj([
                    ("ref", v["head"]["ref"].clone()),
                    ("sha", v["head"]["sha"].clone()),
                    ("label", v["head"]["label"].clone()),
                ]),
            ),
            (
                "base",
                obj([
                    ("ref", v["base"]["ref"].clone()),
                    ("sha", v["base"]["sha"].clone()),
                ]),
            ),
            ("labels", label_names(&v["labels"])),
        ],
    );
    if full
        && let (Value::Object(out), Value::Object(more)) = (
            &mut out,
            pick(
                v,
                &[
                    "body",
                    "mergeable",
                    "mergeable_state",
                    "merge_commit_sha",
                    "commits",
                    "additions",
                    "deletions",
                    "changed_files",
                    "comments",
                    "review_comments",
                ],
                [
                    ("merged_by", login(&v["merged_by"])),
                    ("requested_reviewers", logins(&v["requested_reviewers"])),
                    ("assignees", logins(&v["assignees"])),
                ],
            ),
        )
    {
        out.extend(more);
    }
    out
}

pub(crate) fn pull_file(v: &Value) -> Value {
    pick(
        v,
        &[
            "filename",
            "status",
            "additions",
            "deletions",
            "changes",
            "previous_filename",
            "patch",
        ],
        [],
    )
}

pub(crate) fn review(v: &Value) -> Value {
    obj([
        ("id", v["id"].clone()),
        ("state", v["state"].clone()),
        ("user", login(&v["user"])),
        ("body", v["body"].clone()),
        ("commit_id", v["commit_id"].clone()),
        ("html_url", v["html_url"].clone()),
        ("submitted_at", v["submitted_at"].clone()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_left_out_and_never_panic() {
        assert_eq!(
            issue(&json!("not an object"), true),
            json!({"is_pull_request": false})
        );
        assert_eq!(pull(&Value::Null, true), json!({"head": {}, "base": {}}));
        assert_eq!(branch(&json!({"name": "main"})), json!({"name": "main"}));
        assert!(list(&json!({}), repo).is_empty());
    }

    #[test]
    fn labels_accept_objects_and_strings() {
        let v = json!({"labels": [{"name": "bug"}, "help wanted"], "repository_url": "https://api.github.com/repos/o/r"});
        let out = issue(&v, false);
        assert_eq!(out["labels"], json!(["bug", "help wanted"]));
        assert_eq!(out["repository"], json!("o/r"));
    }
}
