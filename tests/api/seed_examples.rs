//! The curl examples of the public API reference (API keys, authentication, end
//! users, overview, quickstart) run as written, with only the host changed.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

const SEED_BASE: &str = "https://api.assistiv.ai";

const EXAMPLES: &[(&str, &str, u16)] = &[
    (
        "api keys: create",
        r#"curl -X POST https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/api-keys \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "Content-Type: application/json" \
  -d '{"name":"Production server"}'"#,
        201,
    ),
    (
        "authentication: list end users",
        r#"curl https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/end-users \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "X-Assistiv-Platform-Id: $ASSISTIV_PLATFORM_ID""#,
        200,
    ),
    (
        "end users: create",
        r#"curl -X POST https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/end-users \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "external_id": "user-42",
    "display_name": "Jane Smith",
    "metadata": { "plan": "pro" }
  }'"#,
        201,
    ),
    (
        "quickstart: provision an end user (idempotent)",
        r#"curl -X POST https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/end-users \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "Content-Type: application/json" \
  -d '{"external_id":"user-42"}'"#,
        200,
    ),
    (
        "overview: sanity-check the platform key",
        r#"curl https://api.assistiv.ai/v1/me \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY""#,
        200,
    ),
];

async fn seed_curl_examples_work_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    for (name, example, expected) in EXAMPLES {
        let script = format!(
            "{} -sS -w '\\n%{{http_code}}'",
            example.replace(SEED_BASE, &app.address)
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("ASSISTIV_PLATFORM_ID", app.platform_id.to_string())
            .env("ASSISTIV_PLATFORM_KEY", &app.platform_key)
            .output()
            .expect("curl runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let (body, status) = stdout.rsplit_once('\n').expect("status line");
        assert_eq!(status, expected.to_string(), "{name}: {body}");
        let json: Value = serde_json::from_str(body).expect("JSON body");
        assert!(
            json["data"].is_object() || json["data"].is_array(),
            "{name}: {body}"
        );
    }
    app.stop().await;
}

both_backends!(seed_curl_examples_work_as_written);
