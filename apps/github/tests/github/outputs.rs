//! Output schemas: every tool declares one, every output fits it (from GitHub's documented
//! payloads, and from sparse or mistyped ones), and the schemas are strict enough that a
//! missing or mistyped field fails validation.

use std::collections::BTreeSet;

use assistiv_app_github::GitHubApp;
use assistiv_app_sdk::App;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::header;

use crate::helpers::{
    TestGitHub, assert_fits_output_schema, fixture, fixture_text, github, output_validator,
};

const REPO: &str = "/repos/octocat/Hello-World";

/// A tool call, the request it makes (`~` standing for the repository's route) and the
/// fixture GitHub answers it with (`pull.diff`: the diff text).
struct Call {
    tool: &'static str,
    args: Value,
    verb: &'static str,
    route: String,
    fixture: &'static str,
}

fn call(tool: &'static str, args: Value, request: &'static str, fixture: &'static str) -> Call {
    let (verb, route) = request.split_once(' ').unwrap();
    Call {
        tool,
        args,
        verb,
        route: route.replacen('~', REPO, 1),
        fixture,
    }
}

/// One call per tool, two for get_file_contents (a file and a directory).
#[rustfmt::skip] // a table
fn calls() -> Vec<Call> {
    let repo = |mut args: Value| {
        args["owner"] = json!("octocat");
        args["repo"] = json!("Hello-World");
        args
    };
    let issue = |mut args: Value| {
        args["issue_number"] = json!(1347);
        repo(args)
    };
    let pull = || repo(json!({"pull_number": 1347}));
    let sha = "aa218f56b14c9653891f9e74264a383fa43fefbd";
    vec![
        call("get_me", json!({}), "GET /user", "user"),
        call("search_repositories", json!({"query": "tetris"}), "GET /search/repositories", "search_repositories"),
        call("get_repository", repo(json!({})), "GET ~", "repository"),
        call("list_branches", repo(json!({})), "GET ~/branches", "branches"),
        call("create_branch", repo(json!({"branch": "feature/login", "sha": sha})), "POST ~/git/refs", "created_ref"),
        call("get_file_contents", repo(json!({"path": "docs/README.md"})), "GET ~/contents/docs/README.md", "contents_file"),
        call("get_file_contents", repo(json!({})), "GET ~/contents", "contents_dir"),
        call("create_or_update_file", repo(json!({"path": "a.md", "content": "Hi", "message": "Add"})), "PUT ~/contents/a.md", "contents_put"),
        call("list_commits", repo(json!({})), "GET ~/commits", "commits"),
        call("search_code", json!({"query": "addClass"}), "GET /search/code", "search_code"),
        call("list_issues", repo(json!({})), "GET ~/issues", "issues"),
        call("get_issue", issue(json!({})), "GET ~/issues/1347", "issue"),
        call("search_issues", json!({"query": "bug"}), "GET /search/issues", "search_issues"),
        call("create_issue", repo(json!({"title": "Found a bug"})), "POST ~/issues", "issue_created"),
        call("update_issue", issue(json!({"state": "closed"})), "PATCH ~/issues/1347", "issue_updated"),
        call("add_issue_comment", issue(json!({"body": "Me too"})), "POST ~/issues/1347/comments", "issue_comment"),
        call("list_pull_requests", repo(json!({})), "GET ~/pulls", "pulls"),
        call("get_pull_request", pull(), "GET ~/pulls/1347", "pull"),
        call("get_pull_request_files", pull(), "GET ~/pulls/1347/files", "pull_files"),
        call("get_pull_request_diff", pull(), "GET ~/pulls/1347", "pull.diff"),
        call("create_pull_request", repo(json!({"title": "T", "head": "o:topic", "base": "master"})), "POST ~/pulls", "pull_created"),
        call("merge_pull_request", pull(), "PUT ~/pulls/1347/merge", "merge"),
        call("create_pull_request_review", pull(), "POST ~/pulls/1347/reviews", "review"),
    ]
}

/// Calls every tool against GitHub answering `payload(fixture)`, and returns each tool's
/// structured output.
async fn outputs(payload: impl Fn(Value) -> Value) -> Vec<(&'static str, Value)> {
    let gh = TestGitHub::start().await;
    for c in calls() {
        let mock = github(c.verb, &c.route);
        if c.fixture == "pull.diff" {
            // It shares get_pull_request's route; only its media type differs.
            let diff = fixture_text(c.fixture).into_bytes();
            mock.and(header("accept", "application/vnd.github.diff"))
                .respond_with(ResponseTemplate::new(200).set_body_raw(diff, "text/plain"))
                .with_priority(1)
                .mount(&gh.server)
                .await;
        } else {
            let body = payload(fixture(c.fixture));
            mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&gh.server)
                .await;
        }
    }
    let mut out = Vec::new();
    for c in calls() {
        let result = gh.call(c.tool, c.args).await;
        let output = result.unwrap_or_else(|e| panic!("{} failed: {e:?}", c.tool));
        out.push((c.tool, output.structured));
    }
    out
}

#[test]
fn every_tool_declares_a_closed_object_output_schema() {
    for tool in GitHubApp::new().tools() {
        let schema = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no output schema", tool.name));
        jsonschema::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", tool.name));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            tool.name
        );
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert!(schema.get("$defs").is_none(), "{}: inlined", tool.name);
        assert_objects_are_closed(tool.name, schema);
        let text = serde_json::to_string(schema).unwrap();
        assert!(
            !text.contains("null"),
            "{}: outputs never hold null: {text}",
            tool.name
        );
    }
}

/// Every object schema under `schema` refuses unknown properties.
fn assert_objects_are_closed(tool: &str, schema: &Value) {
    match schema {
        Value::Object(o) => {
            if o.contains_key("properties") {
                let closed = o.get("additionalProperties") == Some(&json!(false))
                    || o.get("unevaluatedProperties") == Some(&json!(false));
                assert!(closed, "{tool}: an open object schema: {schema}");
            }
            o.values().for_each(|v| assert_objects_are_closed(tool, v));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| assert_objects_are_closed(tool, v)),
        _ => {}
    }
}

#[tokio::test]
async fn every_tool_output_fits_its_schema_and_the_schema_catches_drift() {
    let app = GitHubApp::new();
    let documented = outputs(|v| v).await;
    let covered: BTreeSet<&str> = documented.iter().map(|(tool, _)| *tool).collect();
    let all: BTreeSet<&str> = app.tools().iter().map(|t| t.name).collect();
    assert_eq!(covered, all, "every tool is exercised");
    // What a tool still sends when GitHub answers nothing but nulls: the fields it always
    // sends, which are exactly the ones its schema must require.
    let hollow = outputs(|v| map_scalars(v, &|_| Value::Null)).await;

    for ((tool, structured), (_, always)) in documented.iter().zip(&hollow) {
        assert_fits_output_schema(&app, tool, structured);
        let validator = output_validator(&app, tool);
        let mut fields = 0;
        for_each_value(structured, &mut |path, value| {
            fields += 1;
            let mistyped = replace(structured, path, Some(other_type(value)));
            assert!(
                !validator.is_valid(&mistyped),
                "{tool}: {path:?} with another type still validates"
            );
            if let Some(PathStep::Key(_)) = path.last() {
                let missing = replace(structured, path, None);
                let required = lookup(always, path).is_some();
                assert_eq!(
                    validator.is_valid(&missing),
                    !required,
                    "{tool}: {path:?} is always sent: {required}; the schema disagrees"
                );
            }
        });
        assert!(fields > 0, "{tool}: an empty output");
        let mut extra = structured.clone();
        extra["unexpected"] = json!(1);
        assert!(!validator.is_valid(&extra), "{tool}: unknown fields pass");
    }
}

#[tokio::test]
async fn outputs_fit_their_schemas_whatever_github_leaves_out_or_mistypes() {
    let app = GitHubApp::new();
    for (tool, structured) in outputs(|v| map_scalars(v, &|_| Value::Null)).await {
        assert_fits_output_schema(&app, tool, &structured);
    }
    for (tool, structured) in outputs(|v| map_scalars(v, &other_type)).await {
        assert_fits_output_schema(&app, tool, &structured);
    }
}

#[tokio::test]
async fn file_symlink_submodule_and_large_file_outputs_fit_the_schema() {
    let gh = TestGitHub::start().await;
    let mut base = fixture("contents_file");
    base.as_object_mut().unwrap().remove("content");
    let cases = [
        (
            "big.bin",
            json!({"type": "file", "encoding": "none", "size": 104857600}),
        ),
        (
            "link",
            json!({"type": "symlink", "target": "docs/README.md"}),
        ),
        (
            "vendor/lib",
            json!({"type": "submodule", "submodule_git_url": "git://github.com/jquery/qunit.git"}),
        ),
    ];
    for (path, overrides) in &cases {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(overrides.as_object().unwrap().clone());
        body["path"] = json!(path);
        github("GET", &format!("{REPO}/contents/{path}"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&gh.server)
            .await;
    }
    let mut texts = Vec::new();
    for (path, _) in &cases {
        let args = json!({"owner": "octocat", "repo": "Hello-World", "path": path});
        let out = gh.ok("get_file_contents", args).await; // validates the output
        texts.push(out.text);
        if *path == "big.bin" {
            assert_eq!(out.structured["too_large"], true);
            assert!(out.structured["download_url"].is_string());
        }
    }
    assert_eq!(
        texts,
        [
            "big.bin (104857600 bytes) is too large for the contents API; use download_url",
            "link is a symlink to docs/README.md",
            "vendor/lib is a submodule of git://github.com/jquery/qunit.git",
        ]
    );
}

/// Visits every value under `v` (object fields and array items) with its path.
fn for_each_value(v: &Value, f: &mut impl FnMut(&[PathStep], &Value)) {
    fn walk(v: &Value, path: &mut Vec<PathStep>, f: &mut impl FnMut(&[PathStep], &Value)) {
        let children: Vec<(PathStep, &Value)> = match v {
            Value::Object(o) => o
                .iter()
                .map(|(k, c)| (PathStep::Key(k.clone()), c))
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, c)| (PathStep::Index(i), c))
                .collect(),
            _ => Vec::new(),
        };
        for (step, child) in children {
            path.push(step);
            f(path, child);
            walk(child, path, f);
            path.pop();
        }
    }
    walk(v, &mut Vec::new(), f);
}

/// The value at `path` under `root`, if there is one.
fn lookup<'a>(root: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    path.iter().try_fold(root, |at, step| match step {
        PathStep::Key(k) => at.get(k.as_str()),
        PathStep::Index(i) => at.get(*i),
    })
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// `root` with the value at `path` replaced, or removed when `new` is `None`.
fn replace(root: &Value, path: &[PathStep], new: Option<Value>) -> Value {
    let mut out = root.clone();
    let (last, parents) = path.split_last().unwrap();
    let mut at = &mut out;
    for step in parents {
        at = match step {
            PathStep::Key(k) => &mut at[k.as_str()],
            PathStep::Index(i) => &mut at[*i],
        };
    }
    match (last, new) {
        (PathStep::Key(k), Some(v)) => at[k.as_str()] = v,
        (PathStep::Key(k), None) => {
            at.as_object_mut().unwrap().remove(k);
        }
        (PathStep::Index(i), Some(v)) => at[*i] = v,
        (PathStep::Index(i), None) => {
            at.as_array_mut().unwrap().remove(*i);
        }
    }
    out
}

/// A value of another JSON type than `v`.
fn other_type(v: &Value) -> Value {
    match v {
        Value::String(_) => json!(1),
        Value::Number(_) => json!("1"),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) | Value::Null => json!("x"),
    }
}

/// `v` with every scalar (strings, numbers, booleans) mapped by `f`.
fn map_scalars(v: Value, f: &impl Fn(&Value) -> Value) -> Value {
    match v {
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, map_scalars(v, f))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| map_scalars(v, f)).collect()),
        Value::Null => Value::Null,
        scalar => f(&scalar),
    }
}
