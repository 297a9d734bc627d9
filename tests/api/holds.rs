//! Holds under load: no overspend ever, nothing left held, the ledger exact;
//! a crash mid-hold strands nothing after restart.

use std::time::Duration;

use assistiv::billing::Money;
use assistiv::billing::holds;
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

const CENT: Money = Money::from_micros(10_000);

async fn user_with_budget(app: &TestApp, external_id: &str, max_usd: f64) -> uuid::Uuid {
    let (euid, _) = app.create_end_user(external_id).await;
    let reply = app
        .post(
            &format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id),
            &app.platform_key,
            &json!({"max_usd": max_usd, "period": "one_time"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    euid
}

/// Runs `count` reserve+settle pairs of one cent, spread over `apps`; how many
/// succeeded, and the refusal codes.
async fn reserve_and_settle(
    apps: &[&TestApp],
    platform_id: uuid::Uuid,
    euid: uuid::Uuid,
    count: usize,
) -> (usize, Vec<String>) {
    let tasks = (0..count).map(|i| {
        let state = apps[i % apps.len()].state.clone();
        tokio::spawn(async move {
            let hold = holds::reserve(
                &state.db,
                &state.clock,
                platform_id,
                euid,
                CENT,
                "test",
                Duration::from_secs(60),
            )
            .await?;
            let settled = holds::settle(&state.db, &state.clock, &hold, CENT).await?;
            assert_eq!(settled.charged, CENT);
            Ok::<_, assistiv::error::Error>(())
        })
    });
    let results = futures::future::join_all(tasks).await;
    let mut ok = 0;
    let mut refusals = Vec::new();
    for result in results {
        match result.expect("task") {
            Ok(()) => ok += 1,
            Err(err) => refusals.push(err.code().to_owned()),
        }
    }
    (ok, refusals)
}

async fn assert_exact_books(app: &TestApp, euid: uuid::Uuid, expected_balance: f64) {
    let path = format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id);
    let budget = app.get(&path, &app.platform_key).await;
    assert_eq!(budget.data()["held_usd"], 0.0, "nothing may stay held");
    assert_eq!(budget.data()["balance_usd"], expected_balance);
    let sums: Vec<(i64, i64)> = app
        .state
        .db
        .fetch_all(
            "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) AS s, COUNT(*) AS n FROM budget_ledger WHERE end_user_id = $1",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    let balance = (expected_balance * 1e6).round() as i64;
    assert_eq!(sums[0].0, balance, "the ledger sums to the balance");
    let held: Vec<(i64,)> = app
        .state
        .db
        .fetch_all("SELECT COUNT(*) FROM holds", &[])
        .await
        .unwrap();
    assert_eq!(held[0].0, 0);
    // The platform's wallet holds nothing either, and its ledger sums to its balance.
    let wallet = app
        .get(
            &format!("/admin/v1/platforms/{}/wallet", app.platform_id),
            crate::helpers::ADMIN_TOKEN,
        )
        .await;
    assert_eq!(wallet.data()["held_usd"], 0.0, "the wallet holds nothing");
    let wallet_sums: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(
            "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM wallet_ledger WHERE platform_id = $1",
            &assistiv::args![app.platform_id],
        )
        .await
        .unwrap();
    let wallet_balance = wallet.data()["balance_usd"].as_f64().unwrap();
    assert_eq!(
        wallet_sums[0].0,
        (wallet_balance * 1e6).round() as i64,
        "the wallet ledger sums to the wallet balance"
    );
}

async fn concurrent_reserves_never_overspend(backend: Backend) {
    let app = spawn_app(backend).await;
    let euid = user_with_budget(&app, "spender", 1.0).await;
    let (ok, refusals) = reserve_and_settle(&[&app], app.platform_id, euid, 1000).await;
    assert_eq!(ok, 100, "exactly the 100 cents the budget holds");
    assert_eq!(refusals.len(), 900);
    assert!(
        refusals.iter().all(|c| c == "budget_exhausted"),
        "{:?}",
        refusals.iter().find(|c| *c != "budget_exhausted")
    );
    assert_exact_books(&app, euid, 0.0).await;
    let wallet = app
        .get(
            &format!("/admin/v1/platforms/{}/wallet", app.platform_id),
            crate::helpers::ADMIN_TOKEN,
        )
        .await;
    assert_eq!(wallet.data()["held_usd"], 0.0);
    assert_eq!(
        wallet.data()["balance_usd"],
        -1.0,
        "an unmetered wallet records the spend"
    );
    app.stop().await;
}

/// Many users, one metered wallet that covers ten holds: refusals by the wallet
/// land in the same group-committed transactions as the successes and must give
/// each budget its reservation back.
async fn wallet_refusals_leave_budgets_untouched(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = crate::helpers::ADMIN_TOKEN;
    let wallet_path = format!("/admin/v1/platforms/{}/wallet", app.platform_id);
    let metered = app
        .send(
            app.request(reqwest::Method::PUT, &wallet_path, Some(admin))
                .json(&json!({"metered": true})),
        )
        .await;
    assert_eq!(metered.status, 200, "{}", metered.body);
    let topup = app
        .post(
            &format!("{wallet_path}/topup"),
            admin,
            &json!({"amount_usd": 0.1}),
        )
        .await;
    assert_eq!(topup.status, 200, "{}", topup.body);
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(user_with_budget(&app, &format!("user-{i}"), 1.0).await);
    }
    let tasks = users.iter().map(|&euid| {
        let state = app.state.clone();
        let pid = app.platform_id;
        tokio::spawn(async move {
            let ttl = Duration::from_secs(60);
            holds::reserve(&state.db, &state.clock, pid, euid, CENT, "t", ttl).await
        })
    });
    let results = futures::future::join_all(tasks).await;
    let (held, refused): (Vec<_>, Vec<_>) = results
        .into_iter()
        .map(|r| r.expect("task"))
        .partition(Result::is_ok);
    assert_eq!(held.len(), 10, "the wallet covers ten cents");
    assert!(
        refused
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.code() == "wallet_insufficient"))
    );
    let budgets: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(
            "SELECT CAST(COALESCE(SUM(held_micros), 0) AS BIGINT) FROM budgets WHERE platform_id = $1",
            &assistiv::args![app.platform_id],
        )
        .await
        .unwrap();
    assert_eq!(
        budgets[0].0,
        10 * CENT.micros(),
        "only the ten holds stay held"
    );
    let wallet = app.get(&wallet_path, admin).await;
    assert_eq!(wallet.data()["held_usd"], 0.1);
    for hold in held.into_iter().flatten() {
        holds::release(&app.state.db, &app.state.clock, hold.id)
            .await
            .unwrap();
    }
    let wallet = app.get(&wallet_path, admin).await;
    assert_eq!(wallet.data()["held_usd"], 0.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_never_overspend() {
    let a = spawn_app(Backend::Postgres).await;
    let b = a.second_instance().await;
    let euid = user_with_budget(&a, "spender", 1.0).await;
    let (ok, refusals) = reserve_and_settle(&[&a, &b], a.platform_id, euid, 1000).await;
    assert_eq!(ok, 100);
    assert!(refusals.iter().all(|c| c == "budget_exhausted"));
    assert_exact_books(&a, euid, 0.0).await;
    b.stop().await;
    a.stop().await;
}

async fn refusals_carry_the_precise_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let state = app.state.clone();
    let pid = app.platform_id;
    let ttl = Duration::from_secs(60);
    let (no_budget, _) = app.create_end_user("no-budget").await;
    let err = holds::reserve(&state.db, &state.clock, pid, no_budget, CENT, "t", ttl)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "no_budget");

    let euid = user_with_budget(&app, "suspended", 1.0).await;
    app.post(
        &format!("/v1/platforms/{pid}/end-users/{euid}/budget/suspend"),
        &app.platform_key,
        &json!({}),
    )
    .await;
    let err = holds::reserve(&state.db, &state.clock, pid, euid, CENT, "t", ttl)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "budget_suspended");

    let err = holds::reserve(
        &state.db,
        &state.clock,
        pid,
        euid,
        Money::from_micros(2_000_000),
        "t",
        ttl,
    )
    .await;
    assert!(err.is_err());

    // Another platform's end user has no budget here.
    let (other, other_key) = app.create_platform("other").await;
    let (theirs, _) = app.create_end_user_on(other, &other_key, "x").await;
    let err = holds::reserve(&state.db, &state.clock, pid, theirs, CENT, "t", ttl)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "no_budget");

    // Settling above the reservation charges what is there and records the rest.
    let rich = user_with_budget(&app, "rich", 0.05).await;
    let hold = holds::reserve(&state.db, &state.clock, pid, rich, CENT, "t", ttl)
        .await
        .unwrap();
    let settled = holds::settle(&state.db, &state.clock, &hold, Money::from_micros(80_000))
        .await
        .unwrap();
    assert_eq!(settled.charged, Money::from_micros(50_000));
    assert_eq!(settled.shortfall, Money::from_micros(30_000));
    assert_eq!(
        holds::settle(&state.db, &state.clock, &hold, CENT)
            .await
            .unwrap_err()
            .code(),
        "conflict"
    );
    assert_exact_books(&app, rich, 0.0).await;

    // Release returns the reservation untouched.
    let released_user = user_with_budget(&app, "released", 0.5).await;
    let hold = holds::reserve(&state.db, &state.clock, pid, released_user, CENT, "t", ttl)
        .await
        .unwrap();
    assert!(
        holds::release(&state.db, &state.clock, hold.id)
            .await
            .unwrap()
    );
    assert!(
        !holds::release(&state.db, &state.clock, hold.id)
            .await
            .unwrap()
    );
    assert_exact_books(&app, released_user, 0.5).await;
    app.stop().await;
}

async fn a_crash_mid_hold_leaves_nothing_held_after_restart(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.hold_ttl_secs = 1;
        c.hold_sweep_interval_ms = 100;
    })
    .await;
    let euid = user_with_budget(&app, "crashy", 1.0).await;
    let state = app.state.clone();
    let pid = app.platform_id;
    let (held_tx, held_rx) = tokio::sync::oneshot::channel();
    let worker = tokio::spawn(async move {
        let hold = holds::reserve(
            &state.db,
            &state.clock,
            pid,
            euid,
            Money::from_micros(300_000),
            "run",
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let _ = held_tx.send(hold);
        std::future::pending::<()>().await;
    });
    held_rx.await.expect("hold taken");
    worker.abort();
    let path = format!("/v1/platforms/{pid}/end-users/{euid}/budget");
    assert_eq!(
        app.get(&path, &app.platform_key).await.data()["held_usd"],
        0.3
    );

    let app = app
        .restart(|c| {
            c.hold_ttl_secs = 1;
            c.hold_sweep_interval_ms = 100;
        })
        .await;
    let swept = TestApp::eventually(Duration::from_secs(10), || async {
        app.get(&path, &app.platform_key).await.data()["held_usd"] == 0.0
    })
    .await;
    assert!(swept, "the sweeper releases the stranded hold");
    assert_exact_books(&app, euid, 1.0).await;
    app.stop().await;
}

/// A settle within its reservation takes a one-statement path; when the budget
/// no longer covers the charge (its allowance was cut while the hold was open) it
/// charges what is left and records the shortfall, exactly as above a reservation.
async fn a_cut_allowance_while_held_charges_what_is_left(backend: Backend) {
    let app = spawn_app(backend).await;
    let euid = user_with_budget(&app, "cut", 10.0).await;
    let state = &app.state;
    let eight = Money::from_micros(8_000_000);
    let hold = holds::reserve(
        &state.db,
        &state.clock,
        app.platform_id,
        euid,
        eight,
        "test",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let path = format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id);
    let cut = app
        .patch(&path, &app.platform_key, &json!({"max_usd": 3.0}))
        .await;
    assert_eq!(cut.status, 200, "{}", cut.body);
    let settled = holds::settle(&state.db, &state.clock, &hold, eight)
        .await
        .unwrap();
    assert_eq!(settled.charged, Money::from_micros(3_000_000));
    assert_eq!(settled.shortfall, Money::from_micros(5_000_000));
    assert_exact_books(&app, euid, 0.0).await;

    // And the common case: within what is left, charged in full.
    let topped = app
        .patch(&path, &app.platform_key, &json!({"max_usd": 5.0}))
        .await;
    assert_eq!(topped.status, 200, "{}", topped.body);
    let hold = holds::reserve(
        &state.db,
        &state.clock,
        app.platform_id,
        euid,
        CENT,
        "test",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let settled = holds::settle(&state.db, &state.clock, &hold, Money::from_micros(4_000))
        .await
        .unwrap();
    assert_eq!(settled.charged, Money::from_micros(4_000));
    assert_eq!(settled.shortfall, Money::ZERO);
    // A second settle of the same hold changes nothing.
    let again = holds::settle(&state.db, &state.clock, &hold, Money::from_micros(4_000)).await;
    assert_eq!(again.unwrap_err().code(), "conflict");
    assert_exact_books(&app, euid, 1.996).await;
    app.stop().await;
}

both_backends!(
    concurrent_reserves_never_overspend,
    wallet_refusals_leave_budgets_untouched,
    refusals_carry_the_precise_code,
    a_crash_mid_hold_leaves_nothing_held_after_restart,
    a_cut_allowance_while_held_charges_what_is_left,
);
