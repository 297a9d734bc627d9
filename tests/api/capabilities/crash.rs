//! A run outlives its caller: a dropped connection mid-call still settles (billed
//! once, nothing left held). A process that dies between the hold and the
//! settlement leaves only a hold with an expiry, which the sweeper releases after
//! restart: nothing charged, nothing stranded.

use std::time::Duration;

use assistiv::billing::clock::ManualClock;
use assistiv::billing::{Money, holds};
use serde_json::json;

use super::{add_provider, budget, provider, set_policy, upstream, user_with_budget};
use crate::helpers::{Backend, TestApp, spawn_app_with, spawn_app_with_clock};

async fn a_dropped_caller_still_settles(backend: Backend) {
    let up = upstream().await;
    let app = spawn_app_with(backend, |c| c.capabilities_call_timeout_ms = 6_000).await;
    let slow = provider(
        "cap_t_slow",
        "image-generation",
        &format!("{}/slow/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.02}),
    );
    assert_eq!(add_provider(&app, &slow).await.status, 201);
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let (euid, key) = user_with_budget(&app, "impatient", 1.0).await;
    let gone = app
        .request(reqwest::Method::POST, "/v1/capabilities/run", Some(&key))
        .timeout(Duration::from_millis(300))
        .json(&json!({"capability": "cap_t_slow", "input": {"prompt": "p"}}))
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the caller gave up before the provider answered"
    );
    let settled = TestApp::eventually(Duration::from_secs(10), || async {
        let rows: Vec<(String, i64)> = app
            .state
            .db
            .fetch_all(
                "SELECT final_state, cost_micros FROM capability_runs WHERE end_user_id = $1",
                &assistiv::args![euid],
            )
            .await
            .unwrap();
        rows == [("billed".to_owned(), 20_000)]
    })
    .await;
    assert!(settled, "the run finished and settled without its caller");
    let b = budget(&app, euid).await;
    assert_eq!(b["held_usd"], 0.0, "{b}");
    assert_eq!(b["balance_usd"], 0.98, "{b}");
    app.stop().await;
}

async fn a_crash_mid_run_leaves_no_hold_after_restart(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let (euid, _) = user_with_budget(&app, "crashed", 1.0).await;
    // What a run leaves behind when the process dies after its hold.
    let state = &app.state;
    holds::reserve(
        &state.db,
        &state.clock,
        app.platform_id,
        euid,
        Money::from_micros(20_000),
        "capability_run",
        state.hold_ttl(),
    )
    .await
    .unwrap();
    assert_eq!(budget(&app, euid).await["held_usd"], 0.02);
    let app = app.restart(|c| c.hold_sweep_interval_ms = 50).await;
    clock.advance(chrono::Duration::hours(1));
    let released = TestApp::eventually(Duration::from_secs(10), || async {
        budget(&app, euid).await["held_usd"] == 0.0
    })
    .await;
    assert!(released, "the sweeper released the stranded hold");
    assert_eq!(
        budget(&app, euid).await["balance_usd"],
        1.0,
        "nothing charged"
    );
    app.stop().await;
}

both_backends!(
    a_dropped_caller_still_settles,
    a_crash_mid_run_leaves_no_hold_after_restart
);
