//! The seed's curl examples, sent verbatim (same paths, headers and bodies; the
//! host is the test gateway and `sk-eu_your_key` a real end-user key), and the
//! seed's response shape checked field by field.

use serde_json::Value;

use super::{add_provider, provider, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::Backend;

const SEARCH_BODY: &str = r#"{ "query": "generate an image", "limit": 8 }"#;
const RUN_BODY: &str = r#"{
    "capability": "cap_abc123",
    "input": { "prompt": "a cat wearing sunglasses" },
    "max_pay": 0.02
  }"#;

async fn seed_curl_examples(backend: Backend) {
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    let mut abc = provider(
        "cap_abc123",
        "image-generation",
        &format!("{}/fixed/run", up.base),
        serde_json::json!({"kind": "fixed", "price_usd": 0.0095}),
    );
    abc["name"] = "Seed Image Generator".into();
    assert_eq!(add_provider(&app, &abc).await.status, 201);
    set_policy(&app, app.platform_id, &serde_json::json!({"enabled": true})).await;
    let (_, key) = user_with_budget(&app, "user-42", 5.0).await;

    // 1. Find a provider (no spend).
    let found = app
        .send(
            app.client
                .post(app.url("/v1/capabilities/search"))
                .header("Authorization", format!("Bearer {key}"))
                .header("Content-Type", "application/json")
                .body(SEARCH_BODY),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hits = found.body["data"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 8, "{}", found.body);
    assert!(
        hits.iter().all(|h| h["capability"] == "image-generation"),
        "{}",
        found.body
    );
    assert!(hits.iter().any(|h| h["uid"] == "cap_abc123"));

    // 2. Run it — pass the candidate's uid as "capability".
    let ran = app
        .send(
            app.client
                .post(app.url("/v1/capabilities/run"))
                .header("Authorization", format!("Bearer {key}"))
                .header("Content-Type", "application/json")
                .body(RUN_BODY),
        )
        .await;
    assert_eq!(ran.status, 200, "{}", ran.body);
    let b: &Value = &ran.body;
    assert_eq!(b["capability"], "image-generation");
    assert_eq!(b["ok"], true);
    assert_eq!(b["final_state"], "billed");
    assert_eq!(b["status"], 200);
    assert_eq!(b["cost_usd"], 0.0095);
    assert_eq!(b["charged_end_user"], true);
    assert!(uuid::Uuid::parse_str(b["run_id"].as_str().unwrap()).is_ok());
    assert_eq!(b["result"]["image_url"], "https://cdn.example/out.png");
    assert_eq!(b["result"]["width"], 1024);
    assert_eq!(b["result"]["height"], 1024);

    // End users read their remaining balance with GET /v1/me/budget.
    let me = app.get("/v1/me/budget", &key).await;
    assert_eq!(me.data()["remaining_usd"], 4.9905, "{}", me.body);
    app.stop().await;
}

both_backends!(seed_curl_examples);
