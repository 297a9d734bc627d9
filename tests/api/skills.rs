//! The skills catalog end to end: upload → find → fetch returns the same bytes,
//! identical folders share one encrypted blob, private skills stay with their
//! platform (404, never 403), versions and reviews, agents' create/delete, and the
//! tools' visibility (`skills_enabled`, `/mcp` vs `/mcp/skills` vs agent paths).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use uuid::Uuid;
use zip::CompressionMethod;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};
use crate::mcp::McpSession;
use crate::skill_zips::{blob_files, count, enable_skills, skill_md, upload, zip, zip_with};

const TOOLS: [&str; 5] = [
    "find_skill",
    "fetch_skill",
    "create_skill",
    "delete_skill",
    "submit_skill_review",
];

/// A folder with text, nested and binary files (NUL bytes, invalid UTF-8).
pub fn pdf_folder() -> Vec<(String, Vec<u8>)> {
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    vec![
        (
            "SKILL.md".into(),
            skill_md(
                "pdf-form-filler",
                "Fill PDF forms and merge PDF documents.",
                "1.0.0",
                "# PDF form filler\n\nRun `python scripts/fill.py form.pdf data.json`.\n",
            ),
        ),
        (
            "scripts/fill.py".into(),
            b"import sys\nprint('filling', sys.argv[1])\n".to_vec(),
        ),
        ("assets/logo.png".into(), binary),
        (
            "docs/notes de vérification.md".into(),
            "Vérifier les champs: ✓\n".as_bytes().to_vec(),
        ),
    ]
}

fn entries(folder: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    folder
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect()
}

pub fn tool_result(reply: &Value) -> &Value {
    assert!(reply["error"].is_null(), "JSON-RPC error: {reply}");
    &reply["result"]
}

/// The files of a `fetch_skill` result, decoded from its embedded resources.
fn fetched_files(result: &Value, id: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for block in result["content"].as_array().unwrap() {
        if block["type"] != "resource" {
            continue;
        }
        let resource = &block["resource"];
        let uri = resource["uri"].as_str().unwrap();
        let path = uri
            .strip_prefix(&format!("skill://{id}/"))
            .unwrap_or_else(|| panic!("unexpected uri {uri}"));
        let path = percent_decode(path);
        let bytes = match (resource["text"].as_str(), resource["blob"].as_str()) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(blob)) => STANDARD.decode(blob).unwrap(),
            _ => panic!("resource neither text nor blob: {resource}"),
        };
        files.push((path, bytes));
    }
    files.sort();
    files
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn hit_ids(result: &Value) -> Vec<String> {
    result["structuredContent"]["skills"]
        .as_array()
        .unwrap_or_else(|| panic!("{result}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn round_trip_returns_identical_bytes(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let folder = pdf_folder();
    let uploaded = upload(
        &app,
        "/v1/skills",
        &app.platform_key,
        zip(&entries(&folder)),
    )
    .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let skill = uploaded.data().clone();
    assert_eq!(skill["change"], "created");
    assert_eq!(skill["name"], "pdf-form-filler");
    assert_eq!(skill["version"], "1.0.0");
    assert_eq!(skill["visibility"], "private");
    assert_eq!(skill["platform_id"], app.platform_id.to_string());
    assert_eq!(skill["file_count"], 4);
    assert_eq!(skill["reviews"]["count"], 0);
    let id = skill["id"].as_str().unwrap().to_owned();
    let sha = skill["sha256"].as_str().unwrap().to_owned();
    assert_eq!(blob_files(&app.data_dir), [sha.as_str()]);

    // The blob on disk is ciphertext: none of the files' text appears in it.
    let blob = std::fs::read(app.data_dir.join("blobs").join(&sha[..2]).join(&sha)).unwrap();
    assert!(!blob.windows(12).any(|w| w == b"PDF form fil"));
    assert!(!blob.windows(8).any(|w| w == b"sys.argv"));

    let shown = app
        .get(&format!("/v1/skills/{id}"), &app.platform_key)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.data()["sha256"], sha.as_str());
    let paths: Vec<&str> = shown.data()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "SKILL.md",
            "assets/logo.png",
            "docs/notes de vérification.md",
            "scripts/fill.py"
        ]
    );

    let (_, eu_key) = app.create_end_user("agent-user").await;
    let mut mcp = McpSession::open(&app, "/mcp/skills", &eu_key).await;
    let mut names = mcp.tool_names().await;
    names.sort();
    let mut expected = TOOLS.to_vec();
    expected.sort();
    assert_eq!(names, expected);

    let found = mcp
        .call("find_skill", json!({"query": "fill a PDF form"}))
        .await;
    let found = tool_result(&found);
    assert_eq!(found["isError"], false, "{found}");
    assert_eq!(hit_ids(found), [id.as_str()]);
    let hit = &found["structuredContent"]["skills"][0];
    assert_eq!(
        hit["description"],
        "Fill PDF forms and merge PDF documents."
    );
    assert!(hit["score"].as_f64().unwrap() > 0.0, "{hit}");
    assert!(found["content"][0]["text"].as_str().unwrap().contains(&id));

    let fetched = mcp.call("fetch_skill", json!({"id": id})).await;
    let fetched = tool_result(&fetched);
    assert_eq!(fetched["isError"], false, "{fetched}");
    let mut original = folder.clone();
    original.sort();
    assert_eq!(fetched_files(fetched, &id), original, "identical bytes");
    let listing = &fetched["structuredContent"]["files"];
    let logo = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "assets/logo.png")
        .unwrap();
    assert_eq!(logo["encoding"], "base64");
    let md = fetched["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["resource"]["uri"]
                .as_str()
                .is_some_and(|u| u.ends_with("/SKILL.md"))
        })
        .unwrap();
    assert_eq!(md["resource"]["mimeType"], "text/markdown");

    // No match is an empty answer, not an error.
    let nothing = mcp
        .call("find_skill", json!({"query": "kubernetes helm"}))
        .await;
    assert!(hit_ids(tool_result(&nothing)).is_empty());

    // The tool calls are usage-logged.
    let logged = TestApp::eventually(std::time::Duration::from_secs(5), || async {
        let logs = app
            .get(
                &format!("/v1/platforms/{}/logs?kind=tool_call", app.platform_id),
                &app.platform_key,
            )
            .await;
        logs.body["data"]
            .as_array()
            .is_some_and(|rows| rows.iter().any(|r| r["tool"] == "fetch_skill"))
    })
    .await;
    assert!(logged, "fetch_skill was not logged");
}

async fn identical_folders_share_one_blob(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, other_key) = app.create_platform("other").await;
    let folder = pdf_folder();
    let first = upload(
        &app,
        "/v1/skills",
        &app.platform_key,
        zip(&entries(&folder)),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);

    // The same files zipped differently: another order, stored not deflated, inside
    // a top-level folder, with archiver clutter.
    let mut reordered: Vec<(String, Vec<u8>)> = folder
        .iter()
        .rev()
        .map(|(p, c)| (format!("pdf-form-filler/{p}"), c.clone()))
        .collect();
    reordered.push((
        "__MACOSX/pdf-form-filler/._SKILL.md".into(),
        b"junk".to_vec(),
    ));
    reordered.push(("pdf-form-filler/.DS_Store".into(), b"junk".to_vec()));
    let second = upload(
        &app,
        "/v1/skills",
        &other_key,
        zip_with(&entries(&reordered), CompressionMethod::Stored),
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_ne!(first.data()["id"], second.data()["id"]);
    assert_eq!(first.data()["sha256"], second.data()["sha256"]);
    assert_eq!(second.data()["platform_id"], other.to_string());
    assert_eq!(blob_files(&app.data_dir).len(), 1, "one blob for both");
    assert_eq!(count(&app, "skill_blobs").await, 1);

    // The blob stays while a skill uses it, and goes with the last one.
    let first_id = first.data()["id"].as_str().unwrap();
    let second_id = second.data()["id"].as_str().unwrap();
    let deleted = app
        .delete(&format!("/v1/skills/{first_id}"), &app.platform_key)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(blob_files(&app.data_dir).len(), 1);
    app.delete(&format!("/v1/skills/{second_id}"), &other_key)
        .await;
    assert!(blob_files(&app.data_dir).is_empty(), "last reference gone");
    assert_eq!(count(&app, "skill_blobs").await, 0);
}

async fn private_skills_stay_with_their_platform(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, other_key) = app.create_platform("other").await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    enable_skills(&app, other, &other_key).await;
    let private = upload(
        &app,
        "/v1/skills",
        &app.platform_key,
        zip(&entries(&pdf_folder())),
    )
    .await;
    let private_id = private.data()["id"].as_str().unwrap().to_owned();
    let public_md = skill_md(
        "csv-cleaner",
        "Clean and dedupe CSV files.",
        "2",
        "Use pandas.",
    );
    let public = upload(
        &app,
        "/admin/v1/skills",
        ADMIN_TOKEN,
        zip(&[("SKILL.md", &public_md)]),
    )
    .await;
    assert_eq!(public.status, 201, "{}", public.body);
    assert_eq!(public.data()["visibility"], "public");
    let public_id = public.data()["id"].as_str().unwrap().to_owned();

    // REST: B sees the public skill, never A's private one (404, not 403).
    app.get(&format!("/v1/skills/{private_id}"), &other_key)
        .await
        .assert_error(404, "not_found");
    app.delete(&format!("/v1/skills/{private_id}"), &other_key)
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/skills/{private_id}/reviews"), &other_key)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        app.get(&format!("/v1/skills/{public_id}"), &other_key)
            .await
            .status,
        200
    );
    let listed = app.get("/v1/skills", &other_key).await;
    assert_eq!(listed.body["total"], 1, "{}", listed.body);
    assert_eq!(listed.body["data"][0]["id"], public_id.as_str());
    let mine = app
        .get("/v1/skills?visibility=private", &app.platform_key)
        .await;
    assert_eq!(mine.body["total"], 1);
    assert_eq!(mine.body["data"][0]["id"], private_id.as_str());
    app.get("/v1/skills?visibility=secret", &app.platform_key)
        .await
        .assert_error(400, "bad_request");
    // Public skills are the operator's: a platform cannot delete one (403, it is
    // no secret that it exists).
    app.delete(&format!("/v1/skills/{public_id}"), &app.platform_key)
        .await
        .assert_error(403, "forbidden");

    // MCP: B's agent neither finds nor fetches nor reviews nor deletes it.
    let (_, b_user) = app.create_end_user_on(other, &other_key, "b-user").await;
    let mut b = McpSession::open(&app, "/mcp/skills", &b_user).await;
    let found = b
        .call("find_skill", json!({"query": "pdf forms csv"}))
        .await;
    assert_eq!(hit_ids(tool_result(&found)), [public_id.as_str()]);
    for (tool, args) in [
        ("fetch_skill", json!({"id": private_id})),
        ("delete_skill", json!({"id": private_id})),
        (
            "submit_skill_review",
            json!({"id": private_id, "scores": {"correctness": 1, "clarity": 1, "safety": 1, "usefulness": 1}}),
        ),
        ("fetch_skill", json!({"id": Uuid::now_v7()})),
    ] {
        let reply = b.call(tool, args).await;
        let result = tool_result(&reply);
        assert_eq!(result["isError"], true, "{tool}: {result}");
        assert_eq!(
            result["structuredContent"]["code"], "not_found",
            "{tool}: {result}"
        );
    }
    let public_delete = b.call("delete_skill", json!({"id": public_id})).await;
    assert_eq!(
        tool_result(&public_delete)["structuredContent"]["code"],
        "forbidden"
    );
    // A's agent finds both.
    let (_, a_user) = app.create_end_user("a-user").await;
    let mut a = McpSession::open(&app, "/mcp", &a_user).await;
    let found = a
        .call("find_skill", json!({"query": "pdf forms csv"}))
        .await;
    let mut ids = hit_ids(tool_result(&found));
    ids.sort();
    let mut both = vec![private_id.clone(), public_id.clone()];
    both.sort();
    assert_eq!(ids, both);
    assert_eq!(count(&app, "skills").await, 2, "nothing was deleted");
}

async fn versions_and_reviews(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, other_key) = app.create_platform("other").await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    enable_skills(&app, other, &other_key).await;
    let v1 = zip(&[(
        "SKILL.md",
        &skill_md("greeter", "Greets people.", "1", "Say hi."),
    )]);
    let created = upload(&app, "/admin/v1/skills", ADMIN_TOKEN, v1.clone()).await;
    let id = created.data()["id"].as_str().unwrap().to_owned();

    // The same folder again: unchanged. Other content under the same version: 409.
    let again = upload(&app, "/admin/v1/skills", ADMIN_TOKEN, v1).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.data()["change"], "unchanged");
    let clash = zip(&[(
        "SKILL.md",
        &skill_md("greeter", "Greets people.", "1", "Say hello."),
    )]);
    upload(&app, "/admin/v1/skills", ADMIN_TOKEN, clash)
        .await
        .assert_error(409, "conflict");

    // Reviews: one per end user per version; scorecards average them.
    let review = |scores: [i64; 4]| json!({"id": id, "scores": {"correctness": scores[0], "clarity": scores[1], "safety": scores[2], "usefulness": scores[3]}, "comment": "ok"});
    let (_, u1) = app.create_end_user("u1").await;
    let (_, u2) = app.create_end_user("u2").await;
    let (_, b1) = app.create_end_user_on(other, &other_key, "b1").await;
    let mut s1 = McpSession::open(&app, "/mcp/skills", &u1).await;
    let first = s1.call("submit_skill_review", review([5, 4, 5, 2])).await;
    let first = tool_result(&first);
    assert_eq!(first["isError"], false, "{first}");
    assert_eq!(first["structuredContent"]["skill_reviews"]["count"], 1);
    let twice = s1.call("submit_skill_review", review([1, 1, 1, 1])).await;
    assert_eq!(tool_result(&twice)["structuredContent"]["code"], "conflict");
    let bad = s1.call("submit_skill_review", review([6, 1, 1, 1])).await;
    assert_eq!(
        tool_result(&bad)["structuredContent"]["code"],
        "invalid_arguments"
    );
    McpSession::open(&app, "/mcp/skills", &u2)
        .await
        .call("submit_skill_review", review([3, 4, 3, 4]))
        .await;
    McpSession::open(&app, "/mcp/skills", &b1)
        .await
        .call("submit_skill_review", review([4, 4, 4, 4]))
        .await;

    let found = s1.call("find_skill", json!({"query": "greets"})).await;
    let card = &tool_result(&found)["structuredContent"]["skills"][0]["reviews"];
    assert_eq!(card["count"], 3, "{card}");
    assert_eq!(card["correctness"], 4.0);
    assert_eq!(card["usefulness"], 3.33);
    assert_eq!(card["overall"], 3.83);

    // The platform reads its own end users' reviews; the other platform's stay out.
    let mine = app
        .get(&format!("/v1/skills/{id}/reviews"), &app.platform_key)
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["total"], 2);
    assert_eq!(mine.body["scorecard"]["count"], 3);
    assert!(
        mine.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["platform_id"] == app.platform_id.to_string())
    );
    let all = app
        .get(&format!("/admin/v1/skills/{id}/reviews"), ADMIN_TOKEN)
        .await;
    assert_eq!(all.body["total"], 3);

    // A new version keeps the id, starts a fresh scorecard, and may be reviewed again.
    let v2 = zip(&[(
        "SKILL.md",
        &skill_md("greeter", "Greets people warmly.", "2", "Say hi!"),
    )]);
    let bumped = upload(&app, "/admin/v1/skills", ADMIN_TOKEN, v2).await;
    assert_eq!(bumped.status, 200, "{}", bumped.body);
    assert_eq!(bumped.data()["change"], "new_version");
    assert_eq!(bumped.data()["id"], id.as_str());
    assert_eq!(bumped.data()["version"], "2");
    assert_eq!(bumped.data()["reviews"]["count"], 0);
    assert_eq!(blob_files(&app.data_dir).len(), 1, "version 1's blob went");
    let again = s1.call("submit_skill_review", review([5, 5, 5, 5])).await;
    assert_eq!(tool_result(&again)["isError"], false);
}

async fn agents_create_and_delete_private_skills(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let (user_id, key) = app.create_end_user("maker").await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let png = [0x89u8, b'P', b'N', b'G', 0, 0, 0xff, 0xfe];
    let created = mcp
        .call(
            "create_skill",
            json!({
                "name": "weekly-report",
                "description": "Write the weekly status report.",
                "instructions": "Collect the week's merged PRs, then summarise.",
                "files": [
                    {"path": "template.md", "content": "# Week {{n}}\n"},
                    {"path": "img/chart.png", "content": STANDARD.encode(png), "encoding": "base64"}
                ]
            }),
        )
        .await;
    let created = tool_result(&created);
    assert_eq!(created["isError"], false, "{created}");
    let skill = &created["structuredContent"]["skill"];
    assert_eq!(created["structuredContent"]["change"], "created");
    assert_eq!(skill["visibility"], "private");
    assert_eq!(skill["source"], "agent");
    assert_eq!(skill["created_by_end_user_id"], user_id.to_string());
    assert_eq!(skill["version"], "1.0.0");
    let id = skill["id"].as_str().unwrap().to_owned();

    let fetched = mcp.call("fetch_skill", json!({"id": id})).await;
    let files = fetched_files(tool_result(&fetched), &id);
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["SKILL.md", "img/chart.png", "template.md"]);
    assert_eq!(files[1].1, png);
    let md = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(md.starts_with("---\nname: \"weekly-report\""), "{md}");
    assert!(md.contains("Collect the week's merged PRs"), "{md}");
    let found = mcp
        .call("find_skill", json!({"query": "weekly status"}))
        .await;
    assert_eq!(hit_ids(tool_result(&found)), [id.as_str()]);

    // Bad arguments are tool errors naming the problem, and change nothing.
    for (args, expected) in [
        (
            json!({"name": "Bad Name", "description": "x", "files": []}),
            "input schema",
        ),
        (
            json!({"name": "x", "description": "x", "files": [{"path": "../up.sh", "content": "x"}]}),
            "path traversal",
        ),
        (
            json!({"name": "x", "description": "x", "files": [{"path": "a", "content": "%%", "encoding": "base64"}]}),
            "base64",
        ),
    ] {
        let reply = mcp.call("create_skill", args).await;
        let result = tool_result(&reply);
        assert_eq!(
            result["structuredContent"]["code"], "invalid_arguments",
            "{result}"
        );
        assert!(
            result.to_string().contains(expected),
            "{expected}: {result}"
        );
    }
    assert_eq!(count(&app, "skills").await, 1);

    // An agent cannot take over a skill the platform uploaded.
    let uploaded = upload(
        &app,
        "/v1/skills",
        &app.platform_key,
        zip(&[(
            "SKILL.md",
            &skill_md("house-style", "The house style.", "1", "Be brief."),
        )]),
    )
    .await;
    let house_id = uploaded.data()["id"].as_str().unwrap().to_owned();
    let takeover = mcp
        .call(
            "create_skill",
            json!({"name": "house-style", "description": "Mine now.", "version": "9", "files": []}),
        )
        .await;
    assert_eq!(
        tool_result(&takeover)["structuredContent"]["code"],
        "conflict"
    );

    // delete_skill removes the platform's private skills, and their blobs.
    let deleted = mcp.call("delete_skill", json!({"id": id})).await;
    assert_eq!(tool_result(&deleted)["structuredContent"]["deleted"], true);
    let gone = mcp.call("fetch_skill", json!({"id": id})).await;
    assert_eq!(tool_result(&gone)["structuredContent"]["code"], "not_found");
    let remaining = app
        .get(&format!("/v1/skills/{house_id}"), &app.platform_key)
        .await;
    assert_eq!(remaining.status, 200);
    assert_eq!(blob_files(&app.data_dir).len(), 1);
}

async fn skills_tools_follow_skills_enabled_and_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.create_end_user("user").await;
    let mut all = McpSession::open(&app, "/mcp", &key).await;
    let mut skills = McpSession::open(&app, "/mcp/skills", &key).await;
    assert!(
        all.tool_names().await.is_empty(),
        "skills are off by default"
    );
    assert!(skills.tool_names().await.is_empty());
    let refused = skills.call("find_skill", json!({"query": "x"})).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");

    enable_skills(&app, app.platform_id, &app.platform_key).await;
    for session in [&mut all, &mut skills] {
        let names = session.tool_names().await;
        for tool in TOOLS {
            assert!(names.iter().any(|n| n == tool), "{tool} missing: {names:?}");
        }
    }
    let listed = skills.request("tools/list", json!({})).await;
    let fetch = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "fetch_skill")
        .unwrap();
    assert_eq!(fetch["annotations"]["readOnlyHint"], true);
    assert_eq!(fetch["inputSchema"]["required"], json!(["id"]));

    // Never on an agent's path or the capabilities path.
    let agent = app
        .post(
            &format!("/v1/platforms/{}/agents", app.platform_id),
            &app.platform_key,
            &json!({"name": "Everything", "allowed_apps": ["github"]}),
        )
        .await;
    let path = agent.data()["mcp_path"].as_str().unwrap().to_owned();
    for path in [path.as_str(), "/mcp/capabilities"] {
        let mut session = McpSession::open(&app, path, &key).await;
        let names = session.tool_names().await;
        assert!(
            !names.iter().any(|n| TOOLS.contains(&n.as_str())),
            "{path}: {names:?}"
        );
    }

    // Turned off again: gone.
    let off = app
        .patch(
            &format!("/v1/platforms/{}", app.platform_id),
            &app.platform_key,
            &json!({"skills_enabled": false}),
        )
        .await;
    assert_eq!(off.status, 200);
    assert!(all.tool_names().await.is_empty());
}

/// Search ranks inside the engine over a window wider than the answer, then drops
/// what the caller may not see: another platform's many strong private matches
/// must not crowd out a weaker public one.
async fn private_matches_never_crowd_out_visible_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, other_key) = app.create_platform("other").await;
    enable_skills(&app, other, &other_key).await;
    for i in 0..45 {
        let md = skill_md(&format!("zebra-{i}"), "Zebra zebra stripes.", "1", "Zebra.");
        let reply = upload(
            &app,
            "/v1/skills",
            &app.platform_key,
            zip(&[("SKILL.md", &md)]),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let md = skill_md("field-notes", "Notes from the field.", "1", "Saw a zebra.");
    let public = upload(
        &app,
        "/admin/v1/skills",
        ADMIN_TOKEN,
        zip(&[("SKILL.md", &md)]),
    )
    .await;
    assert_eq!(public.status, 201, "{}", public.body);
    let public_id = public.data()["id"].as_str().unwrap().to_owned();

    let (_, b_user) = app.create_end_user_on(other, &other_key, "b-user").await;
    let mut b = McpSession::open(&app, "/mcp/skills", &b_user).await;
    let found = b
        .call("find_skill", json!({"query": "zebra", "limit": 3}))
        .await;
    assert_eq!(hit_ids(tool_result(&found)), [public_id.as_str()]);
}

both_backends!(
    round_trip_returns_identical_bytes,
    identical_folders_share_one_blob,
    private_skills_stay_with_their_platform,
    private_matches_never_crowd_out_visible_ones,
    versions_and_reviews,
    agents_create_and_delete_private_skills,
    skills_tools_follow_skills_enabled_and_scope,
);
