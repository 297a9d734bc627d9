//! Time-driven budget behaviour with an injected clock: UTC period resets,
//! low-balance events once per crossing, auto-replenish.

use std::sync::Arc;
use std::time::Duration;

use assistiv::billing::{ManualClock, Money, holds};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::budgets::outbox_types;
use crate::helpers::{Backend, TestApp, spawn_app_with_clock};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn spend(app: &TestApp, euid: uuid::Uuid, usd: f64) {
    let amount = Money::from_micros((usd * 1e6).round() as i64);
    let state = &app.state;
    let hold = holds::reserve(
        &state.db,
        &state.clock,
        app.platform_id,
        euid,
        amount,
        "test",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    holds::settle(&state.db, &state.clock, &hold, amount)
        .await
        .unwrap();
}

async fn budget(app: &TestApp, euid: uuid::Uuid) -> serde_json::Value {
    let reply = app
        .get(
            &format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id),
            &app.platform_key,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.data().clone()
}

async fn create(app: &TestApp, euid: uuid::Uuid, body: serde_json::Value) {
    let reply = app
        .post(
            &format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id),
            &app.platform_key,
            &body,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

async fn daily_and_monthly_periods_reset_at_the_utc_boundary(backend: Backend) {
    let clock = ManualClock::new(at("2026-03-31T23:00:00Z"));
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let (daily, _) = app.create_end_user("daily").await;
    let (monthly, _) = app.create_end_user("monthly").await;
    create(
        &app,
        daily,
        json!({"max_usd": 10, "period": "daily", "low_balance_threshold": 3}),
    )
    .await;
    create(&app, monthly, json!({"max_usd": 20, "period": "monthly"})).await;
    assert_eq!(
        budget(&app, daily).await["resets_at"],
        "2026-04-01T00:00:00Z"
    );

    spend(&app, daily, 8.0).await;
    spend(&app, daily, 1.0).await;
    spend(&app, monthly, 5.0).await;
    let before = budget(&app, daily).await;
    assert_eq!(before["balance_usd"], 1.0);
    assert_eq!(before["used_usd"], 9.0);
    let low = |events: &[String]| events.iter().filter(|e| *e == "budget.low_balance").count();
    assert_eq!(
        low(&outbox_types(&app).await),
        1,
        "one event per crossing, not per spend"
    );

    clock.set(at("2026-03-31T23:59:59.999Z"));
    assert_eq!(budget(&app, daily).await["balance_usd"], 1.0, "not yet");

    clock.set(at("2026-04-01T00:00:00Z"));
    let after = budget(&app, daily).await;
    assert_eq!(after["balance_usd"], 10.0);
    assert_eq!(after["used_usd"], 0.0);
    assert_eq!(after["resets_at"], "2026-04-02T00:00:00Z");
    let monthly_now = budget(&app, monthly).await;
    assert_eq!(monthly_now["balance_usd"], 20.0, "a new month started too");
    assert_eq!(monthly_now["resets_at"], "2026-05-01T00:00:00Z");

    // The reset re-arms the low-balance event.
    spend(&app, daily, 8.0).await;
    assert_eq!(low(&outbox_types(&app).await), 2);

    // Skipping several days resets once, to the allowance.
    clock.set(at("2026-04-09T12:00:00Z"));
    assert_eq!(budget(&app, daily).await["balance_usd"], 10.0);
    let ledger = app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{daily}/budget/transactions?limit=100",
                app.platform_id
            ),
            &app.platform_key,
        )
        .await;
    let rows = ledger.body["data"].as_array().unwrap();
    assert_eq!(
        rows.iter().filter(|r| r["kind"] == "period_reset").count(),
        2
    );
    let sum: f64 = rows.iter().map(|r| r["amount_usd"].as_f64().unwrap()).sum();
    assert!(
        (sum - 10.0).abs() < 1e-9,
        "ledger sums to the balance: {sum}"
    );
    app.stop().await;
}

async fn auto_replenish_tops_up_below_the_threshold(backend: Backend) {
    let clock = ManualClock::new(at("2026-06-15T10:00:00Z"));
    let app = spawn_app_with_clock(backend, Arc::clone(&clock) as _, |_| {}).await;
    let (euid, _) = app.create_end_user("auto").await;
    create(
        &app,
        euid,
        json!({"max_usd": 5, "period": "one_time", "auto_replenish": true, "replenish_amount": 5, "low_balance_threshold": 2}),
    )
    .await;
    spend(&app, euid, 2.5).await;
    assert_eq!(
        budget(&app, euid).await["balance_usd"],
        2.5,
        "above the threshold: nothing"
    );
    spend(&app, euid, 1.5).await;
    let now = budget(&app, euid).await;
    assert_eq!(now["balance_usd"], 6.0, "1 left + 5 replenished");
    let events = outbox_types(&app).await;
    assert_eq!(
        events.iter().filter(|e| *e == "budget.low_balance").count(),
        1
    );
    assert!(events.iter().any(|e| e == "budget.topped_up"));
    let ledger = app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/budget/transactions",
                app.platform_id
            ),
            &app.platform_key,
        )
        .await;
    let kinds: Vec<&str> = ledger.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["allowance", "spend", "spend", "auto_replenish"]);
    // One-time budgets never reset.
    clock.advance(chrono::Duration::days(400));
    assert_eq!(budget(&app, euid).await["balance_usd"], 6.0);
    app.stop().await;
}

both_backends!(
    daily_and_monthly_periods_reset_at_the_utc_boundary,
    auto_replenish_tops_up_below_the_threshold,
);
