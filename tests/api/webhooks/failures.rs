//! When receivers fail: retries on the schedule until accepted (500, then a
//! timeout, then 200), `Retry-After`, 410 disabling at once, 5 days without a
//! success disabling with a visible reason, redirects not followed, the SSRF
//! guard at delivery time, replay, recover and the retention purge.

use std::time::Duration;

use assistiv::billing::clock::ManualClock;
use serde_json::json;

use super::{
    Receiver, all_deliveries, assert_all_verified, budget_action, by_id, create_endpoint,
    endpoints_path, fast, user_with_budget,
};
use crate::helpers::{Backend, TestApp, spawn_app_with, spawn_app_with_clock};

async fn endpoint(app: &TestApp, id: uuid::Uuid) -> serde_json::Value {
    let reply = app
        .get(
            &format!("{}/{id}", endpoints_path(app.platform_id)),
            &app.platform_key,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.data().clone()
}

async fn retries_until_accepted_with_the_same_body(backend: Backend) {
    let receiver = Receiver::start_with_slow(2.0).await;
    let app = spawn_app_with(backend, fast).await;
    let (flaky, secret) = create_endpoint(&app, &receiver.url("/flaky"), &[]).await;
    let (patient, patient_secret) =
        create_endpoint(&app, &receiver.url("/retry-after"), &["budget.topped_up"]).await;
    receiver.set_secrets(&[&secret, &patient_secret]).await;
    let euid = user_with_budget(&app, "flaky", 10.0).await;
    for _ in 0..5 {
        budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    }
    receiver
        .wait_accepted_where(5, Duration::from_secs(40), |r| r["path"] == "/flaky")
        .await;
    // The slow second attempts are logged when the receiver finally answers.
    let done = TestApp::eventually(Duration::from_secs(10), || async {
        let (log, _) = receiver.state().await;
        log.iter().filter(|r| r["path"] == "/flaky").count() >= 15
    })
    .await;
    let (log, _) = receiver.state().await;
    let flaky_log: Vec<_> = log.into_iter().filter(|r| r["path"] == "/flaky").collect();
    assert!(done, "{flaky_log:?}");
    assert_all_verified(&flaky_log);
    let mut grouped = by_id(&flaky_log);
    for records in grouped.values_mut() {
        records.sort_by_key(|r| r["attempt"].as_i64());
    }
    assert_eq!(grouped.len(), 5);
    for (id, records) in &grouped {
        let statuses: Vec<i64> = records
            .iter()
            .map(|r| r["status"].as_i64().unwrap())
            .collect();
        assert_eq!(
            statuses,
            [500, 200, 200],
            "{id}: the second answered too late"
        );
    }
    let deliveries = all_deliveries(&app, flaky).await;
    assert_eq!(deliveries.len(), 5);
    for d in &deliveries {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 3, "{d}");
        let detail = app
            .get(
                &format!(
                    "{}/{flaky}/deliveries/{}",
                    endpoints_path(app.platform_id),
                    d["id"].as_str().unwrap()
                ),
                &app.platform_key,
            )
            .await;
        let attempts = detail.data()["attempt_log"].as_array().unwrap().clone();
        assert_eq!(attempts[0]["status_code"], 500);
        assert_eq!(attempts[0]["error"], "answered HTTP 500");
        assert!(attempts[1]["status_code"].is_null());
        assert!(
            attempts[1]["error"].as_str().unwrap().contains("timed out"),
            "{}",
            attempts[1]
        );
        assert_eq!(attempts[2]["status_code"], 200);
    }
    assert!(endpoint(&app, flaky).await["failing_since"].is_null());

    // Retry-After (1 s) is honoured over the 100 ms schedule.
    let patient_log: Vec<_> = receiver
        .wait_accepted_where(5, Duration::from_secs(20), |r| r["path"] == "/retry-after")
        .await
        .into_iter()
        .filter(|r| r["path"] == "/retry-after")
        .collect();
    for (id, records) in by_id(&patient_log) {
        assert_eq!(records[0]["status"], 503, "{id}");
        let waited =
            records[1]["received"].as_f64().unwrap() - records[0]["received"].as_f64().unwrap();
        assert!(waited >= 0.9, "{id}: retried after {waited} s");
    }
    assert_eq!(all_deliveries(&app, patient).await.len(), 5);
    app.stop().await;
}

async fn gone_and_five_failing_days_disable_the_endpoint(backend: Backend) {
    let receiver = Receiver::start().await;
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        fast(c);
        c.webhook_retry_schedule = "0s".into(); // one attempt per event
    })
    .await;
    let (gone, _) = create_endpoint(&app, &receiver.url("/gone"), &[]).await;
    let (failing, _) = create_endpoint(&app, &receiver.url("/fail"), &[]).await;
    let (redirect, _) = create_endpoint(&app, &receiver.url("/redirect"), &[]).await;
    let euid = user_with_budget(&app, "gone", 10.0).await;
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    let settled = TestApp::eventually(Duration::from_secs(20), || async {
        let g = endpoint(&app, gone).await;
        let f = endpoint(&app, failing).await;
        g["enabled"] == false && f["failing_since"].is_string()
    })
    .await;
    assert!(settled, "410 disabled one endpoint; the other is failing");
    let g = endpoint(&app, gone).await;
    assert!(
        g["disabled_reason"].as_str().unwrap().contains("410"),
        "{g}"
    );
    assert_eq!(endpoint(&app, failing).await["enabled"], true);
    // A redirect is an answer like any other non-2xx: not followed.
    let redirected = TestApp::eventually(Duration::from_secs(10), || async {
        all_deliveries(&app, redirect)
            .await
            .first()
            .is_some_and(|d| d["status_code"] == 302)
    })
    .await;
    assert!(redirected);
    let d = &all_deliveries(&app, redirect).await[0];
    assert_eq!(d["status"], "failed", "{d}");
    assert!(
        d["response"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed")
    );
    assert!(
        receiver.state().await.0.iter().all(|r| r["path"] != "/ok"),
        "the redirect was followed"
    );

    // Four days on, still enabled; past five days without a success, disabled.
    clock.advance(chrono::Duration::days(4));
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    let attempted = TestApp::eventually(Duration::from_secs(20), || async {
        all_deliveries(&app, failing)
            .await
            .iter()
            .all(|d| d["status"] == "failed")
    })
    .await;
    assert!(attempted);
    assert_eq!(endpoint(&app, failing).await["enabled"], true);
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    let disabled = TestApp::eventually(Duration::from_secs(20), || async {
        endpoint(&app, failing).await["enabled"] == false
    })
    .await;
    assert!(disabled);
    let f = endpoint(&app, failing).await;
    assert!(
        f["disabled_reason"].as_str().unwrap().contains("5 days"),
        "{f}"
    );
    // Nothing more is attempted while disabled; enabling clears the reason.
    let before = receiver.state().await.0.len();
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fail_count =
        |log: &[serde_json::Value]| log.iter().filter(|r| r["path"] == "/fail").count();
    let (log, _) = receiver.state().await;
    assert_eq!(log.len(), before, "{}", fail_count(&log));
    let enabled = app
        .patch(
            &format!("{}/{failing}", endpoints_path(app.platform_id)),
            &app.platform_key,
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert!(enabled.data()["disabled_reason"].is_null());
    assert!(enabled.data()["failing_since"].is_null());
    app.stop().await;
}

/// Allowed when created; refused at delivery once the operator no longer allows
/// loopback, with the reason in the delivery log.
async fn private_targets_are_refused_at_delivery(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, fast).await;
    let (hook, _) = create_endpoint(&app, &receiver.url("/ok"), &[]).await;
    let app = app
        .restart(|c| {
            fast(c);
            c.webhook_allowed_subnets = None;
        })
        .await;
    let euid = user_with_budget(&app, "ssrf", 10.0).await;
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    let refused = TestApp::eventually(Duration::from_secs(20), || async {
        all_deliveries(&app, hook)
            .await
            .first()
            .is_some_and(|d| d["error"].as_str().is_some_and(|e| e.contains("refused")))
    })
    .await;
    assert!(refused, "{:?}", all_deliveries(&app, hook).await);
    let d = &all_deliveries(&app, hook).await[0];
    let error = d["error"].as_str().unwrap();
    assert!(
        error.contains("loopback") && error.contains("ASSISTIV_WEBHOOK"),
        "{error}"
    );
    assert!(d["status_code"].is_null());
    assert!(receiver.state().await.0.is_empty(), "nothing was sent");
    app.stop().await;
}

async fn replay_and_recover_resend(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, fast).await;
    let (hook, secret) = create_endpoint(&app, &receiver.url("/ok"), &[]).await;
    receiver.set_secrets(&[&secret]).await;
    let euid = user_with_budget(&app, "recovering", 10.0).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    for _ in 0..3 {
        budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    }
    let log = receiver.wait_accepted(3, Duration::from_secs(20)).await;
    assert_eq!(log.len(), 3);
    // Recover once the gateway itself shows the three delivered: an event whose
    // delivery the dispatcher has not created yet is simply queued once.
    wait_recorded(&app, hook, 3, 1).await;
    let base = format!("{}/{hook}", endpoints_path(app.platform_id));

    let recovered = app
        .post(
            &format!("{base}/recover"),
            &app.platform_key,
            &json!({"since": before}),
        )
        .await;
    assert_eq!(recovered.status, 202, "{}", recovered.body);
    assert_eq!(recovered.data()["queued"], 3);
    let resent = TestApp::eventually(Duration::from_secs(20), || async {
        receiver.state().await.0.len() >= 6
    })
    .await;
    assert!(
        resent,
        "received {}, deliveries {:?}",
        receiver.state().await.0.len(),
        all_deliveries(&app, hook).await
    );
    let (log, _) = receiver.state().await;
    assert_all_verified(&log);
    assert!(by_id(&log).values().all(|records| records.len() == 2));

    // Replay once the gateway has recorded the resent attempts: one still in
    // flight (answered, not yet recorded) makes a replay a 409.
    wait_recorded(&app, hook, 3, 2).await;
    let deliveries = all_deliveries(&app, hook).await;
    let replayed = app
        .post(
            &format!(
                "{base}/deliveries/{}/replay",
                deliveries[0]["id"].as_str().unwrap()
            ),
            &app.platform_key,
            &json!({}),
        )
        .await;
    assert_eq!(replayed.status, 202, "{}", replayed.body);
    assert!(
        TestApp::eventually(Duration::from_secs(20), || async {
            receiver.state().await.0.len() >= 7
        })
        .await
    );
    assert_all_verified(&receiver.state().await.0);

    for since in [
        json!(chrono::Utc::now() - chrono::Duration::days(15)),
        json!(chrono::Utc::now() + chrono::Duration::days(1)),
        json!("yesterday"),
    ] {
        app.post(
            &format!("{base}/recover"),
            &app.platform_key,
            &json!({"since": since}),
        )
        .await
        .assert_error(400, "bad_request");
    }
    app.post(
        &format!("{base}/deliveries/{}/replay", uuid::Uuid::new_v4()),
        &app.platform_key,
        &json!({}),
    )
    .await
    .assert_error(404, "not_found");
    app.stop().await;
}

/// Waits until the gateway's own log shows `n` deliveries of `hook`, each
/// delivered at its attempt `attempts` (the receiver has answered before the
/// gateway records the attempt).
async fn wait_recorded(app: &TestApp, hook: uuid::Uuid, n: usize, attempts: i64) {
    let recorded = TestApp::eventually(Duration::from_secs(20), || async {
        let deliveries = all_deliveries(app, hook).await;
        deliveries.len() == n
            && deliveries
                .iter()
                .all(|d| d["status"] == "delivered" && d["attempts"] == attempts)
    })
    .await;
    assert!(recorded, "{:?}", all_deliveries(app, hook).await);
}

/// Finished deliveries older than the retention are purged with their attempts
/// and messages; pending ones stay.
async fn retention_purges_finished_deliveries(backend: Backend) {
    let receiver = Receiver::start().await;
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), fast).await;
    let (hook, secret) = create_endpoint(&app, &receiver.url("/ok"), &[]).await;
    receiver.set_secrets(&[&secret]).await;
    let (stuck, _) = create_endpoint(&app, &receiver.url("/fail"), &[]).await;
    let euid = user_with_budget(&app, "old", 10.0).await;
    budget_action(&app, euid, "topup", json!({"amount_usd": 1})).await;
    let done = TestApp::eventually(Duration::from_secs(20), || async {
        all_deliveries(&app, hook)
            .await
            .first()
            .is_some_and(|d| d["status"] == "delivered")
            && all_deliveries(&app, stuck)
                .await
                .first()
                .is_some_and(|d| d["attempts"] == 1)
    })
    .await;
    assert!(
        done,
        "one delivered, one waiting for a retry the frozen clock never reaches"
    );
    let count = |table: &'static str| {
        let db = app.state.db.clone();
        async move {
            let (n,): (i64,) = db
                .fetch_optional(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await
                .unwrap()
                .unwrap();
            n
        }
    };
    assert_eq!(
        app.state.webhooks.purge().await.unwrap(),
        0,
        "nothing old yet"
    );
    clock.advance(chrono::Duration::days(31));
    assert_eq!(app.state.webhooks.purge().await.unwrap(), 1);
    assert!(all_deliveries(&app, hook).await.is_empty());
    assert_eq!(all_deliveries(&app, stuck).await.len(), 1, "pending stays");
    assert_eq!(
        count("webhook_messages").await,
        1,
        "the pending one's message"
    );
    assert_eq!(count("outbox_events").await, 0);
    app.stop().await;
}

both_backends!(
    retention_purges_finished_deliveries,
    retries_until_accepted_with_the_same_body,
    gone_and_five_failing_days_disable_the_endpoint,
    private_targets_are_refused_at_delivery,
    replay_and_recover_resend
);
