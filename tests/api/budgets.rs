//! Budgets over HTTP: lifecycle, ledger, idempotency, bootstrap, bad input.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use assistiv::billing::clock::ManualClock;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with_clock};

fn budget_path(app: &TestApp, euid: uuid::Uuid) -> String {
    format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id)
}

async fn post_idempotent(
    app: &TestApp,
    path: &str,
    key: &str,
    body: &Value,
) -> crate::helpers::Reply {
    app.send(
        app.request(Method::POST, path, Some(&app.platform_key))
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

/// Every ledger row of the end user, oldest first, following cursors.
async fn ledger(app: &TestApp, euid: uuid::Uuid) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{}/transactions?limit=3", budget_path(app, euid));
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path, &app.platform_key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        rows.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    rows.reverse();
    rows
}

fn micros(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 1e6).round() as i64
}

async fn budget_lifecycle_with_an_exact_ledger(backend: Backend) {
    let app = spawn_app(backend).await;
    let (euid, eu_key) = app.create_end_user("user-1").await;
    let path = budget_path(&app, euid);
    app.get(&path, &app.platform_key)
        .await
        .assert_error(404, "not_found");

    let created = app
        .post(
            &path,
            &app.platform_key,
            &json!({"max_usd": 10, "period": "monthly", "low_balance_threshold": 2}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.data()["max_usd"], 10.0);
    assert_eq!(created.data()["remaining_usd"], 10.0);
    assert!(created.data()["resets_at"].is_string());
    app.post(
        &path,
        &app.platform_key,
        &json!({"max_usd": 1, "period": "daily"}),
    )
    .await
    .assert_error(409, "conflict");

    let topped = post_idempotent(
        &app,
        &format!("{path}/topup"),
        "stipend-2026-05",
        &json!({"amount_usd": 5, "reason": "monthly_stipend"}),
    )
    .await;
    assert_eq!(topped.status, 200, "{}", topped.body);
    assert_eq!(topped.data()["balance_usd"], 15.0);
    let replay = post_idempotent(
        &app,
        &format!("{path}/topup"),
        "stipend-2026-05",
        &json!({"amount_usd": 5, "reason": "monthly_stipend"}),
    )
    .await;
    assert_eq!(replay.body, topped.body);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    post_idempotent(
        &app,
        &format!("{path}/topup"),
        "stipend-2026-05",
        &json!({"amount_usd": 6}),
    )
    .await
    .assert_error(409, "conflict");

    let debited = app
        .post(
            &format!("{path}/debit"),
            &app.platform_key,
            &json!({"amount_usd": 14.5, "reason": "chargeback"}),
        )
        .await;
    assert_eq!(debited.status, 200, "{}", debited.body);
    assert_eq!(debited.data()["balance_usd"], 0.5);
    app.post(
        &format!("{path}/debit"),
        &app.platform_key,
        &json!({"amount_usd": 1}),
    )
    .await
    .assert_error(402, "budget_exhausted");

    let suspended = app
        .post(&format!("{path}/suspend"), &app.platform_key, &json!({}))
        .await;
    assert_eq!(suspended.data()["is_suspended"], true);
    let unsuspended = app
        .post(&format!("{path}/unsuspend"), &app.platform_key, &json!({}))
        .await;
    assert_eq!(unsuspended.data()["is_suspended"], false);

    let patched = app
        .patch(&path, &app.platform_key, &json!({"max_usd": 20}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        patched.data()["balance_usd"],
        10.5,
        "raising the allowance by 10 adds 10"
    );

    let rows = ledger(&app, euid).await;
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "allowance",
            "topup",
            "debit",
            "suspend",
            "unsuspend",
            "allowance_change"
        ]
    );
    let sum: i64 = rows.iter().map(|r| micros(&r["amount_usd"])).sum();
    assert_eq!(sum, micros(&patched.data()["balance_usd"]));
    assert_eq!(micros(&rows.last().unwrap()["balance_after_usd"]), sum);
    assert_eq!(rows[1]["idempotency_key"], "stipend-2026-05");
    assert!(
        rows[1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("platform_key:")
    );

    // The end user reads it too, in display units.
    let mine = app.get("/v1/me/budget", &eu_key).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.data()["remaining_usd"], 10.5);
    assert_eq!(mine.data()["display"]["unit"], "credits");
    assert_eq!(mine.data()["display"]["remaining"], 10500.0);
    let my_ledger = app.get("/v1/me/budget/transactions", &eu_key).await;
    assert_eq!(my_ledger.body["data"].as_array().unwrap().len(), 6);

    // Events were written with the changes.
    let events = outbox_types(&app).await;
    for expected in [
        "budget.topped_up",
        "budget.debited",
        "budget.low_balance",
        "budget.suspended",
        "budget.unsuspended",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "missing {expected} in {events:?}"
        );
    }
    assert_eq!(
        events.iter().filter(|e| *e == "budget.topped_up").count(),
        1,
        "replays add no event"
    );

    let deleted = app.delete(&path, &app.platform_key).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    app.get(&path, &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.stop().await;
}

pub async fn outbox_types(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .state
        .db
        .fetch_all("SELECT event_type FROM outbox_events ORDER BY seq", &[])
        .await
        .unwrap();
    rows.into_iter().map(|(t,)| t).collect()
}

async fn concurrent_topups_with_one_key_have_one_effect(backend: Backend) {
    let app = spawn_app(backend).await;
    let (euid, _) = app.create_end_user("user-1").await;
    let path = budget_path(&app, euid);
    app.post(
        &path,
        &app.platform_key,
        &json!({"max_usd": 0, "period": "one_time"}),
    )
    .await;
    let body = json!({"amount_usd": 2.5, "reason": "promo_grant"});
    let topup = format!("{path}/topup");
    let replies = futures::future::join_all(
        (0..200).map(|_| post_idempotent(&app, &topup, "promo-2026-q2", &body)),
    )
    .await;
    let bodies: HashSet<String> = replies.iter().map(|r| r.body.to_string()).collect();
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().find(|r| r.status != 200)
    );
    assert_eq!(bodies.len(), 1, "all 200 answers are identical");
    let rows = ledger(&app, euid).await;
    assert_eq!(rows.iter().filter(|r| r["kind"] == "topup").count(), 1);
    let budget = app.get(&path, &app.platform_key).await;
    assert_eq!(budget.data()["balance_usd"], 2.5);
    app.stop().await;
}

async fn one_call_bootstrap_and_default_budget(backend: Backend) {
    let app = spawn_app(backend).await;
    let users = format!("/v1/platforms/{}/end-users", app.platform_id);
    let created = app
        .post(
            &users,
            &app.platform_key,
            &json!({"external_id": "user_42", "display_name": "Jane Smith", "metadata": {"plan": "pro"},
                    "budget": {"max_usd": 5, "period": "monthly"},
                    "rate_limits": {"rpm_limit": 60, "tpm_limit": 50000}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.data()["budget"]["max_usd"], 5.0);
    assert_eq!(created.data()["rate_limits"]["rpm_limit"], 60);
    assert!(
        created.data()["api_key"]["raw_key"]
            .as_str()
            .unwrap()
            .starts_with("sk-eu_")
    );

    // A retry neither duplicates nor fails.
    let again = app
        .post(
            &users,
            &app.platform_key,
            &json!({"external_id": "user_42", "budget": {"max_usd": 5, "period": "monthly"}}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.data()["budget"]["max_usd"], 5.0);

    // Without a budget, new end users get the platform's default.
    app.patch(
        &format!("/v1/platforms/{}", app.platform_id),
        &app.platform_key,
        &json!({"default_budget": {"max_usd": 1.25, "period": "daily"}}),
    )
    .await;
    let plain = app
        .post(&users, &app.platform_key, &json!({"external_id": "plain"}))
        .await;
    assert_eq!(plain.data()["budget"]["max_usd"], 1.25);
    assert_eq!(plain.data()["budget"]["period"], "daily");

    // A bad budget in the bootstrap writes nothing at all.
    let bad = app
        .post(
            &users,
            &app.platform_key,
            &json!({"external_id": "bad", "budget": {"max_usd": -1, "period": "monthly"}}),
        )
        .await;
    bad.assert_error(400, "bad_request");
    let listed = app
        .get(&format!("{users}?external_id=bad"), &app.platform_key)
        .await;
    assert_eq!(listed.body["total"], 0);
    app.stop().await;
}

async fn bad_amounts_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (euid, _) = app.create_end_user("user-1").await;
    let path = budget_path(&app, euid);
    for body in [
        r#"{"max_usd": -1, "period": "monthly"}"#,
        r#"{"max_usd": 1e300, "period": "monthly"}"#,
        r#"{"max_usd": 0.000000001, "period": "monthly"}"#,
        r#"{"max_usd": 1, "period": "weekly"}"#,
        r#"{"max_usd": NaN, "period": "monthly"}"#,
        r#"{"max_usd": "5", "period": "monthly"}"#,
        r#"{"max_usd": 5, "period": "monthly", "auto_replenish": true}"#,
        r#"{"max_usd": 5, "period": "monthly", "extra": 1}"#,
    ] {
        let reply = app
            .send(
                app.request(Method::POST, &path, Some(&app.platform_key))
                    .header("Content-Type", "application/json")
                    .body(body),
            )
            .await;
        reply.assert_error(400, "bad_request");
    }
    app.get(&path, &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.post(
        &path,
        &app.platform_key,
        &json!({"max_usd": 5, "period": "monthly"}),
    )
    .await;
    let before = ledger(&app, euid).await;
    for (route, body) in [
        ("topup", json!({"amount_usd": -5})),
        ("topup", json!({"amount_usd": 0})),
        ("topup", json!({"amount_usd": 1e300})),
        ("topup", json!({"amount_usd": 0.123456789})),
        ("debit", json!({"amount_usd": -1})),
        ("debit", json!({"amount": 1})),
    ] {
        app.post(&format!("{path}/{route}"), &app.platform_key, &body)
            .await
            .assert_error(400, "bad_request");
    }
    let bad_key = app
        .send(
            app.request(
                Method::POST,
                &format!("{path}/topup"),
                Some(&app.platform_key),
            )
            .header("Idempotency-Key", "x".repeat(300))
            .json(&json!({"amount_usd": 1})),
        )
        .await;
    bad_key.assert_error(400, "bad_request");
    app.get(
        &format!("{path}/transactions?cursor=bogus"),
        &app.platform_key,
    )
    .await
    .assert_error(400, "bad_request");
    assert_eq!(ledger(&app, euid).await, before);
    app.stop().await;
}

async fn budgets_of_another_platform_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, b_key) = app.create_platform("tenant-b").await;
    let (b_user, _) = app.create_end_user_on(b, &b_key, "b-user").await;
    app.post(
        &format!("/v1/platforms/{b}/end-users/{b_user}/budget"),
        &b_key,
        &json!({"max_usd": 5, "period": "monthly"}),
    )
    .await;
    let a = app.platform_id;
    for (method, path) in [
        (
            Method::GET,
            format!("/v1/platforms/{a}/end-users/{b_user}/budget"),
        ),
        (
            Method::POST,
            format!("/v1/platforms/{a}/end-users/{b_user}/budget/topup"),
        ),
        (
            Method::POST,
            format!("/v1/platforms/{a}/end-users/{b_user}/budget/debit"),
        ),
        (
            Method::POST,
            format!("/v1/platforms/{a}/end-users/{b_user}/budget/suspend"),
        ),
        (
            Method::GET,
            format!("/v1/platforms/{a}/end-users/{b_user}/budget/transactions"),
        ),
        (
            Method::PUT,
            format!("/v1/platforms/{a}/end-users/{b_user}/rate-limits"),
        ),
        (
            Method::GET,
            format!("/v1/platforms/{b}/end-users/{b_user}/budget"),
        ),
        (
            Method::POST,
            format!("/v1/platforms/{b}/end-users/{b_user}/budget/topup"),
        ),
    ] {
        let body = if path.ends_with("rate-limits") {
            json!({"rpm_limit": 1})
        } else {
            json!({"amount_usd": 1})
        };
        let reply = app
            .send(
                app.request(method.clone(), &path, Some(&app.platform_key))
                    .json(&body),
            )
            .await;
        reply.assert_error(404, "not_found");
    }
    let b_budget = app
        .get(
            &format!("/v1/platforms/{b}/end-users/{b_user}/budget"),
            &b_key,
        )
        .await;
    assert_eq!(b_budget.data()["balance_usd"], 5.0);
    assert_eq!(b_budget.data()["is_suspended"], false);
    app.stop().await;
}

/// An `Idempotency-Key` is scoped per end user and operation: a platform sends
/// the same monthly key for every user (the README's `stipend-2026-05`), and a
/// topup key does not block a debit with it. Another platform never reaches
/// these answers.
async fn keys_are_scoped_per_end_user_and_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut paths = Vec::new();
    for external_id in ["user-a", "user-b"] {
        let (euid, _) = app.create_end_user(external_id).await;
        let path = budget_path(&app, euid);
        let created = app
            .post(
                &path,
                &app.platform_key,
                &json!({"max_usd": 0, "period": "one_time"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        paths.push((euid, path));
    }
    let stipend = json!({"amount_usd": 5, "reason": "monthly_stipend"});
    let mut first = Vec::new();
    for (_, path) in &paths {
        let topped =
            post_idempotent(&app, &format!("{path}/topup"), "stipend-2026-05", &stipend).await;
        assert_eq!(topped.status, 200, "{}", topped.body);
        assert_eq!(topped.data()["balance_usd"], 5.0);
        assert!(topped.headers.get("idempotent-replayed").is_none());
        first.push(topped);
    }
    for ((_, path), first) in paths.iter().zip(&first) {
        let replay =
            post_idempotent(&app, &format!("{path}/topup"), "stipend-2026-05", &stipend).await;
        assert_eq!(replay.body, first.body);
        assert_eq!(replay.headers["idempotent-replayed"], "true");
    }
    let (euid_a, path_a) = &paths[0];
    let debited = post_idempotent(
        &app,
        &format!("{path_a}/debit"),
        "stipend-2026-05",
        &json!({"amount_usd": 1}),
    )
    .await;
    assert_eq!(debited.status, 200, "{}", debited.body);
    assert_eq!(debited.data()["balance_usd"], 4.0);
    let rows = ledger(&app, *euid_a).await;
    let keyed: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["idempotency_key"].is_string())
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["idempotency_key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keyed,
        [("topup", "stipend-2026-05"), ("debit", "stipend-2026-05")]
    );

    // Another platform with the same key and body reaches nothing of these.
    let (other, other_key) = app.create_platform("other").await;
    let theirs = app
        .send(
            app.request(
                Method::POST,
                &format!("/v1/platforms/{other}/end-users/{euid_a}/budget/topup"),
                Some(&other_key),
            )
            .header("Idempotency-Key", "stipend-2026-05")
            .json(&stipend),
        )
        .await;
    theirs.assert_error(404, "not_found");
    let a = app.get(path_a, &app.platform_key).await;
    assert_eq!(a.data()["balance_usd"], 4.0);
    app.stop().await;
}

/// Reading a budget writes nothing (no `updated_at` change, no write lock) until
/// a period reset is due; then the read starts the new period.
async fn reading_a_budget_writes_only_when_a_period_resets(backend: Backend) {
    let start = at("2026-11-22T12:00:00Z");
    let clock = ManualClock::new(start);
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let (euid, eu_key) = app.create_end_user("reader").await;
    let path = budget_path(&app, euid);
    let created = app
        .post(
            &path,
            &app.platform_key,
            &json!({"max_usd": 10, "period": "monthly"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let spent = app
        .post(
            &format!("{path}/debit"),
            &app.platform_key,
            &json!({"amount_usd": 3}),
        )
        .await;
    assert_eq!(spent.status, 200, "{}", spent.body);
    let written = spent.data()["updated_at"].clone();
    let rows = ledger(&app, euid).await.len();

    clock.advance(chrono::Duration::minutes(5));
    for _ in 0..2 {
        let theirs = app.get(&path, &app.platform_key).await;
        assert_eq!(theirs.status, 200, "{}", theirs.body);
        assert_eq!(
            theirs.data()["updated_at"],
            written,
            "a read wrote the budget"
        );
        assert_eq!(theirs.data()["balance_usd"], 7.0);
        let mine = app.get("/v1/me/budget", &eu_key).await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        assert_eq!(
            mine.data()["updated_at"],
            written,
            "a read wrote the budget"
        );
        clock.advance(chrono::Duration::minutes(5));
    }
    assert_eq!(ledger(&app, euid).await.len(), rows);

    // A new month: the read resets the period, once.
    clock.set(at("2026-12-01T00:00:01Z"));
    let reset = app.get("/v1/me/budget", &eu_key).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(reset.data()["balance_usd"], 10.0);
    assert_eq!(reset.data()["period_start"], "2026-12-01T00:00:00Z");
    let reset_at = reset.data()["updated_at"].clone();
    assert_ne!(reset_at, written);
    clock.advance(chrono::Duration::minutes(5));
    let after = app.get(&path, &app.platform_key).await;
    assert_eq!(after.data()["updated_at"], reset_at);
    let kinds: Vec<String> = ledger(&app, euid)
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "period_reset").count(), 1);
    app.stop().await;
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

both_backends!(
    budget_lifecycle_with_an_exact_ledger,
    concurrent_topups_with_one_key_have_one_effect,
    one_call_bootstrap_and_default_budget,
    bad_amounts_are_refused_and_change_nothing,
    budgets_of_another_platform_are_404,
    keys_are_scoped_per_end_user_and_operation,
    reading_a_budget_writes_only_when_a_period_resets,
);
