//! The contract: `/openapi.json` (OpenAPI 3.1, generated from the handlers and
//! their types) lists every route of the route table with its audience's
//! security scheme; `/docs` renders it with assets the binary serves itself; and
//! schemathesis (pinned in tests/peers) fuzzes every documented operation with a
//! real key of each kind, checking that no answer is a 5xx and that every
//! answer's status, content type and body are the documented ones.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assistiv::http::routes::{Audience, table};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};
use crate::inference_sdks::python;
use crate::mcp_clients::repo_path;

/// The route's path as OpenAPI spells it (`{*model}` is `{model}`).
fn documented_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The security schemes an audience's operations must name.
fn schemes(audience: Audience) -> BTreeSet<&'static str> {
    match audience {
        Audience::Public => BTreeSet::new(),
        Audience::Operator => BTreeSet::from(["admin_token"]),
        Audience::Platform => BTreeSet::from(["platform_key"]),
        Audience::EndUser => BTreeSet::from(["end_user_key"]),
        Audience::AnyKey => BTreeSet::from(["platform_key", "end_user_key"]),
    }
}

fn named_schemes(operation: &Value) -> BTreeSet<String> {
    operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().cloned())
        .collect()
}

async fn every_route_is_in_the_document(backend: Backend) {
    let app = spawn_app(backend).await;
    let served = app
        .send(app.request(reqwest::Method::GET, "/openapi.json", None))
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.headers["content-type"], "application/json",
        "the document is JSON"
    );
    let doc = served.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc,
        assistiv::openapi::document(),
        "the served document is the generated one"
    );
    let schemes_defined: BTreeSet<&str> = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        schemes_defined,
        BTreeSet::from(["admin_token", "end_user_key", "platform_key"])
    );

    let routes = table(&app.state);
    let mut missing = Vec::new();
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    for route in &routes {
        let path = documented_path(route.path);
        let method = route.method.as_str().to_lowercase();
        listed.insert((path.clone(), method.clone()));
        let operation = &doc["paths"][&path][&method];
        if operation.is_null() {
            missing.push(format!("{} {}", route.method, route.path));
            continue;
        }
        let named = named_schemes(operation);
        let wanted: BTreeSet<String> = schemes(route.audience)
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            named, wanted,
            "{} {}: security of a {:?} route",
            route.method, route.path, route.audience
        );
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status.starts_with('3')),
            "{} {} documents no success",
            route.method,
            route.path
        );
        if !named.is_empty() {
            assert!(
                responses.contains_key("401") && responses.contains_key("403"),
                "{} {} takes a key but documents no 401/403",
                route.method,
                route.path
            );
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    !response["content"].is_null(),
                    "{} {}: {status} documents no body",
                    route.method,
                    route.path
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes served but not in /openapi.json: {missing:#?}"
    );
    // And nothing documented that is not served.
    let extra: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| matches!(key.as_str(), "get" | "post" | "put" | "patch" | "delete"))
                .map(move |method| (path.clone(), method.clone()))
        })
        .filter(|operation| !listed.contains(operation))
        .map(|(path, method)| format!("{method} {path}"))
        .collect();
    assert!(extra.is_empty(), "documented but not served: {extra:#?}");
    app.stop().await;
}

async fn the_reference_page_needs_no_network(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "the page names no other host: {html}"
    );
    assert!(html.contains("spec-url=\"/openapi.json\""), "{html}");
    let scripts: Vec<&str> = html
        .split("<script src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(!scripts.is_empty(), "the page loads its renderer: {html}");
    for script in scripts {
        assert!(script.starts_with('/'), "served here: {script}");
        let asset = app.client.get(app.url(script)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{script}");
        assert!(
            asset.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(
            asset.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "a versioned asset is cached for good"
        );
        let body = asset.bytes().await.unwrap();
        assert!(body.len() > 100_000, "{script} is the bundle itself");
    }
    app.stop().await;
}

both_backends!(
    every_route_is_in_the_document,
    the_reference_page_needs_no_network
);

/// One schemathesis run: the operations whose paths match `paths`, with `key`.
struct Run<'a> {
    label: &'a str,
    key: Option<&'a str>,
    paths: &'a BTreeSet<String>,
}

/// What each budget allows: a few examples per operation, every phase but the
/// stateful one (the document declares no links).
const MAX_EXAMPLES: &str = "8";
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// `^(a|b|...)$` over the paths, regex metacharacters escaped.
fn path_regex(paths: &BTreeSet<String>) -> String {
    let escaped: Vec<String> = paths
        .iter()
        .map(|path| {
            path.chars()
                .flat_map(|c| {
                    let special = "\\.+*?()|[]{}^$".contains(c);
                    special.then_some('\\').into_iter().chain([c])
                })
                .collect()
        })
        .collect();
    format!("^({})$", escaped.join("|"))
}

/// Runs schemathesis in `work` (where it keeps its caches), with `config`.
async fn schemathesis(app: &TestApp, work: &std::path::Path, run: &Run<'_>) -> String {
    let program = python().with_file_name("schemathesis");
    assert!(
        program.exists(),
        "{} is missing: run ./scripts/test to install the peers (tests/peers/requirements.txt)",
        program.display()
    );
    let mut command = Command::new(&program);
    command
        .arg("--config-file")
        .arg(work.join("schemathesis.toml"))
        .arg("run")
        .arg(app.url("/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "20",
            // One worker: concurrent workers crash hypothesis's reflection of
            // its own lambdas on CPython 3.11 ("AST constructor recursion depth").
            "--workers",
            "1",
            "--max-redirects",
            "0",
            "--request-timeout",
            "10",
            "--suppress-health-check",
            "all",
            "--include-path-regex",
        ])
        .arg(path_regex(run.paths))
        // Serializes the skill zips (`application/zip`) schemathesis generates.
        .env(
            "SCHEMATHESIS_HOOKS",
            repo_path("tests/peers/schemathesis_hooks.py"),
        )
        .current_dir(work)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(key) = run.key {
        command.args(["-H", &format!("Authorization: Bearer {key}")]);
    }
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ({}) timed out", run.label))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis with the {} found contract violations:\n{stdout}\n{stderr}",
        run.label
    );
    stdout
}

/// schemathesis against a throwaway SQLite instance: the operator's token, a
/// platform key and an end-user key, each over the operations of its audience,
/// and no key over the public ones. Path ids point at real rows (the platform,
/// an end user) so requests reach the handlers, not only the 404s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_contract_violation() {
    let app = spawn_app(Backend::Sqlite).await;
    let pid = app.platform_id;
    let (target, _) = app.create_end_user("schemathesis-target").await;
    let reply = app
        .post(
            &format!("/v1/platforms/{pid}/end-users"),
            &app.platform_key,
            &json!({"external_id": "schemathesis-caller",
                    "budget": {"max_usd": 5, "period": "monthly"}}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    let end_user_key = reply.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[parameters]\n\"path.pid\" = \"{pid}\"\n\"path.euid\" = \"{target}\"\n\
             \"path.app\" = \"github\"\n"
        ),
    )
    .unwrap();

    let doc = assistiv::openapi::document();
    let mut by_scheme: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            let named = named_schemes(operation);
            if named.is_empty() {
                by_scheme
                    .entry("public".into())
                    .or_default()
                    .insert(path.clone());
            }
            for scheme in named {
                by_scheme.entry(scheme).or_default().insert(path.clone());
            }
        }
    }
    let started = Instant::now();
    let platform_key = app.platform_key.clone();
    // The end user first: the platform key's run may set rate limits and budgets
    // that would leave the end user's run with nothing but 429s and 402s.
    let runs = [
        Run {
            label: "end-user key",
            key: Some(&end_user_key),
            paths: &by_scheme["end_user_key"],
        },
        Run {
            label: "no key",
            key: None,
            paths: &by_scheme["public"],
        },
        Run {
            label: "operator token",
            key: Some(ADMIN_TOKEN),
            paths: &by_scheme["admin_token"],
        },
        Run {
            label: "platform key",
            key: Some(&platform_key),
            paths: &by_scheme["platform_key"],
        },
    ];
    for run in &runs {
        let began = Instant::now();
        let stdout = schemathesis(&app, dir.path(), run).await;
        let summary: Vec<&str> = stdout
            .lines()
            .filter(|line| line.contains("passed") || line.contains("Test cases"))
            .collect();
        eprintln!(
            "schemathesis ({}, {} paths) in {:?}: {}",
            run.label,
            run.paths.len(),
            began.elapsed(),
            summary.join(" | ")
        );
    }
    eprintln!("schemathesis: all runs in {:?}", started.elapsed());
    // The gateway is still whole: it answers, and the platform key still works.
    assert_eq!(app.get("/v1/me", &platform_key).await.status, 200);
    app.stop().await;
}
