//! The usage-log writer shares its batches between tenants, so one row the
//! database refuses must never cost another; text holding NUL (which PostgreSQL
//! cannot store) is kept with U+FFFD in its place.

use std::time::Duration;

use assistiv::usage::{UsageLogger, UsageRecord};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::capabilities::{add_provider, provider, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::{Backend, TestApp, spawn_app};

fn record(platform_id: Uuid, id: Uuid, tool: &str) -> UsageRecord {
    UsageRecord {
        id,
        platform_id,
        end_user_id: None,
        kind: "capability_run",
        app: Some("capabilities".into()),
        tool: Some(tool.into()),
        model: None,
        status: "ok",
        error_code: None,
        latency_ms: 1,
        input_tokens: None,
        output_tokens: None,
        cost_micros: Some(10_000),
        request_id: "req_test".into(),
        created_at: chrono::Utc::now(),
        provider: None,
        cached_tokens: None,
        ttft_ms: None,
        tokens_estimated: None,
        price: None,
    }
}

async fn tools_of(app: &TestApp, platform_id: Uuid) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .state
        .db
        .fetch_all(
            "SELECT tool FROM usage_logs WHERE platform_id = $1 ORDER BY seq",
            &assistiv::args![platform_id],
        )
        .await
        .unwrap();
    rows.into_iter().map(|(tool,)| tool).collect()
}

async fn a_refused_row_costs_no_other_row_and_nul_is_kept_as_a_replacement(backend: Backend) {
    let app = spawn_app(backend).await;
    let shutdown = CancellationToken::new();
    let (logger, writer) = UsageLogger::start(app.state.db.clone(), shutdown.clone());
    let (a, b) = (app.platform_id, Uuid::now_v7());
    let taken = Uuid::now_v7();
    // One batch (the writer flushes after 200 ms without a record, or at 500):
    // B's rows around A's 100, one of them refused (its id is taken).
    logger.record(record(b, taken, "first"));
    for i in 0..100 {
        logger.record(record(a, Uuid::now_v7(), &format!("cap_{i}")));
    }
    logger.record(record(b, Uuid::now_v7(), "cap_x\0y"));
    logger.record(record(b, taken, "refused"));
    shutdown.cancel();
    writer.await.unwrap();

    assert_eq!(logger.dropped(), 1, "only the refused row is lost");
    let a_tools = tools_of(&app, a).await;
    assert_eq!(a_tools.len(), 100, "A's rows all landed");
    assert_eq!(a_tools[99], "cap_99");
    assert_eq!(tools_of(&app, b).await, ["first", "cap_x\u{FFFD}y"]);
    let listed = app
        .get(
            &format!("/v1/platforms/{a}/logs?kind=capability_run&limit=500"),
            &app.platform_key,
        )
        .await;
    assert_eq!(
        listed.data().as_array().unwrap().len(),
        100,
        "{}",
        listed.body
    );
    app.stop().await;
}

/// The probe: platform B's end user sends a capability with NUL while
/// platform A makes billed runs; A's logs hold every run.
async fn another_tenants_nul_costs_no_usage_logs(backend: Backend) {
    let upstream = upstream().await;
    let app = spawn(backend, &upstream).await;
    let fixed = provider(
        "cap_t_fixed",
        "image-generation",
        &format!("{}/fixed/run", upstream.base),
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    assert_eq!(add_provider(&app, &fixed).await.status, 201);
    let (b, b_key) = app.create_platform("tenant-b").await;
    for platform in [app.platform_id, b] {
        let enabled = set_policy(&app, platform, &json!({"enabled": true})).await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
    }
    let (_, a_user) = user_with_budget(&app, "a-user", 10.0).await;
    let (_, b_user) = app.create_end_user_on(b, &b_key, "b-user").await;

    const RUNS: usize = 40;
    let body = json!({"capability": "cap_t_fixed", "input": {"prompt": "a cat"}});
    let a_runs = futures::future::join_all(
        (0..RUNS).map(|_| app.post("/v1/capabilities/run", &a_user, &body)),
    );
    let nul = json!({"capability": "x\0y", "input": {"prompt": "a cat"}});
    let b_run = app.post("/v1/capabilities/run", &b_user, &nul);
    let (a_replies, b_reply) = tokio::join!(a_runs, b_run);
    for reply in &a_replies {
        assert_eq!(reply.body["final_state"], "billed", "{}", reply.body);
    }

    let logs = format!(
        "/v1/platforms/{}/logs?kind=capability_run&limit=500",
        app.platform_id
    );
    let all_there = TestApp::eventually(Duration::from_secs(5), || async {
        app.get(&logs, &app.platform_key)
            .await
            .data()
            .as_array()
            .map(Vec::len)
            == Some(RUNS)
    })
    .await;
    assert!(
        all_there,
        "{}",
        app.get(&logs, &app.platform_key).await.body
    );
    b_reply.assert_error(400, "bad_request");
    app.stop().await;
}

both_backends!(
    a_refused_row_costs_no_other_row_and_nul_is_kept_as_a_replacement,
    another_tenants_nul_costs_no_usage_logs,
);
