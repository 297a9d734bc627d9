//! The skills catalog as the MCP Skills extension (`io.modelcontextprotocol/skills`):
//! declared where served, `skills/list` and `skills/get` entries whose digests and
//! sizes are the uploaded files', `resources/read` answering those very bytes,
//! directory reads, and the tools' visibility (public + the platform's private,
//! never another platform's; nothing without `skills_enabled` or off the skills
//! paths). Raw JSON-RPC on the stateless `2026-07-28` revision and in a
//! `2025-06-18` session, then the official conformance suite's SEP-2640 scenarios.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};
use crate::mcp::McpSession;
use crate::skill_zips::{enable_skills, skill_md, upload, zip};
use crate::skills::pdf_folder;

const EXTENSION: &str = "io.modelcontextprotocol/skills";

/// One stateless (`2026-07-28`) JSON-RPC request on `path`: the answer.
async fn rpc(app: &TestApp, path: &str, key: &str, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "skills-test", "version": "1"},
    });
    let mut request = app
        .request(Method::POST, path, Some(key))
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", method);
    if let Some(uri) = params.get("uri").and_then(Value::as_str) {
        request = request.header("Mcp-Name", uri);
    }
    let body = request
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap_or_else(|_| {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m["id"] == 1)
            .unwrap_or_else(|| panic!("no answer to {method} in {body}"))
    })
}

/// `method` (`skills/get`, `resources/read`, `resources/directory/read`) on one URI.
async fn at(app: &TestApp, key: &str, method: &str, uri: &str) -> Value {
    rpc(app, "/mcp", key, method, json!({"uri": uri})).await
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The bytes a `resources/read` answered: its text, or its base64 blob.
fn read_bytes(read: &Value) -> Vec<u8> {
    let contents = &read["result"]["contents"];
    assert_eq!(contents.as_array().map(Vec::len), Some(1), "{read}");
    match (contents[0]["text"].as_str(), contents[0]["blob"].as_str()) {
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, Some(blob)) => STANDARD.decode(blob).unwrap(),
        _ => panic!("neither text nor blob: {read}"),
    }
}

fn skill_of<'a>(listed: &'a Value, name: &str) -> &'a Value {
    listed["result"]["skills"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .find(|s| s["frontmatter"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {listed}"))
}

fn names(listed: &Value) -> Vec<&str> {
    listed["result"]["skills"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|s| s["frontmatter"]["name"].as_str().unwrap())
        .collect()
}

/// Platform A (skills on) with a private skill and a public one; platform B
/// (skills off) with its own private skill. Answers A's end-user key, B's
/// skill id and A's folder by path.
struct Catalog {
    key_a: String,
    key_b: String,
    private_id: String,
    other_platform_id: String,
    folder: BTreeMap<String, Vec<u8>>,
}

async fn catalog(app: &TestApp) -> Catalog {
    enable_skills(app, app.platform_id, &app.platform_key).await;
    let folder: BTreeMap<String, Vec<u8>> = pdf_folder().into_iter().collect();
    let entries: Vec<(&str, &[u8])> = folder
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let private = upload(app, "/v1/skills", &app.platform_key, zip(&entries)).await;
    assert_eq!(private.status, 201, "{}", private.body);
    let public_md = skill_md("meeting-notes", "Summarise a meeting.", "2", "# Notes\n");
    let public = upload(
        app,
        "/admin/v1/skills",
        ADMIN_TOKEN,
        zip(&[
            ("SKILL.md", &public_md),
            ("templates/agenda.md", b"# Agenda\n"),
        ]),
    )
    .await;
    assert_eq!(public.status, 201, "{}", public.body);

    let (platform_b, key_platform_b) = app.create_platform("platform-b").await;
    let secret_md = skill_md("secret-notes", "Only platform B's.", "1", "# Secret\n");
    let other = upload(
        app,
        "/v1/skills",
        &key_platform_b,
        zip(&[("SKILL.md", &secret_md)]),
    )
    .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let (_, key_a) = app.create_end_user("skills-reader").await;
    let (_, key_b) = app
        .create_end_user_on(platform_b, &key_platform_b, "b-reader")
        .await;
    Catalog {
        key_a,
        key_b,
        private_id: private.data()["id"].as_str().unwrap().to_owned(),
        other_platform_id: other.data()["id"].as_str().unwrap().to_owned(),
        folder,
    }
}

async fn the_extension_serves_the_stored_folder(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = catalog(&app).await;

    // Declared (with directory reads, beside resources) where it is served.
    let discovered = rpc(&app, "/mcp", &c.key_a, "server/discover", json!({})).await;
    let capabilities = &discovered["result"]["capabilities"];
    assert_eq!(
        capabilities["extensions"][EXTENSION],
        json!({"directoryRead": true}),
        "{discovered}"
    );
    assert!(capabilities["resources"].is_object(), "{discovered}");

    let listed = rpc(&app, "/mcp/skills", &c.key_a, "skills/list", json!({})).await;
    assert_eq!(
        names(&listed),
        ["meeting-notes", "pdf-form-filler"],
        "public + own private, by name: {listed}"
    );
    assert_eq!(listed["result"]["cacheScope"], "private", "{listed}");
    assert!(listed["result"]["ttlMs"].as_u64().is_some(), "{listed}");
    assert!(listed["result"].get("nextCursor").is_none(), "{listed}");

    let skill = skill_of(&listed, "pdf-form-filler");
    let root = format!("skill://{}/pdf-form-filler", c.private_id);
    assert_eq!(skill["uri"], format!("{root}/SKILL.md"), "{skill}");
    assert_eq!(
        skill["frontmatter"],
        json!({"name": "pdf-form-filler",
               "description": "Fill PDF forms and merge PDF documents.",
               "version": "1.0.0"}),
        "the front matter as written"
    );
    // The manifest is complete: every stored file once, with its digest and size.
    let files = skill["resources"].as_array().unwrap();
    assert_eq!(files.len(), c.folder.len(), "{skill}");
    for file in files {
        let uri = file["uri"].as_str().unwrap();
        let read = at(&app, &c.key_a, "resources/read", uri).await;
        let bytes = read_bytes(&read);
        let path = c
            .folder
            .iter()
            .find(|(_, content)| **content == bytes)
            .map(|(path, _)| path)
            .unwrap_or_else(|| panic!("{uri} answered bytes of no uploaded file"));
        assert_eq!(file["digest"], digest(&c.folder[path]), "{path}");
        assert_eq!(file["size"], c.folder[path].len(), "{path}");
        assert_eq!(read["result"]["contents"][0]["uri"], uri, "{read}");
    }
    let logo = at(
        &app,
        &c.key_a,
        "resources/read",
        &format!("{root}/assets/logo.png"),
    )
    .await;
    assert_eq!(read_bytes(&logo), c.folder["assets/logo.png"]);
    assert_eq!(logo["result"]["contents"][0]["mimeType"], "image/png");
    let accented = format!("{root}/docs/notes%20de%20v%C3%A9rification.md");
    let notes = at(&app, &c.key_a, "resources/read", &accented).await;
    assert_eq!(
        read_bytes(&notes),
        c.folder["docs/notes de vérification.md"]
    );

    // skills/get answers the listed entry.
    let got = at(&app, &c.key_a, "skills/get", skill["uri"].as_str().unwrap()).await;
    assert_eq!(&got["result"]["skill"], skill, "{got}");
    assert_eq!(got["result"]["cacheScope"], "private", "{got}");

    // Directory reads: the root's children, then a subdirectory's.
    let dir = at(&app, &c.key_a, "resources/directory/read", &root).await;
    let children: Vec<(&str, &str)> = dir["result"]["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{dir}"))
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["mimeType"].as_str().unwrap()))
        .collect();
    assert_eq!(
        children,
        [
            ("SKILL.md", "text/markdown"),
            ("assets", "inode/directory"),
            ("docs", "inode/directory"),
            ("scripts", "inode/directory")
        ],
        "{dir}"
    );
    let docs = at(
        &app,
        &c.key_a,
        "resources/directory/read",
        &format!("{root}/docs"),
    )
    .await;
    assert_eq!(docs["result"]["resources"][0]["uri"], accented, "{docs}");
    let not_a_dir = at(
        &app,
        &c.key_a,
        "resources/directory/read",
        &format!("{root}/SKILL.md"),
    )
    .await;
    assert_eq!(not_a_dir["error"]["code"], -32602, "{not_a_dir}");

    // resources/list names each visible skill's SKILL.md.
    let resources = rpc(&app, "/mcp", &c.key_a, "resources/list", json!({})).await;
    let uris: Vec<&str> = resources["result"]["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{resources}"))
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris.len(), 2, "{resources}");
    assert!(uris.contains(&format!("{root}/SKILL.md").as_str()));

    // Another platform's private skill is exactly as absent as a made-up one.
    let foreign = format!("skill://{}/secret-notes", c.other_platform_id);
    let made_up = format!("skill://{}/secret-notes", uuid::Uuid::now_v7());
    for root in [&foreign, &made_up] {
        let md = format!("{root}/SKILL.md");
        let got = at(&app, &c.key_a, "skills/get", &md).await;
        assert_eq!(got["error"]["code"], -32602, "{got}");
        let read = at(&app, &c.key_a, "resources/read", &md).await;
        assert_eq!(read["error"]["code"], -32602, "{read}");
        assert_eq!(read["error"]["data"]["uri"], md, "{read}");
        let dir = at(&app, &c.key_a, "resources/directory/read", root).await;
        assert_eq!(dir["error"]["code"], -32602, "{dir}");
    }
    // A name that is not the skill's, a path outside it: nothing.
    let renamed = format!("skill://{}/other-name/SKILL.md", c.private_id);
    let escaped = format!("{root}/../other/SKILL.md");
    for uri in [renamed, escaped] {
        let read = at(&app, &c.key_a, "resources/read", &uri).await;
        assert_eq!(read["error"]["code"], -32602, "{read}");
    }
    let bad_cursor = rpc(
        &app,
        "/mcp",
        &c.key_a,
        "skills/list",
        json!({"cursor": "x"}),
    )
    .await;
    assert_eq!(bad_cursor["error"]["code"], -32602, "{bad_cursor}");

    // Off the skills paths, or on a platform without skills: not declared, not served.
    for (path, key) in [("/mcp/capabilities", &c.key_a), ("/mcp", &c.key_b)] {
        let discovered = rpc(&app, path, key, "server/discover", json!({})).await;
        assert!(
            discovered["result"]["capabilities"]
                .get("extensions")
                .is_none(),
            "{path}: {discovered}"
        );
        let listed = rpc(&app, path, key, "skills/list", json!({})).await;
        assert_eq!(listed["error"]["code"], -32601, "{path}: {listed}");
        let resources = rpc(&app, path, key, "resources/list", json!({})).await;
        assert_eq!(resources["result"]["resources"], json!([]), "{path}");
    }

    // A 2025-06-18 session sees the same extension from its initialize on.
    let mut session = McpSession::open(&app, "/mcp/skills", &c.key_a).await;
    let listed_in_session = session.request("skills/list", json!({})).await;
    assert_eq!(
        names(&listed_in_session),
        ["meeting-notes", "pdf-form-filler"]
    );
    assert_eq!(
        skill_of(&listed_in_session, "pdf-form-filler")["resources"],
        skill["resources"]
    );
    app.stop().await;
}

/// The official conformance suite's SEP-2640 scenarios (extension scenarios: run
/// by name, scored by no revision) pass against a platform serving skills.
async fn the_conformance_suites_skills_scenarios_pass(backend: Backend) {
    let peers = crate::mcp_clients::peers();
    let app = spawn_app(backend).await;
    let c = catalog(&app).await;
    let (mut proxy, url) =
        crate::mcp_clients::start_auth_proxy(&peers, &app.address, &c.key_a, "/mcp/skills").await;
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut logs = String::new();
    for scenario in [
        "sep-2640-skills-enumeration",
        "sep-2640-skills-manifest",
        "sep-2640-skills-directory",
    ] {
        let run = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            tokio::process::Command::new(&peers.node22)
                .arg(
                    peers
                        .dir
                        .join("node_modules/@modelcontextprotocol/conformance/dist/index.js"),
                )
                .args(["server", "--url", &url, "--scenario", scenario])
                .arg("--output-dir")
                .arg(out.path())
                .current_dir(&peers.dir)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{scenario} did not finish within 60 s"))
        .expect("run the conformance suite");
        logs.push_str(&String::from_utf8_lossy(&run.stdout));
    }
    eprintln!("SEP-2640 scenarios: {:?}", started.elapsed());
    drop(proxy.stdin.take());
    let _ = proxy.kill().await;

    let results = crate::mcp_clients::conformance_results(out.path());
    assert_eq!(results.len(), 3, "{logs}");
    let mut passed = 0;
    for (scenario, checks) in &results {
        for check in checks {
            assert!(
                matches!(check.status.as_str(), "SUCCESS" | "INFO"),
                "{scenario}:{} {}: {}\n{logs}",
                check.id,
                check.status,
                check.message
            );
            passed += 1;
        }
    }
    // Every check ran (none skipped for want of a skill, a file or a directory).
    assert!(passed >= 30, "{passed} checks\n{logs}");
    app.stop().await;
}

both_backends!(
    the_extension_serves_the_stored_folder,
    the_conformance_suites_skills_scenarios_pass
);
