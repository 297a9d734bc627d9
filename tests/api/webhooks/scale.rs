//! The scale proof: 10,000 events, on PostgreSQL by two gateway
//! instances sharing one database (one instance on SQLite, which one process
//! owns), to one receiver that verifies every delivery with both official
//! libraries. The first attempt of about one event in four fails, so thousands of
//! retries are claimed again by either instance. Each event is accepted at least
//! once, always with the same body; no delivery ever has two attempts in flight at
//! once (as the receiver saw them, and in the gateway's attempt log); and the
//! gateway's delivery log agrees with what the receiver got. The bench
//! (`benches/webhooks.rs`) measures the rate.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use assistiv::billing::events;
use serde_json::{Value, json};

use super::{Receiver, accepted_ids, all_deliveries, assert_all_verified, create_endpoint, fast};
use crate::helpers::{
    Backend, TestApp, fresh_postgres_database, spawn_app_with, spawn_on_database,
};

const EVENTS: usize = 10_000;
/// Outbox rows written per transaction.
const BATCH: usize = 500;
/// The receiver fails the first attempt of one event in this many.
const FAIL_ONE_IN: usize = 4;

async fn many_events_two_instances_no_attempt_twice_at_once(backend: Backend) {
    let receiver = Receiver::start().await;
    // A long timeout keeps an answer the loaded machine is slow to give from
    // being retried while the receiver still works on it (which would be two
    // attempts at once, by design, rather than a claiming bug).
    let settings = |c: &mut assistiv::config::Config| {
        fast(c);
        c.webhook_concurrency = 8;
        c.webhook_timeout_ms = 15_000;
    };
    let (app, second) = match backend {
        Backend::Sqlite => (spawn_app_with(backend, settings).await, None),
        Backend::Postgres => {
            // Each instance names its sessions, and each attempt row records the
            // session that wrote it (a column this test adds to its own database):
            // which instance made which attempt.
            let database = fresh_postgres_database().await;
            let named = |name: &str| Some(format!("{database}?application_name={name}"));
            let app = spawn_on_database(named("first"), settings).await;
            let master_key = std::fs::read_to_string(app.data_dir.join("master.key")).unwrap();
            let master_key = master_key.trim().to_owned();
            let second = spawn_on_database(named("second"), |c| {
                settings(c);
                c.bootstrap = false;
                // Instances sharing a database share the master key.
                c.master_key = Some(master_key.into());
            })
            .await;
            super::record_who_attempts(&app.state.db).await;
            (app, Some(second))
        }
    };
    let path = format!("/some-fail/{FAIL_ONE_IN}");
    let (endpoint, secret) = create_endpoint(&app, &receiver.url(&path), &[]).await;
    receiver.set_secrets(&[&secret]).await;
    let started = std::time::Instant::now();
    for batch in 0..EVENTS / BATCH {
        let mut tx = app.state.db.begin().await.unwrap();
        for i in 0..BATCH {
            events::record(
                &mut tx,
                app.platform_id,
                events::BUDGET_DEBITED,
                json!({"amount_usd": 0.01, "balance_usd": (batch * BATCH + i) as f64}),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let delivered = TestApp::eventually(Duration::from_secs(240), || async {
        let summary = receiver.summary().await;
        assert_eq!(summary.overlaps, 0, "two attempts at once: {summary:?}");
        summary.accepted >= EVENTS
    })
    .await;
    if !delivered {
        let summary = receiver.summary().await;
        panic!(
            "{} of {EVENTS} accepted ({} requests); {}",
            summary.accepted,
            summary.requests,
            gateway_summary(&app).await
        );
    }
    let elapsed = started.elapsed();
    // The gateway records an attempt after the answer: wait for its view.
    let recorded = TestApp::eventually(Duration::from_secs(30), || async {
        count(
            &app,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'",
        )
        .await
            == EVENTS as i64
    })
    .await;
    assert!(
        recorded,
        "the gateway's log: {}",
        gateway_summary(&app).await
    );

    let (log, overlaps) = receiver.state().await;
    assert_eq!(
        overlaps, 0,
        "a delivery was attempted twice at the same time"
    );
    assert_all_verified(&log);
    let accepted = accepted_ids(&log);
    let outbox: BTreeSet<String> = super::outbox_ids(&app).await.into_iter().collect();
    assert_eq!(outbox.len(), EVENTS);
    assert_eq!(accepted, outbox, "every event accepted");
    // Sequence numbers: 1..=EVENTS, one per event.
    let mut sequences: Vec<i64> = bodies(&log)
        .values()
        .map(|body| body["data"]["sequence"].as_i64().unwrap())
        .collect();
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=EVENTS as i64).collect::<Vec<_>>());
    // The retries happened (so the overlap checks had something to catch).
    let retried = log.iter().filter(|r| r["status"] == 500).count();
    assert!(
        retried > EVENTS / FAIL_ONE_IN / 2,
        "{retried} first attempts failed"
    );

    // The gateway's delivery log (its API) against what the receiver got: one
    // delivery per event, delivered with a 200, with as many attempts as the
    // receiver saw requests of that event.
    let mut requests: HashMap<&str, i64> = HashMap::new();
    for record in &log {
        *requests.entry(record["id"].as_str().unwrap()).or_default() += 1;
    }
    let deliveries = all_deliveries(&app, endpoint).await;
    assert_eq!(deliveries.len(), EVENTS);
    for delivery in &deliveries {
        let id = delivery["event_id"].as_str().unwrap();
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["status_code"], 200, "{delivery}");
        assert_eq!(
            delivery["attempts"].as_i64(),
            requests.get(id).copied(),
            "the gateway's attempts of {id} against the receiver's requests: {delivery}"
        );
    }
    // And its attempt log: each attempt number once per delivery, and no two
    // attempts of one delivery overlapping in time.
    let twice = count(
        &app,
        "SELECT COUNT(*) FROM (SELECT delivery_id, attempt FROM webhook_attempts \
         GROUP BY delivery_id, attempt HAVING COUNT(*) > 1) t",
    )
    .await;
    assert_eq!(twice, 0, "the gateway logged an attempt number twice");
    let overlapping = count(
        &app,
        "SELECT COUNT(*) FROM webhook_attempts a JOIN webhook_attempts b \
         ON b.delivery_id = a.delivery_id AND b.attempt > a.attempt \
         AND b.started_at_ms < a.finished_at_ms",
    )
    .await;
    assert_eq!(overlapping, 0, "the gateway logged overlapping attempts");
    let mut instances = String::new();
    if let Some(second) = second {
        // Both instances made attempts, and retries moved between them.
        let made_by: Vec<(String, i64)> = app
            .state
            .db
            .fetch_all(
                "SELECT made_by, COUNT(*) FROM webhook_attempts GROUP BY made_by ORDER BY made_by",
                &[],
            )
            .await
            .unwrap();
        let names: Vec<&str> = made_by.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["first", "second"],
            "attempts by instance: {made_by:?}"
        );
        let handed_over = count(
            &app,
            "SELECT COUNT(*) FROM (SELECT delivery_id FROM webhook_attempts \
             GROUP BY delivery_id HAVING COUNT(DISTINCT made_by) > 1) t",
        )
        .await;
        assert!(handed_over > 0, "no retry was made by the other instance");
        instances = format!(
            "; attempts by instance {made_by:?}, {handed_over} deliveries retried by the other"
        );
        second.stop().await;
    }
    eprintln!(
        "{backend:?}: {EVENTS} events accepted in {:.1} s ({:.0}/s), {} requests \
         ({retried} first attempts failed){instances}",
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64(),
        log.len()
    );
    app.stop().await;
}

/// Each event's body (the receiver checked that an event has one body).
fn bodies(log: &[Value]) -> HashMap<&str, Value> {
    log.iter()
        .map(|r| {
            let body = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            (r["id"].as_str().unwrap(), body)
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = app
        .state
        .db
        .fetch_optional(sql, &[])
        .await
        .unwrap()
        .unwrap();
    n
}

/// Deliveries by state and the outbox's backlog, for a failure message.
async fn gateway_summary(app: &TestApp) -> String {
    let summary: Vec<(String, Option<String>, i32, i64)> = app
        .state
        .db
        .fetch_all(
            "SELECT status, last_error, attempts, COUNT(*) FROM webhook_deliveries \
             GROUP BY status, last_error, attempts",
            &[],
        )
        .await
        .unwrap();
    let undispatched = count(
        app,
        "SELECT COUNT(*) FROM outbox_events WHERE dispatched_at_ms IS NULL",
    )
    .await;
    format!("deliveries {summary:?}; undispatched {undispatched}")
}

both_backends!(many_events_two_instances_no_attempt_twice_at_once);
