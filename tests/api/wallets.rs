//! Platform wallets: unmetered by default; metered wallets stop spend at zero.

use std::time::Duration;

use assistiv::billing::{Money, holds};
use reqwest::Method;
use serde_json::json;

use crate::budgets::outbox_types;
use crate::helpers::{ADMIN_TOKEN, Backend, spawn_app};

async fn metered_wallets_stop_spend_at_zero(backend: Backend) {
    let app = spawn_app(backend).await;
    let pid = app.platform_id;
    let wallet_path = format!("/admin/v1/platforms/{pid}/wallet");
    let wallet = app.get(&wallet_path, ADMIN_TOKEN).await;
    assert_eq!(wallet.status, 200, "{}", wallet.body);
    assert_eq!(wallet.data()["metered"], false);
    assert_eq!(wallet.data()["balance_usd"], 0.0);

    let (euid, _) = app.create_end_user("user").await;
    app.post(
        &format!("/v1/platforms/{pid}/end-users/{euid}/budget"),
        &app.platform_key,
        &json!({"max_usd": 10, "period": "monthly"}),
    )
    .await;
    let state = &app.state;
    let reserve = |usd: f64| {
        holds::reserve(
            &state.db,
            &state.clock,
            pid,
            euid,
            Money::from_micros((usd * 1e6) as i64),
            "t",
            Duration::from_secs(60),
        )
    };
    // Unmetered: spend flows.
    holds::release(&state.db, &state.clock, reserve(1.0).await.unwrap().id)
        .await
        .unwrap();

    let metered = app
        .send(
            app.request(Method::PUT, &wallet_path, Some(ADMIN_TOKEN))
                .json(&json!({"metered": true, "low_balance_threshold_usd": 0.3})),
        )
        .await;
    assert_eq!(metered.status, 200, "{}", metered.body);
    assert_eq!(
        reserve(0.01).await.unwrap_err().code(),
        "wallet_insufficient"
    );

    let topup = |key: &'static str| {
        app.send(
            app.request(
                Method::POST,
                &format!("{wallet_path}/topup"),
                Some(ADMIN_TOKEN),
            )
            .header("Idempotency-Key", key)
            .json(&json!({"amount_usd": 0.5})),
        )
    };
    let first = topup("wallet-topup-1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        topup("wallet-topup-1").await.body,
        first.body,
        "replayed, not repeated"
    );
    assert_eq!(first.data()["balance_usd"], 0.5);

    let hold = reserve(0.4).await.unwrap();
    assert_eq!(
        reserve(0.2).await.unwrap_err().code(),
        "wallet_insufficient"
    );
    holds::settle(&state.db, &state.clock, &hold, Money::from_micros(400_000))
        .await
        .unwrap();
    let after = app.get(&wallet_path, ADMIN_TOKEN).await;
    assert_eq!(after.data()["balance_usd"], 0.1);
    assert_eq!(after.data()["held_usd"], 0.0);
    let events = outbox_types(&app).await;
    assert_eq!(
        events.iter().filter(|e| *e == "wallet.topped_up").count(),
        1
    );
    assert_eq!(
        events.iter().filter(|e| *e == "wallet.low_balance").count(),
        2,
        "metering at 0, then the drop to 0.1"
    );

    let ledger = app
        .get(&format!("{wallet_path}/transactions"), ADMIN_TOKEN)
        .await;
    let kinds: Vec<&str> = ledger.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["spend", "topup"]);

    // Platforms can start metered; the platform key cannot touch the wallet.
    let created = app
        .post(
            "/admin/v1/platforms",
            ADMIN_TOKEN,
            &json!({"name": "metered-co", "wallet": {"metered": true}}),
        )
        .await;
    let new_pid = created.data()["id"].as_str().unwrap();
    let new_wallet = app
        .get(
            &format!("/admin/v1/platforms/{new_pid}/wallet"),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(new_wallet.data()["metered"], true);
    app.get(&wallet_path, &app.platform_key)
        .await
        .assert_error(403, "forbidden");
    app.get(
        &format!("/admin/v1/platforms/{}/wallet", uuid::Uuid::new_v4()),
        ADMIN_TOKEN,
    )
    .await
    .assert_error(404, "not_found");
    for body in [
        json!({"amount_usd": -1}),
        json!({"amount_usd": 0.0000001}),
        json!({"amount_usd": 1e300}),
    ] {
        app.post(&format!("{wallet_path}/topup"), ADMIN_TOKEN, &body)
            .await
            .assert_error(400, "bad_request");
    }
    app.stop().await;
}

/// Wallet top-up keys are scoped per platform: the operator's monthly invoice
/// key tops up every platform's wallet once, and the wallet ledger keeps it.
async fn wallet_topup_keys_are_per_platform(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, _) = app.create_platform("other").await;
    let topup = |pid: uuid::Uuid| {
        app.send(
            app.request(
                Method::POST,
                &format!("/admin/v1/platforms/{pid}/wallet/topup"),
                Some(ADMIN_TOKEN),
            )
            .header("Idempotency-Key", "invoice-2026-11")
            .json(&json!({"amount_usd": 500})),
        )
    };
    for pid in [app.platform_id, other] {
        let first = topup(pid).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.data()["balance_usd"], 500.0);
        let again = topup(pid).await;
        assert_eq!(again.body, first.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        let rows = app
            .get(
                &format!("/admin/v1/platforms/{pid}/wallet/transactions"),
                ADMIN_TOKEN,
            )
            .await;
        let keys: Vec<&serde_json::Value> = rows.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["idempotency_key"])
            .collect();
        assert_eq!(keys, [&json!("invoice-2026-11")]);
    }
    app.stop().await;
}

both_backends!(
    metered_wallets_stop_spend_at_zero,
    wallet_topup_keys_are_per_platform
);
