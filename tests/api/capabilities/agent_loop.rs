//! The seed's agent loop through the official Python MCP SDK on
//! `/mcp/capabilities` and `/mcp`: list_capabilities → list_providers{capability, sort,
//! verified_only, limit} → capability_run{capability, input from input_example,
//! max_pay}; then a run above the ceiling comes back as an `isError` result
//! carrying the 402 code, the price and the ceiling.

use serde_json::json;

use super::{add_provider, provider, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::Backend;
use crate::mcp_clients::{repo_path, run_peer};

async fn python_agent_loop(backend: Backend) {
    let python = repo_path(
        &std::env::var("ASSISTIV_TEST_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into()),
    );
    assert!(
        python.exists(),
        "{} is missing: install the Python MCP SDK",
        python.display()
    );
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    let mut legal = provider(
        "cap_abc",
        "legal-data",
        &format!("{}/fixed/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.0095}),
    );
    legal["input_schema"] = json!({"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}});
    legal["input_example"] = json!({"query": "court opinions"});
    legal["rating"] = json!(4.9);
    assert_eq!(add_provider(&app, &legal).await.status, 201);
    set_policy(
        &app,
        app.platform_id,
        &json!({"enabled": true, "max_cost_per_call_usd": 0.01}),
    )
    .await;
    let (_, key) = user_with_budget(&app, "agent", 1.0).await;

    let script = repo_path("tests/peers/python_capabilities_client.py");
    // The capabilities endpoint, and the merged one (no apps or skills enabled here).
    for path in ["/mcp/capabilities", "/mcp"] {
        let report = run_peer(
            &python,
            &[
                script.to_str().unwrap(),
                app.url(path).as_str(),
                "--capability",
                "legal-data",
            ],
            &key,
            "python capabilities client",
        )
        .await;
        assert_eq!(
            report["tools"],
            json!([
                "capability_run",
                "capability_search",
                "list_capabilities",
                "list_providers"
            ]),
            "{report}"
        );
        assert!(
            report["capabilities"].as_array().unwrap().len() >= 45,
            "{report}"
        );
        assert_eq!(report["providers"][0]["uid"], "cap_abc", "{report}");
        assert!(report["providers"][0].get("endpoint").is_none(), "{report}");
        let ran = &report["run"];
        assert_eq!(ran["ok"], true, "{report}");
        assert_eq!(ran["final_state"], "billed");
        assert_eq!(ran["cost_usd"], 0.0095);
        assert_eq!(ran["result"]["image_url"], "https://cdn.example/out.png");
        let refused = &report["refused"];
        assert_eq!(refused["is_error"], true, "{report}");
        assert_eq!(refused["structured"]["code"], "above_ceiling", "{report}");
        assert_eq!(refused["structured"]["price_usd"], 0.0095);
        assert_eq!(refused["structured"]["ceiling_usd"], 0.005);
    }
    app.stop().await;
}

both_backends!(python_agent_loop);
