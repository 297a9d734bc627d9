//! Webhook delivery with three workers on one database: each event reaches the
//! receiver once per attempt (a failed first attempt is retried, by whichever
//! instance claims it), never two attempts of one delivery at once, every
//! request verified by the official libraries.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::{Cluster, INSTANCES};
use crate::webhooks::{
    Receiver, accepted_ids, assert_all_verified, endpoints_path, record_who_attempts,
};

const EVENTS: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_delivered_once_per_attempt_by_three_workers() {
    let receiver = Receiver::start().await;
    let cluster = Cluster::start(&[
        ("WEBHOOK_ALLOW_HTTP", "true"),
        ("WEBHOOK_ALLOWED_SUBNETS", "127.0.0.0/8"),
        ("WEBHOOK_POLL_INTERVAL_MS", "20"),
        ("WEBHOOK_CONCURRENCY", "4"),
        ("WEBHOOK_TIMEOUT_MS", "5000"),
        (
            "WEBHOOK_RETRY_SCHEDULE",
            "0s,100ms,100ms,100ms,100ms,100ms,100ms,100ms",
        ),
    ])
    .await;
    record_who_attempts(&cluster.db).await;

    let pid = cluster.platform_id;
    let created = cluster
        .post(
            &endpoints_path(pid),
            &cluster.platform_key,
            &json!({"url": receiver.url("/some-fail/4"), "event_types": ["budget.topped_up"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let endpoint = created.data()["id"].as_str().unwrap().to_owned();
    receiver
        .set_secrets(&[created.data()["secret"].as_str().unwrap()])
        .await;

    // Top-ups on every instance, each one event.
    let (euid, _) = cluster.end_user("topped-up", Some(1.0)).await;
    let topup = format!("/v1/platforms/{pid}/end-users/{euid}/budget/topup");
    for _ in 0..EVENTS {
        let reply = cluster
            .post(&topup, &cluster.platform_key, &json!({"amount_usd": 0.01}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let log = receiver
        .wait_accepted(EVENTS, Duration::from_secs(60))
        .await;
    let (_, overlaps) = receiver.state().await;
    assert_eq!(overlaps, 0, "two attempts of one delivery at once");
    assert_all_verified(&log);
    let events: Vec<(uuid::Uuid,)> = cluster
        .db
        .fetch_all(
            "SELECT id FROM outbox_events WHERE event_type = 'budget.topped_up' ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let outbox: BTreeSet<String> = events.iter().map(|(id,)| id.to_string()).collect();
    assert_eq!(outbox.len(), EVENTS);
    assert_eq!(accepted_ids(&log), outbox, "every event accepted");

    // The gateway's record against the receiver's: one delivery per event, as
    // many attempts as requests arrived, each attempt number once.
    let mut requests: HashMap<&str, i64> = HashMap::new();
    for record in &log {
        *requests.entry(record["id"].as_str().unwrap()).or_default() += 1;
    }
    let retried = requests.values().filter(|n| **n > 1).count();
    assert!(
        retried > 0,
        "no first attempt failed, so nothing was retried"
    );
    let recorded = super::within(Duration::from_secs(10), || async {
        cluster
            .count(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'",
                &[],
            )
            .await
            == EVENTS as i64
    })
    .await;
    assert!(recorded.is_some(), "the gateway recorded every delivery");
    let mut deliveries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{}/{endpoint}/deliveries?limit=200", endpoints_path(pid));
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = cluster
            .call(Method::GET, &path, &cluster.platform_key, None)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        deliveries.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(deliveries.len(), EVENTS);
    for delivery in &deliveries {
        let id = delivery["event_id"].as_str().unwrap();
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(
            delivery["attempts"].as_i64(),
            requests.get(id).copied(),
            "attempts of {id} against the receiver's requests: {delivery}"
        );
    }
    let twice = cluster
        .count(
            "SELECT COUNT(*) FROM (SELECT delivery_id, attempt FROM webhook_attempts \
             GROUP BY delivery_id, attempt HAVING COUNT(*) > 1) t",
            &[],
        )
        .await;
    assert_eq!(twice, 0, "an attempt number was logged twice");
    let workers = cluster
        .count("SELECT COUNT(DISTINCT made_by) FROM webhook_attempts", &[])
        .await;
    assert!(
        workers >= 2,
        "attempts came from {workers} of {INSTANCES} instances"
    );
    eprintln!(
        "webhooks: {EVENTS} events, {} requests, {retried} retried, attempts by {workers} instances",
        log.len()
    );
}
