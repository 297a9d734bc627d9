//! The official Python MCP SDK as an agent would use the skills tools:
//! find_skill → fetch_skill → submit_skill_review (tests/peers/python_skills_client.py),
//! on `/mcp/skills`, in the SDK's default (stateless) mode and in a legacy session.
//! The fetched files must be the uploaded bytes exactly.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};
use crate::mcp_clients::{repo_path, run_peer};
use crate::skill_zips::{enable_skills, upload, zip};
use crate::skills::pdf_folder;

async fn python_sdk_finds_fetches_and_reviews(backend: Backend) {
    let python = repo_path(
        &std::env::var("ASSISTIV_TEST_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into()),
    );
    assert!(
        python.exists(),
        "{} is missing: install the Python MCP SDK (./scripts/test does it into .venv, \
         or set ASSISTIV_TEST_PYTHON)",
        python.display()
    );
    let script = repo_path("tests/peers/python_skills_client.py");
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let folder = pdf_folder();
    let entries: Vec<(&str, &[u8])> = folder
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let uploaded = upload(&app, "/v1/skills", &app.platform_key, zip(&entries)).await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let id = uploaded.data()["id"].as_str().unwrap().to_owned();

    let url = app.url("/mcp/skills");
    for (mode, user) in [("auto", "python-auto"), ("legacy", "python-legacy")] {
        let (_, key) = app.create_end_user(user).await;
        let args = [
            script.to_str().unwrap(),
            url.as_str(),
            "--query",
            "fill PDF forms",
            "--mode",
            mode,
        ];
        let report = run_peer(
            &python,
            &args,
            &key,
            &format!("python skills client ({mode})"),
        )
        .await;

        let tools: Vec<&str> = report["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            tools,
            [
                "create_skill",
                "delete_skill",
                "fetch_skill",
                "find_skill",
                "submit_skill_review"
            ],
            "{report}"
        );
        assert_eq!(report["hits"][0]["id"], id.as_str(), "{report}");
        assert_eq!(report["fetched"]["structured"]["id"], id.as_str());

        let files = report["fetched"]["files"].as_object().unwrap();
        assert_eq!(files.len(), folder.len(), "{report}");
        for (path, content) in &folder {
            let got = &files[path.as_str()];
            assert_eq!(
                STANDARD.decode(got["base64"].as_str().unwrap()).unwrap(),
                *content,
                "{path} differs"
            );
        }
        assert_eq!(files["assets/logo.png"]["kind"], "blob");
        assert_eq!(files["scripts/fill.py"]["kind"], "text");

        assert_eq!(report["review"]["review"]["correctness"], 5, "{report}");
        assert_eq!(report["review"]["review"]["skill_version"], "1.0.0");
        let after = &report["after_review"][0]["reviews"];
        let expected = if mode == "auto" { 1 } else { 2 };
        assert_eq!(after["count"], expected, "{report}");
        assert_eq!(after["clarity"], 4.0, "{report}");
    }
}

both_backends!(python_sdk_finds_fetches_and_reviews);
