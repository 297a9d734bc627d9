//! The official OpenAI SDKs, unmodified (Python `openai` and TypeScript `openai`,
//! pinned in tests/peers), against the gateway in front of the mock and the
//! OpenAI, Anthropic and Gemini stand-ins: models.list, chat.completions.create
//! (plain, streamed, tools round trip), chat.completions.parse (Pydantic / Zod),
//! and their typed errors for 401, 402, 403, 404 and 429 carrying our codes.
//! The peers are installed by scripts/test (`ASSISTIV_TEST_PYTHON`,
//! `ASSISTIV_TEST_NODE22`); missing peers fail the test, never skip it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::inference::{add_provider, funded_user_on, stand_ins_on};
use crate::mcp_clients::repo_path;

const PEER_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) fn python() -> std::path::PathBuf {
    repo_path(&std::env::var("ASSISTIV_TEST_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into()))
}

pub(crate) fn node() -> std::path::PathBuf {
    repo_path(
        &std::env::var("ASSISTIV_TEST_NODE22")
            .unwrap_or_else(|_| "tests/peers/node_modules/node/bin/node".into()),
    )
}

struct Keys {
    base_url: String,
    eu: String,
    platform: String,
    broke: String,
}

async fn run(program: &Path, script: &str, keys: &Keys, limited: &str, model: &str) -> Value {
    run_peer(
        program,
        script,
        &[
            ("ASSISTIV_BASE_URL", &keys.base_url),
            ("ASSISTIV_EU_KEY", &keys.eu),
            ("ASSISTIV_PLATFORM_KEY", &keys.platform),
            ("ASSISTIV_BROKE_KEY", &keys.broke),
            ("ASSISTIV_LIMITED_KEY", limited),
            ("ASSISTIV_MODEL", model),
        ],
        model,
    )
    .await
}

/// Runs a peer script with `env` (in tests/peers); its last stdout line as
/// JSON. A missing peer fails, naming how to install it.
pub(crate) async fn run_peer(
    program: &Path,
    script: &str,
    env: &[(&str, &str)],
    label: &str,
) -> Value {
    let script = repo_path(script);
    assert!(
        program.exists(),
        "{} is missing: run ./scripts/test to install the peers",
        program.display()
    );
    let mut command = Command::new(program);
    command
        .arg(&script)
        .current_dir(repo_path("tests/peers"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PEER_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{} timed out", script.display()))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} with {label} failed:\n{stdout}\n{stderr}",
        script.display()
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("{label}: not JSON: {stdout}\n{stderr}"))
}

/// A fresh end user with `rpm_limit: 1` (its second request is a 429).
async fn limited_user(app: &TestApp, pid: Uuid, pkey: &str) -> String {
    let reply = app
        .post(
            &format!("/v1/platforms/{pid}/end-users"),
            pkey,
            &json!({"external_id": format!("limited-{}", Uuid::now_v7()),
                    "budget": {"max_usd": 1, "period": "one_time"},
                    "rate_limits": {"rpm_limit": 1}}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    reply.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn official_openai_sdks_work_unmodified(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pid, pkey) = app.create_platform("sdks").await;
    add_provider(&app, pid, json!({"provider": "mock"})).await;
    let _stand_ins = stand_ins_on(&app, pid).await;
    let (_, eu) = funded_user_on(&app, pid, &pkey, "sdk-user", 50.0).await;
    let broke = app
        .post(
            &format!("/v1/platforms/{pid}/end-users"),
            &pkey,
            &json!({"external_id": "broke"}),
        )
        .await
        .data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let keys = Keys {
        base_url: app.address.clone(),
        eu,
        platform: pkey.clone(),
        broke,
    };
    for model in [
        "mock-fast",
        "gpt-4o-mini",
        "anthropic/claude-sonnet-4-6",
        "gemini-2.0-flash",
    ] {
        let limited = limited_user(&app, pid, &pkey).await;
        let py = run(
            &python(),
            "tests/peers/python_openai_client.py",
            &keys,
            &limited,
            model,
        )
        .await;
        assert_eq!(py["ok"], true, "{model}: {py}");
        assert_eq!(py["sdk"], "3.51.0");
        assert_eq!(
            py["errors"],
            json!({"401": "unauthorized", "402": "no_budget", "403": "forbidden",
                   "404": "model_not_found", "429": "rate_limited"})
        );
        let limited = limited_user(&app, pid, &pkey).await;
        let ts = run(
            &node(),
            "tests/peers/ts_openai_client.mjs",
            &keys,
            &limited,
            model,
        )
        .await;
        assert_eq!(ts["ok"], true, "{model}: {ts}");
        assert_eq!(ts["errors"], py["errors"]);
    }
    app.stop().await;
}

both_backends!(official_openai_sdks_work_unmodified);
