//! Money across three instances: a budget admits exactly what it fits, an
//! `Idempotency-Key` runs once wherever its copies land, and a `kill -9` of one
//! instance mid-load loses no money and strands no hold.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Cluster, INSTANCES, within};
use crate::capabilities::{Upstream, provider, upstream};
use crate::helpers::ADMIN_TOKEN;
use crate::inference::{providers_path, sse_payloads, streamed_text};

/// A cluster whose capability `cap_t_cent` (0.01 USD a run) calls the stand-in,
/// enabled for the default platform and known to every instance.
async fn cluster_with_a_cent_capability(up: &Upstream) -> Cluster {
    let cluster = Cluster::start(&[("CAPABILITIES_CALL_TIMEOUT_MS", "10000")]).await;
    let body = provider(
        "cap_t_cent",
        "image-generation",
        &format!("{}/fixed/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    let added = cluster
        .post("/admin/v1/capabilities/providers", ADMIN_TOKEN, &body)
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let policy = format!("/admin/v1/platforms/{}/capabilities", cluster.platform_id);
    let enabled = cluster
        .call(
            Method::PUT,
            &policy,
            ADMIN_TOKEN,
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    // The other instances load operator changes on their health tick.
    for instance in &cluster.instances {
        let known = within(Duration::from_secs(10), || async {
            let listed = cluster
                .call_on(
                    instance,
                    Method::GET,
                    "/v1/capabilities/image-generation/providers",
                    &cluster.platform_key,
                    None,
                )
                .await;
            listed.body["data"]
                .as_array()
                .is_some_and(|all| all.iter().any(|p| p["uid"] == "cap_t_cent"))
        })
        .await;
        assert!(
            known.is_some(),
            "{} never saw the provider",
            instance.address
        );
    }
    cluster
}

const RUN: &str = "/v1/capabilities/run";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_paid_calls_on_three_instances_admit_exactly_what_the_budget_fits() {
    let up = upstream().await;
    let cluster = cluster_with_a_cent_capability(&up).await;
    let (euid, key) = cluster.end_user("crowd", Some(1.0)).await;

    let run = json!({"capability": "cap_t_cent", "input": {"prompt": "p"}});
    let answers = futures::future::join_all((0..1_000).map(|_| {
        let request = cluster
            .request(cluster.next(), Method::POST, RUN, &key)
            .json(&run);
        cluster.send(request)
    }))
    .await;
    let billed = answers
        .iter()
        .filter(|a| a.status == 200 && a.body["final_state"] == "billed")
        .count();
    let exhausted = answers
        .iter()
        .filter(|a| a.status == 402 && a.code() == "budget_exhausted")
        .count();
    assert_eq!(billed, 100, "exactly what the budget fits");
    assert_eq!(exhausted, 900, "the rest refused before any call");
    assert_eq!(
        up.seen.calls.load(Ordering::SeqCst),
        100,
        "refused runs never call"
    );

    cluster.assert_exact_books(euid, 0).await;
    let spends = cluster
        .count(
            "SELECT COUNT(*) FROM budget_ledger WHERE end_user_id = $1 \
             AND amount_micros = -10000 AND related_id LIKE 'capability_run:%'",
            &assistiv::args![euid],
        )
        .await;
    assert_eq!(spends, 100, "one spend of a cent per billed run");
    let runs = cluster
        .count(
            "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM capability_runs \
             WHERE end_user_id = $1",
            &assistiv::args![euid],
        )
        .await;
    assert_eq!(runs, 1_000_000, "the runs' costs sum to the budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_sent_to_every_instance_at_once_runs_once() {
    let up = upstream().await;
    let cluster = cluster_with_a_cent_capability(&up).await;
    let (euid, key) = cluster.end_user("retrying", Some(1.0)).await;
    let run = json!({"capability": "cap_t_cent", "input": {"prompt": "p"}});
    let send = |instance| {
        let request = cluster
            .request(instance, Method::POST, RUN, &key)
            .header("Idempotency-Key", "run-once")
            .json(&run);
        cluster.send(request)
    };

    let copies = 10 * INSTANCES;
    let answers = futures::future::join_all((0..copies).map(|_| send(cluster.next()))).await;
    let first: Vec<_> = answers
        .iter()
        .filter(|a| a.status == 200 && a.headers.get("idempotent-replayed").is_none())
        .collect();
    assert_eq!(first.len(), 1, "one copy ran");
    let first = first[0];
    assert_eq!(first.body["final_state"], "billed", "{}", first.body);
    for answer in &answers {
        match answer.status.as_u16() {
            200 => assert_eq!(answer.body, first.body, "a replay is the first answer"),
            // A copy that arrived while the run was in flight.
            409 => answer.assert_error(409, "conflict"),
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    // Settled now: every instance replays the one answer.
    for instance in &cluster.instances {
        let again = send(instance).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.body, first.body);
    }
    assert_eq!(up.seen.calls.load(Ordering::SeqCst), 1, "one provider call");
    cluster.assert_exact_books(euid, 990_000).await;
}

/// How one streamed completion ended, as its client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 200 and the whole stream, up to `[DONE]`.
    Complete,
    /// No answer, or a stream cut before `[DONE]` (the instance died).
    Cut,
}

/// Streams a completion on `instance`; how it ended (anything but a whole
/// stream or a dead connection fails the test).
async fn stream_one(client: reqwest::Client, url: String, key: String, body: Value) -> Outcome {
    let Ok(response) = client.post(url).bearer_auth(key).json(&body).send().await else {
        return Outcome::Cut;
    };
    let status = response.status();
    let Ok(text) = response.text().await else {
        return Outcome::Cut;
    };
    assert_eq!(status, 200, "{text}");
    let events = sse_payloads(&text);
    if events.last().is_some_and(|last| last == "[DONE]") {
        assert_eq!(streamed_text(&events), "hello world");
        Outcome::Complete
    } else {
        Outcome::Cut
    }
}

/// Gives the default platform's mock LLM a real-looking price, and waits until
/// every instance charges it (each caches its routing for 2 s).
async fn price_the_mock(cluster: &Cluster, key: &str) {
    let path = providers_path(cluster.platform_id);
    let list = cluster.get(&path, ADMIN_TOKEN).await;
    let id = list.data()[0]["id"].as_str().unwrap().to_owned();
    let priced = cluster
        .call(
            Method::PATCH,
            &format!("{path}/{id}"),
            ADMIN_TOKEN,
            Some(&json!({"prices": {"mock-1": {"input": 1000, "output": 2000}}})),
        )
        .await;
    assert_eq!(priced.status, 200, "{}", priced.body);
    let probe = json!({"model": "mock-1", "max_tokens": 4,
                       "messages": [{"role": "user", "content": "price?"}]});
    for instance in &cluster.instances {
        let charged = within(Duration::from_secs(10), || async {
            let reply = cluster
                .call_on(
                    instance,
                    Method::POST,
                    "/v1/chat/completions",
                    key,
                    Some(&probe),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.headers["x-assistiv-cost-usd"] != "0.000000"
        })
        .await;
        assert!(
            charged.is_some(),
            "{} never charged the price",
            instance.address
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_instance_mid_load_loses_no_money_and_strands_no_hold() {
    // Holds outlive the longest stream here by seconds, not minutes, so the
    // dead instance's holds are swept while the test waits.
    let cluster = Cluster::start(&[
        ("HOLD_TTL_SECS", "5"),
        ("HOLD_SWEEP_INTERVAL_MS", "200"),
        ("MOCK_CHUNK_DELAY_MS", "40"),
    ])
    .await;
    let (_, probe_key) = cluster.end_user("probe", Some(1.0)).await;
    price_the_mock(&cluster, &probe_key).await;
    let (euid, key) = cluster.end_user("survivor", Some(100.0)).await;

    let body = json!({"model": "mock-1", "stream": true, "max_tokens": 16,
                      "messages": [{"role": "user", "content": "hello world"}]});
    const CALLS: usize = 150;
    let load: Vec<_> = (0..CALLS)
        .map(|i| {
            let instance = i % INSTANCES;
            let call = stream_one(
                cluster.client.clone(),
                cluster.instances[instance].url("/v1/chat/completions"),
                key.clone(),
                body.clone(),
            );
            tokio::spawn(async move {
                // Spread over 1.5 s, so streams are in flight when the kill lands.
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                (instance, call.await)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut cluster = cluster;
    cluster.instances[1].kill().await;
    let mut outcomes = Vec::new();
    for task in load {
        outcomes.push(task.await.expect("load task"));
    }
    let complete = |n: usize| {
        outcomes
            .iter()
            .filter(|(i, o)| *i == n && *o == Outcome::Complete)
            .count()
    };
    let survivors: Vec<_> = outcomes.iter().filter(|(i, _)| *i != 1).collect();
    assert!(
        survivors.iter().all(|(_, o)| *o == Outcome::Complete),
        "a surviving instance cut a stream: {outcomes:?}"
    );
    let cut = outcomes.iter().filter(|(_, o)| *o == Outcome::Cut).count();
    assert!(
        cut > 0,
        "the kill landed after the load: nothing was in flight"
    );

    let left = cluster
        .count(
            "SELECT COUNT(*) FROM holds WHERE end_user_id = $1",
            &assistiv::args![euid],
        )
        .await;
    // The dead instance's holds expire and the survivors' sweepers release them.
    let released = within(Duration::from_secs(20), || async {
        cluster
            .count(
                "SELECT COUNT(*) FROM holds WHERE end_user_id = $1",
                &assistiv::args![euid],
            )
            .await
            == 0
    })
    .await;
    assert!(released.is_some(), "a hold outlived its TTL and the sweep");
    let after = cluster.budget(euid).await;
    let after = (after["balance_usd"].as_f64().unwrap() * 1e6).round() as i64;
    cluster.assert_exact_books(euid, after).await;

    // Every spend is one whole stream's price, and the balance moved by
    // exactly the spends; every stream the survivors finished was charged, and
    // the dead instance charged at most what it finished.
    let spends: Vec<(i64,)> = cluster
        .db
        .fetch_all(
            "SELECT amount_micros FROM budget_ledger WHERE end_user_id = $1 AND amount_micros < 0",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    let each = spends.first().map(|(amount,)| -amount).unwrap_or_default();
    assert!(each > 0, "streams were charged");
    assert!(
        spends.iter().all(|(amount,)| -amount == each),
        "a stream was charged other than its price {each}: {spends:?}"
    );
    let streams = spends.len();
    assert_eq!(
        100_000_000 - after,
        each * streams as i64,
        "the balance moved by the spends"
    );
    let survived = complete(0) + complete(2);
    assert!(
        streams >= survived && streams <= survived + complete(1),
        "{streams} streams charged; complete: {} + {} on the survivors, {} on the killed instance",
        complete(0),
        complete(2),
        complete(1)
    );
    eprintln!(
        "kill -9 mid-load: {CALLS} streams, {cut} cut, {} finished on the killed instance, \
         {streams} charged, {left} holds left by the load, released {:?} after it",
        complete(1),
        released.unwrap_or_default()
    );
}
