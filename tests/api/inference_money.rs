//! Inference money, exactly: 300 concurrent streams on a budget that fits 100
//! never overspend and leave the books exact; a client that disconnects
//! mid-stream and a provider that dies mid-stream are charged what was
//! delivered and leave no hold; TPM is estimated, then reconciled.

use std::time::Duration;

use assistiv_llm::stand_in::{StandIn, StandInKind};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::holds::assert_exact_books;
use crate::inference::{
    add_provider, assert_openai_error, chat, chat_stream, funded_user, funded_user_on,
    sse_payloads, streamed_text,
};

/// The budget's balance once nothing is held any more.
async fn settled_balance(app: &TestApp, pid: Uuid, pkey: &str, euid: Uuid) -> f64 {
    let path = format!("/v1/platforms/{pid}/end-users/{euid}/budget");
    let settled = TestApp::eventually(Duration::from_secs(10), || async {
        app.get(&path, pkey).await.data()["held_usd"] == 0.0
    })
    .await;
    assert!(settled, "a hold outlived its call");
    app.get(&path, pkey).await.data()["balance_usd"]
        .as_f64()
        .unwrap()
}

/// A mock at a real-looking price ($1,000 / $2,000 per million tokens), so
/// every token shows in micro-USD.
async fn priced_mock(app: &TestApp) {
    // Replace the first-start mock with a priced one.
    let list = app
        .get(
            &crate::inference::providers_path(app.platform_id),
            crate::helpers::ADMIN_TOKEN,
        )
        .await;
    let id = list.data()[0]["id"].as_str().unwrap().to_owned();
    let reply = app
        .patch(
            &format!("{}/{id}", crate::inference::providers_path(app.platform_id)),
            crate::helpers::ADMIN_TOKEN,
            &json!({"prices": {"mock-1": {"input": 1000, "output": 2000},
                               "mock-fast": {"input": 1000, "output": 2000}}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn concurrent_streams_never_overspend(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.mock_chunk_delay_ms = 5).await;
    priced_mock(&app).await;
    let body = json!({"model": "mock-1", "stream": true, "max_tokens": 16,
                      "messages": [{"role": "user", "content": "hello world"}]});
    // The hold: the prompt estimate and the output cap at the price.
    let request: assistiv_llm::openai::ChatRequest = serde_json::from_value(body.clone()).unwrap();
    let prompt = assistiv_llm::estimate_prompt_tokens(&request);
    let hold_micros = prompt * 1000 + 16 * 2000;
    let budget = (hold_micros * 100) as f64 / 1e6;
    let (euid, key) = funded_user(&app, "crowd", budget).await;

    let tasks = (0..300).map(|_| {
        let (client, url, key, body) = (
            app.client.clone(),
            app.url("/v1/chat/completions"),
            key.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (status, text)
        })
    });
    let mut ok = 0;
    let mut refused = 0;
    for result in futures::future::join_all(tasks).await {
        let (status, text) = result.unwrap();
        match status {
            200 => {
                let events = sse_payloads(&text);
                assert_eq!(streamed_text(&events), "hello world");
                assert_eq!(events.last().unwrap(), "[DONE]");
                ok += 1;
            }
            402 => {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["error"]["code"], "budget_exhausted", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!(ok + refused, 300);
    assert!(ok >= 100, "every stream the budget fits ran: {ok}");
    assert!(refused > 0, "the budget fits 100 holds, not 300");

    let balance = settled_balance(&app, app.platform_id, &app.platform_key.clone(), euid).await;
    assert!(balance >= 0.0, "overspent: {balance}");
    // Each finished stream cost its usage: the prompt and "hello world" (3 tokens).
    let each = prompt * 1000 + 3 * 2000;
    let spent = (budget * 1e6).round() as u64 - (balance * 1e6).round() as u64;
    assert_eq!(spent, each * ok, "every stream charged its usage, exactly");
    assert_exact_books(&app, euid, balance).await;
    app.stop().await;
}

async fn a_client_that_disconnects_pays_for_what_it_got(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.mock_chunk_delay_ms = 150).await;
    priced_mock(&app).await;
    let (euid, key) = funded_user(&app, "leaver", 10.0).await;
    let words: Vec<String> = (0..40).map(|i| format!("word{i:02}")).collect();
    let body = json!({"model": "mock-1", "stream": true, "max_tokens": 200,
                      "messages": [{"role": "user", "content": words.join(" ")}]});
    let request: assistiv_llm::openai::ChatRequest = serde_json::from_value(body.clone()).unwrap();
    let prompt = assistiv_llm::estimate_prompt_tokens(&request);

    let mut response = app
        .request(Method::POST, "/v1/chat/completions", Some(&key))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-assistiv-hold-usd"));
    let mut received = String::new();
    while sse_payloads(&received)
        .iter()
        .filter(|e| e["choices"][0]["delta"]["content"].is_string())
        .count()
        < 4
    {
        received.push_str(&String::from_utf8_lossy(
            &response.chunk().await.unwrap().unwrap(),
        ));
    }
    drop(response); // the client goes away mid-answer

    let balance = settled_balance(&app, app.platform_id, &app.platform_key.clone(), euid).await;
    let charged = 10_000_000 - (balance * 1e6).round() as i64;
    let delivered = streamed_text(&sse_payloads(&received));
    // At least the prompt and what this client read; far below the whole answer.
    let at_least = prompt * 1000 + (delivered.len() as u64).div_ceil(4) * 2000;
    assert!(charged as u64 >= at_least, "{charged} < {at_least}");
    let whole = prompt * 1000 + (words.join(" ").len() as u64).div_ceil(4) * 2000;
    assert!(
        (charged as u64) < whole,
        "charged {charged} of a whole {whole}"
    );
    assert_exact_books(&app, euid, balance).await;

    let logged = TestApp::eventually(Duration::from_secs(5), || async {
        let logs = app.get("/v1/me/logs", &key).await;
        logs.data()[0]["error_code"] == "cut_off"
    })
    .await;
    assert!(logged, "the cut stream is logged");
    let row = app.get("/v1/me/logs", &key).await.data()[0].clone();
    assert_eq!(row["tokens_estimated"], true, "{row}");
    assert_eq!(row["cost_usd"].as_f64().unwrap(), charged as f64 / 1e6);
    app.stop().await;
}

async fn a_provider_that_dies_mid_stream_charges_what_was_delivered(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let (pid, pkey) = app.create_platform("dying").await;
    let openai = StandIn::start(StandInKind::OpenAi, "k").await.unwrap();
    add_provider(
        &app,
        pid,
        json!({"provider": "openai", "api_key": "k", "base_url": openai.base_url()}),
    )
    .await;
    let (euid, key) = funded_user_on(&app, pid, &pkey, "victim", 1.0).await;
    openai.die_after_events(Some(4));
    let (status, events) = chat_stream(
        &app,
        &key,
        &json!({"model": "gpt-4o-mini", "stream": true, "max_tokens": 100,
                "messages": [{"role": "user", "content": "one two three four five six seven eight"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let last = events.last().unwrap();
    assert_eq!(last["error"]["code"], "upstream_error", "{events:?}");
    assert!(!events.iter().any(|e| e == "[DONE]"));
    let balance = settled_balance(&app, pid, &pkey, euid).await;
    assert!(balance < 1.0, "the delivered part is charged");
    let path = format!("/v1/platforms/{pid}/end-users/{euid}/budget/transactions");
    let ledger = app.get(&path, &pkey).await;
    assert!(ledger.status.is_success(), "{}", ledger.body);
    let logged = TestApp::eventually(Duration::from_secs(5), || async {
        let logs = app.get("/v1/me/logs", &key).await;
        logs.data()[0]["error_code"] == "upstream_error"
    })
    .await;
    assert!(logged);
    assert_eq!(
        app.get("/v1/me/logs", &key).await.data()[0]["tokens_estimated"],
        true
    );
    app.stop().await;
}

/// An end user of the app's platform with a $1 budget and `tpm` tokens per minute: its key.
async fn user_with_tpm(app: &TestApp, external_id: &str, tpm: u32) -> String {
    let reply = app
        .post(
            &format!("/v1/platforms/{}/end-users", app.platform_id),
            &app.platform_key,
            &json!({"external_id": external_id, "budget": {"max_usd": 1, "period": "one_time"},
                    "rate_limits": {"tpm_limit": tpm}}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    reply.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn tokens_per_minute_are_estimated_then_reconciled(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let key = user_with_tpm(&app, "tpm", 300).await;
    let body = |cap: u32| {
        json!({"model": "mock-fast", "max_tokens": cap,
               "messages": [{"role": "user", "content": "ping"}]})
    };
    // An estimate no bucket of 300 can hold: 400, never a 429 to retry forever.
    assert_openai_error(&chat(&app, &key, &body(1000)).await, 400, "bad_request");
    // 200 held for a call that uses ~12: reconciled, so the next ones fit.
    for _ in 0..5 {
        let reply = chat(&app, &key, &body(200)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // Without reconciliation the bucket would be short now; fill it for real.
    let mut limited = None;
    for _ in 0..40 {
        let reply = chat(&app, &key, &body(250)).await;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
    }
    let limited = limited.expect("the bucket runs short");
    assert_openai_error(&limited, 429, "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    app.stop().await;
}

/// A client that gives up before the first byte (the provider is slow to open
/// its stream) leaves neither a hold nor its estimate in the TPM bucket.
async fn a_client_that_leaves_before_the_stream_opens_leaves_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.mock_chunk_delay_ms = 1500).await;
    let key = user_with_tpm(&app, "impatient", 1000).await;
    let body = |model: &str| {
        json!({"model": model, "stream": true, "max_tokens": 600,
               "messages": [{"role": "user", "content": "ping"}]})
    };
    let gave_up = app
        .request(Method::POST, "/v1/chat/completions", Some(&key))
        .timeout(Duration::from_millis(300))
        .json(&body("mock-1"))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client left before the first byte");
    // Once the abandoned stream has opened and gone, nothing of it remains: the
    // next 600-token estimate fits the 1,000 bucket again, and nothing is held.
    let fits = TestApp::eventually(Duration::from_secs(10), || async {
        let budget = app.get("/v1/me/budget", &key).await;
        budget.data()["held_usd"] == 0.0
    })
    .await;
    assert!(fits, "the hold was released");
    let next = chat(&app, &key, &body("mock-fast")).await;
    assert_eq!(next.status, 200, "the tokens went back: {}", next.body);
    app.stop().await;
}

both_backends!(
    a_client_that_leaves_before_the_stream_opens_leaves_nothing,
    concurrent_streams_never_overspend,
    a_client_that_disconnects_pays_for_what_it_got,
    a_provider_that_dies_mid_stream_charges_what_was_delivered,
    tokens_per_minute_are_estimated_then_reconciled,
);
