//! `/metrics`: a scripted mix of calls (REST with known statuses, MCP tool calls
//! of each outcome the pipeline can be driven to, a mock-provider completion,
//! webhook deliveries) moves each series by exactly what was done, read with a
//! Prometheus exposition parser. The endpoint needs the operator token on the
//! main listener, and moves to its own address when the operator sets one.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with};
use super::inference::{chat, funded_user};
use super::mcp::McpSession;
use super::skill_zips::enable_skills;
use super::webhooks::{budget_action, create_endpoint, fast, user_with_budget};

/// One scrape: every sample's value by name and sorted labels.
pub(crate) struct Scrape {
    text: String,
    samples: HashMap<(String, Vec<(String, String)>), f64>,
}

impl Scrape {
    pub(crate) fn parse(text: String) -> Self {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let parsed = prometheus_parse::Scrape::parse(lines).expect("a valid exposition");
        let mut samples = HashMap::new();
        for sample in parsed.samples {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                // Histograms are read through their `_count` samples.
                _ => continue,
            };
            let mut labels: Vec<(String, String)> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            samples.insert((sample.metric, labels), value);
        }
        Self { text, samples }
    }

    /// The value of `name{labels}`; 0 when the series does not exist yet.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut key: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        key.sort();
        self.samples
            .get(&(name.to_owned(), key))
            .copied()
            .unwrap_or(0.0)
    }

    fn has(&self, name: &str) -> bool {
        self.samples.keys().any(|(n, _)| n == name)
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = app
        .request(Method::GET, "/metrics", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(text)
}

/// How much `name{labels}` moved between two scrapes.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

/// A webhook receiver on loopback: `/ok` takes deliveries, `/gone` answers 410
/// (one attempt, then the endpoint is disabled).
async fn receiver() -> String {
    let router = axum::Router::new()
        .route("/ok", axum::routing::post(|| async { AxumStatus::OK }))
        .route("/gone", axum::routing::post(|| async { AxumStatus::GONE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn a_scripted_mix_moves_every_series_by_exactly_what_was_done(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let hooks = receiver().await;
    create_endpoint(&app, &format!("{hooks}/ok"), &["budget.topped_up"]).await;
    create_endpoint(&app, &format!("{hooks}/gone"), &["budget.topped_up"]).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let (end_user, key) = funded_user(&app, "metered", 5.0).await;
    let budgeted = user_with_budget(&app, "budgeted", 10.0).await;
    let mut session = McpSession::open(&app, "/mcp", &key).await;

    let before = scrape(&app).await;

    // REST: two 200s, a 404 of a known route, a 401, a 404 no route matched.
    for _ in 0..2 {
        assert_eq!(app.get("/v1/me", &key).await.status, 200);
    }
    let stranger = format!(
        "/v1/platforms/{}/end-users/{}",
        app.platform_id,
        Uuid::new_v4()
    );
    app.get(&stranger, &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.get("/v1/me", "sk-eu_not-a-key")
        .await
        .assert_error(401, "unauthorized");
    let nowhere = format!("/no/such/{}", Uuid::new_v4());
    assert_eq!(app.get(&nowhere, &key).await.status, 404);

    // MCP: a result, a tool error from the tool, a refusal by the pipeline, an
    // unknown tool.
    let found = session.call("find_skill", json!({"query": "pdf"})).await;
    assert_ne!(found["result"]["isError"], true, "{found}");
    let missing = session
        .call("fetch_skill", json!({"id": Uuid::new_v4()}))
        .await;
    assert_eq!(missing["result"]["isError"], true, "{missing}");
    let refused = session.call("find_skill", json!({"query": 5})).await;
    assert_eq!(
        refused["result"]["structuredContent"]["code"], "invalid_arguments",
        "{refused}"
    );
    let unknown = session.call("no_such_tool", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");

    // Inference: one completion on the mock provider.
    let ping = json!({"model": "mock-fast", "messages": [{"role": "user", "content": "ping"}],
                      "max_tokens": 32});
    let completed = chat(&app, &key, &ping).await;
    assert_eq!(completed.status, 200, "{}", completed.body);
    let usage = &completed.body["usage"];
    let cost_usd: f64 = completed.headers["x-assistiv-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let cost_micros = (cost_usd * 1e6).round();
    assert!(cost_micros >= 1.0);

    // Webhooks: one event, one delivery to each endpoint: delivered, failed.
    budget_action(&app, budgeted, "topup", json!({"amount_usd": 1})).await;
    let attempts = |outcome: &'static str| [("outcome", outcome)];
    let delivered = TestApp::eventually(Duration::from_secs(10), || async {
        let now = scrape(&app).await;
        moved(
            &before,
            &now,
            "assistiv_webhook_delivery_attempts_total",
            &attempts("delivered"),
        ) == 1.0
            && moved(
                &before,
                &now,
                "assistiv_webhook_delivery_attempts_total",
                &attempts("failed"),
            ) == 1.0
    })
    .await;
    assert!(delivered, "one delivered and one failed attempt");

    let after = scrape(&app).await;
    let requests = "assistiv_http_requests_total";
    let request = |method: &'static str, route: &'static str, status: &'static str| {
        [("method", method), ("route", route), ("status", status)]
    };
    assert_eq!(
        moved(&before, &after, requests, &request("GET", "/v1/me", "200")),
        2.0
    );
    assert_eq!(
        moved(&before, &after, requests, &request("GET", "/v1/me", "401")),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            requests,
            &request("GET", "/v1/platforms/:pid/end-users/:euid", "404")
        ),
        1.0,
        "by route template, never the raw path"
    );
    assert_eq!(
        moved(
            &before,
            &after,
            requests,
            &request("GET", "unmatched", "404")
        ),
        1.0
    );
    assert_eq!(
        moved(&before, &after, requests, &request("POST", "/mcp", "200")),
        4.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            requests,
            &request("POST", "/v1/chat/completions", "200")
        ),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "assistiv_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/v1/me")]
        ),
        3.0,
        "two 200s and the 401"
    );
    assert!(!after.text.contains(&nowhere) && !after.text.contains("/no/such"));

    let tools = "assistiv_tool_calls_total";
    let tool = |name: &'static str, outcome: &'static str| {
        [("app", "skills"), ("tool", name), ("outcome", outcome)]
    };
    assert_eq!(
        moved(&before, &after, tools, &tool("find_skill", "ok")),
        1.0
    );
    assert_eq!(
        moved(&before, &after, tools, &tool("find_skill", "refused")),
        1.0
    );
    assert_eq!(
        moved(&before, &after, tools, &tool("find_skill", "error")),
        0.0
    );
    assert_eq!(
        moved(&before, &after, tools, &tool("fetch_skill", "error")),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            tools,
            &[("app", ""), ("tool", ""), ("outcome", "unknown_tool")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "assistiv_app_call_duration_seconds_count",
            &[("app", "skills")]
        ),
        2.0,
        "the two calls that ran; the refusal never reached the source"
    );

    let tokens =
        |kind: &'static str| [("provider", "mock"), ("model", "mock-fast"), ("kind", kind)];
    let counted = |field: &str| usage[field].as_f64().unwrap();
    assert_eq!(
        moved(
            &before,
            &after,
            "assistiv_inference_tokens_total",
            &tokens("input")
        ),
        counted("prompt_tokens")
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "assistiv_inference_tokens_total",
            &tokens("output")
        ),
        counted("completion_tokens")
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "assistiv_inference_cost_micro_usd_total",
            &[("provider", "mock"), ("model", "mock-fast")]
        ),
        cost_micros
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "assistiv_inference_duration_seconds_count",
            &[("provider", "mock")]
        ),
        1.0
    );

    assert_eq!(after.value("assistiv_holds_open", &[]), 0.0, "settled");
    assert_eq!(after.value("assistiv_usage_rows_dropped_total", &[]), 0.0);
    assert!(after.has("assistiv_usage_queue_depth"));
    assert!(after.has("assistiv_webhook_outbox_pending"));
    assert!(after.has("assistiv_webhook_deliveries_pending"));
    // The scrape before this one is counted too.
    assert!(
        moved(
            &before,
            &after,
            requests,
            &request("GET", "/metrics", "200")
        ) >= 2.0
    );

    // No tenant in any label: no platform, end user or key.
    for secret in [
        app.platform_id.to_string(),
        end_user.to_string(),
        budgeted.to_string(),
        key.clone(),
        app.platform_key.clone(),
    ] {
        assert!(
            !after.text.contains(&secret),
            "{secret} leaked into /metrics"
        );
    }
    app.stop().await;
}

async fn the_endpoint_needs_the_operator_token_or_its_own_address(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let bare = app.send(app.request(Method::GET, "/metrics", None)).await;
    bare.assert_error(401, "unauthorized");
    let platform = app.get("/metrics", &app.platform_key.clone()).await;
    platform.assert_error(403, "forbidden");
    assert_eq!(app.get("/metrics", ADMIN_TOKEN).await.status, 200);
    assert!(app.metrics_address.is_none());
    app.stop().await;

    let app = spawn_app_with(backend, |config| {
        config.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    // The main listener no longer serves it, even to the operator.
    assert_eq!(app.get("/metrics", ADMIN_TOKEN).await.status, 404);
    let own = app.metrics_address.clone().expect("a metrics listener");
    let response = app
        .client
        .get(format!("{own}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(Scrape::parse(text).has("assistiv_holds_open"));
    let elsewhere = app.client.get(format!("{own}/v1/me")).send().await.unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics listener serves nothing else"
    );
    app.stop().await;
}

both_backends!(
    a_scripted_mix_moves_every_series_by_exactly_what_was_done,
    the_endpoint_needs_the_operator_token_or_its_own_address,
);
