//! Every event type, produced by the real operation, delivered signed: the
//! official verifiers accept each delivery and refuse tampered, foreign-secret
//! and stale variants; per-platform sequence numbers; the delivery log with
//! cursor pages; test events; a rotation signing with both secrets.

use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Receiver, admin_put, all_deliveries, assert_all_verified, budget_action, create_endpoint,
    endpoints_path, fast, outbox_ids, user_with_budget,
};
use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with};

const SEVEN: [&str; 7] = [
    "budget.topped_up",
    "budget.debited",
    "budget.low_balance",
    "budget.suspended",
    "budget.unsuspended",
    "wallet.low_balance",
    "wallet.topped_up",
];

async fn every_event_type_is_delivered_and_verified(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, fast).await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url("/ok"), &[]).await;
    // A second endpoint that wants wallet events only.
    let (wallet_only, wallet_secret) =
        create_endpoint(&app, &receiver.url("/ok?wallet"), &["wallet.topped_up"]).await;
    assert_ne!(secret, wallet_secret);
    receiver.set_secrets(&[&secret, &wallet_secret]).await;

    // The seven, by the operations that cause them.
    let euid = user_with_budget(&app, "spender", 10.0).await;
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    budget_action(&app, euid, "debit", json!({"amount_usd": 9.5})).await; // debited + low balance
    budget_action(&app, euid, "suspend", json!({})).await;
    budget_action(&app, euid, "unsuspend", json!({})).await;
    let wallet = format!("/admin/v1/platforms/{}/wallet", app.platform_id);
    let metered = admin_put(
        &app,
        &wallet,
        &json!({"metered": true, "low_balance_threshold_usd": 100}),
    )
    .await; // wallet.low_balance: metered at 0, below 100
    assert_eq!(metered.status, 200, "{}", metered.body);
    let topup = app
        .post(
            &format!("{wallet}/topup"),
            ADMIN_TOKEN,
            &json!({"amount_usd": 1}),
        )
        .await;
    assert_eq!(topup.status, 200, "{}", topup.body);

    let ids = outbox_ids(&app).await;
    assert_eq!(ids.len(), 7, "one event per change");
    let log = receiver
        .wait_accepted(7, Duration::from_secs(30))
        .await
        .into_iter()
        .filter(|r| r["path"] == "/ok")
        .collect::<Vec<_>>();
    assert_all_verified(&log);
    let bodies: Vec<Value> = log
        .iter()
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect();
    let mut types: Vec<&str> = bodies
        .iter()
        .map(|b| b["event_type"].as_str().unwrap())
        .collect();
    types.sort();
    let mut expected = SEVEN.to_vec();
    expected.sort();
    assert_eq!(types, expected);
    for (record, body) in log.iter().zip(&bodies) {
        assert_eq!(body["id"], record["id"], "webhook-id is the event id");
        assert!(ids.contains(&record["id"].as_str().unwrap().to_owned()));
        assert_eq!(body["data"]["platform_id"], app.platform_id.to_string());
        assert!(body["data"]["balance_usd"].is_number(), "{body}");
        assert!(body["created_at"].is_string());
        if body["event_type"].as_str().unwrap().starts_with("budget.") {
            assert_eq!(body["data"]["end_user_id"], euid.to_string());
        }
    }
    // The per-platform sequence orders them as they happened: 1..=7.
    let mut by_sequence: Vec<(i64, String)> = bodies
        .iter()
        .map(|b| {
            (
                b["data"]["sequence"].as_i64().unwrap(),
                b["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by_sequence.sort();
    assert_eq!(
        by_sequence.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(
        by_sequence
            .into_iter()
            .map(|(_, id)| id)
            .collect::<Vec<_>>(),
        ids,
        "sequence follows the outbox order"
    );
    let debited = bodies
        .iter()
        .find(|b| b["event_type"] == "budget.debited")
        .unwrap();
    assert_eq!(
        debited["data"]["balance_usd"], 1.5,
        "balance after the change"
    );

    // The filtered endpoint got its one event.
    let wallet_log = receiver
        .wait_accepted_where(1, Duration::from_secs(10), |r| r["path"] == "/ok?wallet")
        .await;
    let filtered: Vec<&Value> = wallet_log
        .iter()
        .filter(|r| r["path"] == "/ok?wallet")
        .collect();
    assert_eq!(filtered.len(), 1);
    assert!(
        filtered[0]["body"]
            .as_str()
            .unwrap()
            .contains("wallet.topped_up")
    );
    assert_eq!(all_deliveries(&app, wallet_only).await.len(), 1);

    // The delivery log: cursor pages, newest first, answer and latency kept. The
    // receiver sees a body before the gateway records its answer: wait for that.
    TestApp::eventually(Duration::from_secs(10), || async {
        all_deliveries(&app, endpoint)
            .await
            .iter()
            .all(|d| d["status"] == "delivered")
    })
    .await;
    let deliveries = all_deliveries(&app, endpoint).await;
    assert_eq!(deliveries.len(), 7);
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"
        && d["status_code"] == 200
        && d["attempts"] == 1
        && d["response"] == "ok"
        && d["latency_ms"].is_number()
        && d["next_attempt_at"].is_null()));
    let page = app
        .get(
            &format!(
                "/admin/v1/platforms/{}/webhooks/endpoints/{endpoint}/deliveries?limit=3",
                app.platform_id
            ),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 3);
    assert!(page.body["next_cursor"].is_string());
    let one = &deliveries[0];
    let detail = app
        .get(
            &format!(
                "{}/{endpoint}/deliveries/{}",
                endpoints_path(app.platform_id),
                one["id"].as_str().unwrap()
            ),
            &app.platform_key,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert_eq!(detail.data()["payload"]["id"], one["event_id"]);
    assert_eq!(detail.data()["attempt_log"][0]["status_code"], 200);

    // A test event goes to that endpoint only, signed the same way.
    let test = app
        .post(
            &format!("{}/{endpoint}/test", endpoints_path(app.platform_id)),
            &app.platform_key,
            &json!({}),
        )
        .await;
    assert_eq!(test.status, 202, "{}", test.body);
    assert_eq!(test.data()["event_type"], "webhook.test");
    let log = receiver.wait_accepted(8, Duration::from_secs(10)).await;
    let tests: Vec<&Value> = log
        .iter()
        .filter(|r| r["body"].as_str().unwrap().contains("webhook.test"))
        .collect();
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["path"], "/ok");
    assert_all_verified(&log);
    app.stop().await;
}

/// During a rotation both secrets sign: each verifies on its own, with both
/// libraries.
async fn a_rotation_signs_with_both_secrets(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, fast).await;
    let (endpoint, old) = create_endpoint(&app, &receiver.url("/ok"), &[]).await;
    let rotated = app
        .post(
            &format!(
                "{}/{endpoint}/secret/rotate",
                endpoints_path(app.platform_id)
            ),
            &app.platform_key,
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.data()["secret"].as_str().unwrap().to_owned();
    receiver.set_secrets(&[&new, &old]).await;
    let euid = user_with_budget(&app, "rotating", 10.0).await;
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    let log = receiver.wait_accepted(1, Duration::from_secs(20)).await;
    assert_all_verified(&log);
    assert_eq!(log[0]["per_secret"], json!([[true, true], [true, true]]));
    assert_eq!(log[0]["signature"].as_str().unwrap().split(' ').count(), 2);
    app.stop().await;
}

both_backends!(
    every_event_type_is_delivered_and_verified,
    a_rotation_signs_with_both_secrets
);
