//! A run outlives its caller: a dropped connection mid-call still settles (billed
//! once, nothing left held). A process that dies between the hold and the
//! settlement leaves only a hold with an expiry, which the sweeper releases after
//! restart: nothing charged, nothing stranded; its `Idempotency-Key` then answers
//! the released outcome. A process that dies before the hold never took the key.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assistiv::billing::clock::ManualClock;
use assistiv::billing::idempotency::IdempotentRequest;
use assistiv::billing::{Money, holds};
use assistiv::capabilities::run::{self, RunRequest, Runner};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{add_provider, budget, provider, set_policy, upstream, user_with_budget};
use crate::helpers::{Backend, Reply, TestApp, spawn_app_with, spawn_app_with_clock};

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

/// Stand-in providers that stall on their first call (quote or run), to stand for
/// a process that dies at that point; later calls answer at once.
struct Stalls {
    quotes: AtomicUsize,
    calls: AtomicUsize,
    reached: Notify,
}

async fn stall_first(stalls: &Stalls, counter: &AtomicUsize) {
    if counter.fetch_add(1, Ordering::SeqCst) == 0 {
        stalls.reached.notify_one();
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}

async fn stalling_upstream() -> (String, Arc<Stalls>) {
    let stalls = Arc::new(Stalls {
        quotes: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
        reached: Notify::new(),
    });
    let router = Router::new()
        .route(
            "/quote",
            post(|State(s): State<Arc<Stalls>>| async move {
                stall_first(&s, &s.quotes).await;
                Json(json!({"price_usd": 0.01}))
            }),
        )
        .route(
            "/run",
            post(|State(s): State<Arc<Stalls>>| async move {
                s.calls.fetch_add(1, Ordering::SeqCst);
                Json(json!({"done": true}))
            }),
        )
        .route(
            "/stall/run",
            post(|State(s): State<Arc<Stalls>>| async move {
                stall_first(&s, &s.calls).await;
                Json(json!({"done": true}))
            }),
        )
        .with_state(Arc::clone(&stalls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, stalls)
}

/// What `POST /v1/capabilities/run` with `Idempotency-Key: key` and `body` claims.
fn idempotent(key: &str, body: &Value) -> IdempotentRequest {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("POST /v1/capabilities/run\n{body}").as_bytes());
    IdempotentRequest {
        key: key.to_owned(),
        request_hash: hex::encode(digest),
    }
}

/// Starts a run in-process with `key` and kills it once the stand-in is reached
/// (the quote, or the call after the hold): what `kill -9` leaves behind.
async fn kill_a_run_midway(
    app: &TestApp,
    stalls: &Stalls,
    euid: uuid::Uuid,
    key: &str,
    body: &Value,
) {
    let runner = Runner {
        platform_id: app.platform_id,
        end_user_id: euid,
        request_id: "killed".into(),
    };
    let request: RunRequest = serde_json::from_value(body.clone()).unwrap();
    let claim = idempotent(key, body);
    // `kill -9` runs no destructor: the run is polled until it reaches the
    // upstream, then forgotten, so nothing it owns settles or releases.
    let mut run = Box::pin(run::run(&app.state, &runner, &request, Some(&claim)));
    tokio::select! {
        _ = &mut run => panic!("the run finished before the upstream stalled"),
        _ = stalls.reached.notified() => {}
    }
    std::mem::forget(run);
}

async fn send_with_key(app: &TestApp, user_key: &str, key: &str, body: &Value) -> Reply {
    app.send(
        app.request(
            reqwest::Method::POST,
            "/v1/capabilities/run",
            Some(user_key),
        )
        .header("Idempotency-Key", key)
        .json(body),
    )
    .await
}

/// Nothing held, and the budget's ledger sums to its balance.
async fn assert_books(app: &TestApp, euid: uuid::Uuid, balance_usd: f64) {
    let b = budget(app, euid).await;
    assert_eq!(b["held_usd"], 0.0, "{b}");
    assert_eq!(b["balance_usd"], balance_usd, "{b}");
    let sums: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(
            "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM budget_ledger WHERE end_user_id = $1",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    assert_eq!(
        sums[0].0,
        (balance_usd * 1e6).round() as i64,
        "the ledger sums to the balance"
    );
    let holds: Vec<(i64,)> = app
        .state
        .db
        .fetch_all("SELECT COUNT(*) FROM holds", &[])
        .await
        .unwrap();
    assert_eq!(holds[0].0, 0, "no hold left");
}

/// `kill -9` after the hold: once the sweeper releases the hold, the key answers
/// the released outcome (replayed, nothing charged) instead of "in progress".
async fn a_key_whose_run_died_after_its_hold_resolves_released(backend: Backend) {
    let (base, stalls) = stalling_upstream().await;
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        c.capabilities_call_timeout_ms = 30_000;
    })
    .await;
    let stall = provider(
        "cap_t_stall",
        "image-generation",
        &format!("{base}/stall/run"),
        json!({"kind": "fixed", "price_usd": 0.02}),
    );
    assert_eq!(add_provider(&app, &stall).await.status, 201);
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let (euid, key) = user_with_budget(&app, "killed-after-hold", 1.0).await;
    let body = json!({"capability": "cap_t_stall", "input": {"prompt": "p"}});
    kill_a_run_midway(&app, &stalls, euid, "crash-0", &body).await;
    assert_eq!(budget(&app, euid).await["held_usd"], 0.02, "the hold stays");

    let app = app
        .restart(|c| {
            c.hold_sweep_interval_ms = 50;
            c.capabilities_call_timeout_ms = 30_000;
        })
        .await;
    clock.advance(chrono::Duration::hours(2));
    let swept = TestApp::eventually(Duration::from_secs(10), || async {
        budget(&app, euid).await["held_usd"] == 0.0
    })
    .await;
    assert!(swept, "the sweeper released the hold");
    let retry = send_with_key(&app, &key, "crash-0", &body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let b = &retry.body;
    assert_eq!(b["final_state"], "released", "{b}");
    assert_eq!(b["ok"], false, "{b}");
    assert_eq!(b["cost_usd"], 0.0, "{b}");
    assert_eq!(b["charged_end_user"], false, "{b}");
    assert_eq!(b["provider"], "cap_t_stall", "{b}");
    assert!(b["run_id"].as_str().is_some_and(|s| s.len() == 36), "{b}");
    assert_eq!(
        send_with_key(&app, &key, "crash-0", &body).await.body,
        retry.body
    );
    send_with_key(
        &app,
        &key,
        "crash-0",
        &json!({"capability": "cap_t_stall", "input": {"prompt": "other"}}),
    )
    .await
    .assert_error(409, "conflict");
    assert_eq!(stalls.calls.load(Ordering::SeqCst), 1, "never run twice");
    assert_books(&app, euid, 1.0).await;
    app.stop().await;
}

/// `kill -9` before any hold (during the quote): the key was never taken, so the
/// same request with it runs, once, and then replays.
async fn a_key_whose_run_died_before_its_hold_runs_once(backend: Backend) {
    let (base, stalls) = stalling_upstream().await;
    let app = spawn_app_with(backend, |c| c.capabilities_call_timeout_ms = 30_000).await;
    let quoted = provider(
        "cap_t_stall_quote",
        "image-generation",
        &format!("{base}/run"),
        json!({"kind": "quote", "quote_url": format!("{base}/quote"),
               "min_price_usd": 0.001, "max_price_usd": 0.05}),
    );
    assert_eq!(add_provider(&app, &quoted).await.status, 201);
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let (euid, key) = user_with_budget(&app, "killed-before-hold", 1.0).await;
    let body = json!({"capability": "cap_t_stall_quote", "input": {"prompt": "p"}});
    kill_a_run_midway(&app, &stalls, euid, "crash-1", &body).await;
    assert_eq!(
        budget(&app, euid).await["held_usd"],
        0.0,
        "no hold was taken"
    );

    let first = send_with_key(&app, &key, "crash-1", &body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["final_state"], "billed", "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = send_with_key(&app, &key, "crash-1", &body).await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(stalls.calls.load(Ordering::SeqCst), 1, "one provider call");
    assert_books(&app, euid, 0.99).await;
    app.stop().await;
}

both_backends!(
    a_dropped_caller_still_settles,
    a_crash_mid_run_leaves_no_hold_after_restart,
    a_key_whose_run_died_after_its_hold_resolves_released,
    a_key_whose_run_died_before_its_hold_runs_once
);
