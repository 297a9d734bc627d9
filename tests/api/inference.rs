//! The inference plane over HTTP: operator provider configs (the key write-only),
//! `GET /v1/models`, chat completions on the mock and on the OpenAI, Anthropic
//! and Gemini stand-ins (plain and streamed), fallback, errors in OpenAI's shape,
//! and the seeds' step-1 flow on a fresh install.

use assistiv_llm::stand_in::{StandIn, StandInKind};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, Reply, TestApp, spawn_app};

pub(crate) fn providers_path(pid: Uuid) -> String {
    format!("/admin/v1/platforms/{pid}/llm-providers")
}

/// Adds a provider config through the operator API; its view.
pub(crate) async fn add_provider(app: &TestApp, pid: Uuid, body: Value) -> Value {
    let reply = app.post(&providers_path(pid), ADMIN_TOKEN, &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.data().clone()
}

/// An end user of `pid` with a one-time budget of `max_usd`: (id, key).
pub(crate) async fn funded_user_on(
    app: &TestApp,
    pid: Uuid,
    platform_key: &str,
    external_id: &str,
    max_usd: f64,
) -> (Uuid, String) {
    let reply = app
        .post(
            &format!("/v1/platforms/{pid}/end-users"),
            platform_key,
            &json!({"external_id": external_id,
                    "budget": {"max_usd": max_usd, "period": "one_time"}}),
        )
        .await;
    reply.end_user_and_key()
}

pub(crate) async fn funded_user(app: &TestApp, external_id: &str, max_usd: f64) -> (Uuid, String) {
    let key = app.platform_key.clone();
    funded_user_on(app, app.platform_id, &key, external_id, max_usd).await
}

pub(crate) async fn chat(app: &TestApp, key: &str, body: &Value) -> Reply {
    app.post("/v1/chat/completions", key, body).await
}

/// A streamed completion: the status and the `data:` payloads (`[DONE]` as a string).
pub(crate) async fn chat_stream(app: &TestApp, key: &str, body: &Value) -> (u16, Vec<Value>) {
    let response = app
        .request(Method::POST, "/v1/chat/completions", Some(key))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, sse_payloads(&text))
}

pub(crate) fn sse_payloads(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| event.trim().strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.into())))
        .collect()
}

/// The text the content deltas of a stream spell.
pub(crate) fn streamed_text(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect()
}

/// Asserts an error in OpenAI's shape with this status and code.
pub(crate) fn assert_openai_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let error = &reply.body["error"];
    assert_eq!(error["code"], code, "{}", reply.body);
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["type"].is_string());
    let request_id = reply.body["request_id"].as_str().unwrap_or_default();
    assert!(!request_id.is_empty(), "{}", reply.body);
    assert_eq!(
        reply.headers.get("x-request-id").unwrap().to_str().unwrap(),
        request_id
    );
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn usd(text: &str) -> i64 {
    (text.parse::<f64>().unwrap() * 1e6).round() as i64
}

/// Every sealed provider key in the database.
async fn sealed_keys(app: &TestApp) -> Vec<(Vec<u8>,)> {
    app.state
        .db
        .fetch_all(
            "SELECT api_key_enc FROM llm_providers WHERE api_key_enc IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
}

async fn provider_configs_are_operator_only_and_keys_write_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (other, _) = app.create_platform("other").await;
    let path = providers_path(app.platform_id);

    // The first start gave the default platform the labelled mock.
    let list = app.get(&path, ADMIN_TOKEN).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let mock = &list.data()[0];
    assert_eq!(mock["provider"], "mock");
    assert!(mock["note"].as_str().unwrap().contains("not a real model"));
    assert_eq!(mock["serves"], json!(["mock-1", "mock-fast"]));

    // Operator only: no token, a platform key.
    assert_eq!(
        app.send(app.request(Method::GET, &path, None)).await.status,
        401
    );
    assert_eq!(app.get(&path, &app.platform_key).await.status, 403);

    let secret = "sk-upstream-secret-0123456789";
    let created = add_provider(
        &app,
        app.platform_id,
        json!({"provider": "openai", "api_key": secret, "priority": 5,
               "models": ["gpt-4o-mini", "my-tuned"],
               "aliases": {"fast": "gpt-4o-mini"},
               "prices": {"my-tuned": {"input": 1.0, "output": 2.0}}}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(!created.to_string().contains(secret), "{created}");
    assert_eq!(created["api_key_set"], true);
    assert_eq!(created["serves"], json!(["gpt-4o-mini", "my-tuned"]));
    assert_eq!(created["prices"]["my-tuned"]["cached_input"], 1.0);

    // Sealed at rest, never plain.
    let stored = sealed_keys(&app).await;
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0]
            .0
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    );

    let one = format!("{path}/{id}");
    let shown = app.get(&one, ADMIN_TOKEN).await;
    assert_eq!(shown.status, 200);
    assert!(!shown.body.to_string().contains(secret));

    // A new key and other fields in one change; the key never comes back.
    let changed = app
        .patch(
            &one,
            ADMIN_TOKEN,
            &json!({"api_key": "sk-new-key-abcdef", "enabled": false, "base_url": "http://127.0.0.1:9/v1"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(!changed.body.to_string().contains("sk-new-key"));
    assert_eq!(changed.data()["enabled"], false);
    let stored_after = sealed_keys(&app).await;
    assert_ne!(stored_after[0].0, stored[0].0, "the key was replaced");

    // Tenancy: another platform's path does not find it.
    let foreign = format!("{}/{id}", providers_path(other));
    app.get(&foreign, ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");
    app.patch(&foreign, ADMIN_TOKEN, &json!({"enabled": true}))
        .await
        .assert_error(404, "not_found");
    app.delete(&foreign, ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");
    app.get(&providers_path(Uuid::now_v7()), ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");

    // Bad input changes nothing.
    for body in [
        json!({"provider": "gemini", "api_key": "k"}),
        json!({"provider": "openai"}),
        json!({"provider": "openai-compatible"}),
        json!({"provider": "mock", "api_key": "k"}),
        json!({"provider": "openai", "api_key": "k", "surprise": 1}),
        json!({"provider": "openai", "api_key": "k", "base_url": "ftp://x"}),
        json!({"provider": "openai", "api_key": "k", "prices": {"m": {"input": -1, "output": 1}}}),
        json!({"provider": "openai", "api_key": "k", "models": ["has space"]}),
        json!({"provider": "openai", "api_key": "k\u{0}"}),
    ] {
        let reply = app.post(&path, ADMIN_TOKEN, &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    app.patch(&one, ADMIN_TOKEN, &json!({"provider": "anthropic"}))
        .await
        .assert_error(400, "bad_request");
    assert_eq!(
        app.get(&path, ADMIN_TOKEN)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(app.delete(&one, ADMIN_TOKEN).await.status, 204);
    app.get(&one, ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");
    app.stop().await;
}

async fn models_lists_enabled_providers_for_either_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, eu_key) = funded_user(&app, "lister", 1.0).await;
    for key in [app.platform_key.clone(), eu_key.clone()] {
        let reply = app.get("/v1/models", &key).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["object"], "list");
        let ids: Vec<&str> = reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["mock-1", "mock-fast", "mock/mock-1", "mock/mock-fast"]
        );
        assert_eq!(reply.body["data"][0]["object"], "model");
        assert_eq!(reply.body["data"][0]["owned_by"], "assistiv-mock");
    }
    let one = app.get("/v1/models/mock/mock-1", &eu_key).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["id"], "mock/mock-1");
    assert_openai_error(
        &app.get("/v1/models/gpt-4o", &eu_key).await,
        404,
        "model_not_found",
    );

    // A disabled config lists nothing; an enabled one lists its models both ways.
    add_provider(
        &app,
        app.platform_id,
        json!({"provider": "anthropic", "api_key": "k", "enabled": false}),
    )
    .await;
    add_provider(
        &app,
        app.platform_id,
        json!({"provider": "google", "api_key": "k", "models": ["gemini-2.0-flash", "unpriced-x"]}),
    )
    .await;
    let ids: Vec<String> = app.get("/v1/models", &eu_key).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"gemini-2.0-flash".into()), "{ids:?}");
    assert!(ids.contains(&"google/gemini-2.0-flash".into()), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("claude")), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("unpriced")), "{ids:?}");
    // A model without a price is refused, never served free.
    let unpriced = chat(
        &app,
        &eu_key,
        &json!({"model": "unpriced-x", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_openai_error(&unpriced, 400, "model_not_priced");

    // Another platform with no provider lists nothing; no key is 401.
    let (_, other_key) = app.create_platform("empty").await;
    let empty = app.get("/v1/models", &other_key).await;
    assert_eq!(empty.body, json!({"object": "list", "data": []}));
    let anonymous = app.send(app.request(Method::GET, "/v1/models", None)).await;
    assert_openai_error(&anonymous, 401, "unauthorized");
    app.stop().await;
}

async fn completions_on_the_mock(backend: Backend) {
    let app = spawn_app(backend).await;
    let (euid, key) = funded_user(&app, "chatter", 5.0).await;
    let ping = json!({"model": "mock-fast", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 32});

    let reply = chat(&app, &key, &ping).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["object"], "chat.completion");
    assert_eq!(reply.body["choices"][0]["message"]["content"], "ping");
    assert_eq!(reply.body["choices"][0]["finish_reason"], "stop");
    let cost = usd(header(&reply, "x-assistiv-cost-usd"));
    assert!(cost >= 1, "{:?}", reply.headers);
    assert_eq!(header(&reply, "x-assistiv-provider"), "mock");
    let remaining = usd(header(&reply, "x-assistiv-budget-remaining-usd"));
    assert_eq!(remaining, 5_000_000 - cost);

    // Streamed, with the usage chunk carrying the cost.
    let (status, events) = chat_stream(
        &app,
        &key,
        &json!({"model": "mock/mock-1", "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "hello streaming world"}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(streamed_text(&events), "hello streaming world");
    assert_eq!(events.last().unwrap(), "[DONE]");
    let usage_chunk = &events[events.len() - 2];
    assert_eq!(usage_chunk["choices"], json!([]));
    assert!(usage_chunk["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let streamed_cost = usage_chunk["assistiv"]["cost_usd"].as_f64().unwrap();
    assert!(streamed_cost > 0.0);
    let left = usage_chunk["assistiv"]["budget_remaining_usd"]
        .as_f64()
        .unwrap();
    assert!(left < 5.0);

    // Tools: the mock calls the tool.
    let tools = chat(
        &app,
        &key,
        &json!({"model": "mock-fast", "messages": [{"role": "user", "content": "weather?"}],
                "tools": [{"type": "function", "function": {"name": "get_weather",
                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                  "required": ["city"]}}}]}),
    )
    .await;
    assert_eq!(tools.status, 200, "{}", tools.body);
    assert_eq!(tools.body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        tools.body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );

    // Errors in OpenAI's shape.
    let platform = chat(&app, &app.platform_key, &ping).await;
    assert_openai_error(&platform, 403, "forbidden");
    let message = platform.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("sk-eu_") && message.contains("/end-users"),
        "{message}"
    );
    let user = json!([{"role": "user", "content": "x"}]);
    for (body, status, code) in [
        (
            json!({"model": "gpt-9", "messages": user}),
            404,
            "model_not_found",
        ),
        (
            json!({"model": "mock-fast", "n": 2, "messages": user}),
            400,
            "bad_request",
        ),
        (
            json!({"model": "mock-fast", "messages": "nope"}),
            400,
            "bad_request",
        ),
        (
            json!({"model": "mock-fast", "messages": [{"role": "user", "content": "a\u{0}b"}]}),
            400,
            "bad_request",
        ),
    ] {
        assert_openai_error(&chat(&app, &key, &body).await, status, code);
    }
    assert_openai_error(&chat(&app, "sk-eu_nope", &ping).await, 401, "unauthorized");
    let (_, broke) = app.create_end_user("no-budget").await;
    let refused = chat(&app, &broke, &ping).await;
    assert_openai_error(&refused, 402, "no_budget");
    assert_eq!(header(&refused, "x-assistiv-cost-usd"), "0.000000");

    // One usage row per call, with the provider, tokens and cost.
    let ok = TestApp::eventually(std::time::Duration::from_secs(5), || async {
        let logs = app
            .get(
                &format!(
                    "/v1/platforms/{}/logs?kind=inference&end_user_id={euid}",
                    app.platform_id
                ),
                &app.platform_key,
            )
            .await;
        logs.data().as_array().is_some_and(|rows| rows.len() >= 7)
    })
    .await;
    assert!(ok, "usage rows written");
    let logs = app.get("/v1/me/logs", &key).await;
    let rows = logs.data().as_array().unwrap();
    let first = rows.last().unwrap();
    assert_eq!(first["kind"], "inference");
    assert_eq!(first["status"], "ok");
    assert_eq!(first["provider"], "mock");
    assert_eq!(first["model"], "mock-fast");
    assert!(first["input_tokens"].as_i64().unwrap() > 0);
    assert_eq!(first["cost_usd"].as_f64().unwrap(), cost as f64 / 1e6);
    assert_eq!(first["price"]["input"], 10_000);
    let streamed = &rows[rows.len() - 2];
    assert!(streamed["ttft_ms"].is_i64(), "{streamed}");
    assert!(
        rows.iter()
            .any(|r| r["error_code"] == "model_not_found" && r["status"] == "error")
    );
    // A body that is not a request is logged too (no model known).
    assert!(
        rows.iter()
            .any(|r| r["error_code"] == "bad_request" && r["model"].is_null())
    );

    // The spend shows on the budget.
    let budget = app.get("/v1/me/budget", &key).await;
    assert!(budget.data()["used_usd"].as_f64().unwrap() > 0.0);
    app.stop().await;
}

/// Starts the OpenAI, Anthropic and Gemini stand-ins and configures them on `pid`.
pub(crate) async fn stand_ins_on(app: &TestApp, pid: Uuid) -> [StandIn; 3] {
    let openai = StandIn::start(StandInKind::OpenAi, "sk-o").await.unwrap();
    let anthropic = StandIn::start(StandInKind::Anthropic, "sk-a")
        .await
        .unwrap();
    let gemini = StandIn::start(StandInKind::Gemini, "g").await.unwrap();
    for (kind, key, url) in [
        ("openai", "sk-o", openai.base_url()),
        ("anthropic", "sk-a", anthropic.base_url()),
        ("google", "g", gemini.base_url()),
    ] {
        add_provider(
            app,
            pid,
            json!({"provider": kind, "api_key": key, "base_url": url}),
        )
        .await;
    }
    [openai, anthropic, gemini]
}

/// Configures the three stand-ins on a fresh platform; (platform key, stand-ins).
async fn stand_in_platform(app: &TestApp) -> (Uuid, String, [StandIn; 3]) {
    let (pid, pkey) = app.create_platform("stand-ins").await;
    let stand_ins = stand_ins_on(app, pid).await;
    (pid, pkey, stand_ins)
}

async fn completions_through_the_stand_ins(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pid, pkey, stand_ins) = stand_in_platform(&app).await;
    let (_, key) = funded_user_on(&app, pid, &pkey, "multi", 10.0).await;
    let prices = assistiv_llm::PriceBook::embedded().unwrap();
    for (model, kind) in [
        ("gpt-4o-mini", assistiv_llm::ProviderKind::OpenAi),
        (
            "anthropic/claude-sonnet-4-6",
            assistiv_llm::ProviderKind::Anthropic,
        ),
        ("gemini-2.0-flash", assistiv_llm::ProviderKind::Google),
    ] {
        let body = json!({"model": model, "max_tokens": 64,
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": "say hello"}]});
        let reply = chat(&app, &key, &body).await;
        assert_eq!(reply.status, 200, "{model}: {}", reply.body);
        assert_eq!(reply.body["choices"][0]["message"]["content"], "say hello");
        assert_eq!(header(&reply, "x-assistiv-provider"), kind.as_str());
        // The cost is the provider's usage at the book's price, rounded up.
        let usage: assistiv_llm::openai::Usage =
            serde_json::from_value(reply.body["usage"].clone()).unwrap();
        let bare = model.rsplit('/').next().unwrap();
        let expected = assistiv_llm::cost_micros(&usage, prices.get(kind, bare).unwrap(), 0);
        assert_eq!(
            usd(header(&reply, "x-assistiv-cost-usd")),
            expected,
            "{model}"
        );

        let mut streamed = body.clone();
        streamed["stream"] = json!(true);
        streamed["stream_options"] = json!({"include_usage": true});
        let (status, events) = chat_stream(&app, &key, &streamed).await;
        assert_eq!(status, 200, "{model}: {events:?}");
        assert_eq!(streamed_text(&events), "say hello", "{model}");
        assert_eq!(events.last().unwrap(), "[DONE]");
        let cost = events[events.len() - 2]["assistiv"]["cost_usd"]
            .as_f64()
            .unwrap();
        assert!(cost > 0.0, "{model}");
    }
    // Parameters a provider cannot honour are a 400 naming them.
    let refused = chat(
        &app,
        &key,
        &json!({"model": "claude-sonnet-4-6", "seed": 7, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_openai_error(&refused, 400, "bad_request");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("seed")
    );
    // Unknown fields pass through to OpenAI.
    let passed = chat(
        &app,
        &key,
        &json!({"model": "gpt-4o-mini", "service_tier": "default", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    let sent = stand_ins[0].last_request().unwrap();
    assert_eq!(sent.body["service_tier"], "default");
    assert!(sent.header("authorization").unwrap().ends_with("sk-o"));
    app.stop().await;
}

async fn fallback_before_the_first_byte(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pid, pkey) = app.create_platform("fallback").await;
    let first = StandIn::start(StandInKind::OpenAi, "k1").await.unwrap();
    let second = StandIn::start(StandInKind::Anthropic, "k2").await.unwrap();
    add_provider(
        &app,
        pid,
        json!({"provider": "openai", "api_key": "k1", "base_url": first.base_url(), "priority": 1,
               "aliases": {"smart": "gpt-4o"}}),
    )
    .await;
    add_provider(
        &app,
        pid,
        json!({"provider": "anthropic", "api_key": "k2", "base_url": second.base_url(), "priority": 2,
               "aliases": {"smart": "claude-sonnet-4-6"}}),
    )
    .await;
    let (euid, key) = funded_user_on(&app, pid, &pkey, "fallback", 5.0).await;
    let body = json!({"model": "smart", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});

    let reply = chat(&app, &key, &body).await;
    assert_eq!(
        header(&reply, "x-assistiv-provider"),
        "openai",
        "{}",
        reply.body
    );

    first.fail_next(1, 503);
    let reply = chat(&app, &key, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(header(&reply, "x-assistiv-provider"), "anthropic");

    first.fail_next(1, 429);
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let (status, events) = chat_stream(&app, &key, &streamed).await;
    assert_eq!(status, 200);
    assert_eq!(streamed_text(&events), "hi");
    assert_eq!(second.request_count(), 2);

    // A stream that dies before its first event is passed over too.
    first.die_after_events(Some(0));
    let (status, events) = chat_stream(&app, &key, &streamed).await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(second.request_count(), 3);
    first.die_after_events(None);

    // Everyone failing is a 502 with the provider's status, nothing charged.
    first.fail_next(1, 500);
    second.fail_next(1, 529);
    let failed = chat(&app, &key, &body).await;
    assert_openai_error(&failed, 502, "upstream_error");
    assert!(
        failed.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("529")
    );
    assert!(!failed.body.to_string().contains("k2"));
    // A client error is not retried elsewhere.
    first.fail_next(1, 401);
    let unauthorized = chat(&app, &key, &body).await;
    assert_openai_error(&unauthorized, 502, "upstream_error");
    assert_eq!(
        second.request_count(),
        4,
        "a 401 is not a reason to fall back"
    );

    let path = format!("/v1/platforms/{pid}/end-users/{euid}/budget");
    let ok = TestApp::eventually(std::time::Duration::from_secs(5), || async {
        app.get(&path, &pkey).await.data()["held_usd"] == 0.0
    })
    .await;
    assert!(ok, "nothing stays held");
    app.stop().await;
}

/// The seeds' step 1 on a fresh install: list models with the platform key,
/// then the smallest completion (refused with the platform key, with the way to
/// an end-user key; answered with one), on the mock and on a stand-in OpenAI.
async fn seeds_step_one_on_a_fresh_install(backend: Backend) {
    let app = spawn_app(backend).await;
    let models = app.get("/v1/models", &app.platform_key).await;
    let slug = models.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .find(|id| id.contains('/'))
        .unwrap()
        .to_owned();
    let ping =
        json!({"model": slug, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 32});
    let refused = chat(&app, &app.platform_key, &ping).await;
    assert_openai_error(&refused, 403, "forbidden");

    // What the message says to do.
    let (_, key) = funded_user(&app, "step-1", 1.0).await;
    let reply = chat(&app, &key, &ping).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["choices"][0]["message"]["content"], "ping");

    let openai = StandIn::start(StandInKind::OpenAi, "sk-step-one")
        .await
        .unwrap();
    add_provider(
        &app,
        app.platform_id,
        json!({"provider": "openai", "api_key": "sk-step-one", "base_url": openai.base_url()}),
    )
    .await;
    let models = app.get("/v1/models", &app.platform_key).await;
    assert!(
        models.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "openai/gpt-4o-mini")
    );
    let reply = chat(
        &app,
        &key,
        &json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 32}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(openai.request_count(), 1);
    app.stop().await;
}

/// The 402 codes the SDK README branches on, each in OpenAI's shape, nothing charged.
async fn payment_refusals_carry_the_sdk_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = |cap: u32| {
        json!({"model": "mock-fast", "max_tokens": cap,
               "messages": [{"role": "user", "content": "pay me"}]})
    };
    let (suspended, key) = funded_user(&app, "suspended", 1.0).await;
    let budget = format!(
        "/v1/platforms/{}/end-users/{suspended}/budget",
        app.platform_id
    );
    let reply = app
        .post(&format!("{budget}/suspend"), &app.platform_key, &json!({}))
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    assert_openai_error(&chat(&app, &key, &body(8)).await, 402, "budget_suspended");

    // A hold the budget cannot cover: 100,000 output tokens at $0.02 per million.
    let (_, poor) = funded_user(&app, "poor", 0.000001).await;
    assert_openai_error(
        &chat(&app, &poor, &body(100_000)).await,
        402,
        "budget_exhausted",
    );
    assert_eq!(chat(&app, &poor, &body(8)).await.status, 200);

    let (_, rich) = funded_user(&app, "rich", 1.0).await;
    let wallet = format!("/admin/v1/platforms/{}/wallet", app.platform_id);
    let metered = app
        .send(
            app.request(Method::PUT, &wallet, Some(ADMIN_TOKEN))
                .json(&json!({"metered": true})),
        )
        .await;
    assert_eq!(metered.status, 200, "{}", metered.body);
    let refused = chat(&app, &rich, &body(8)).await;
    assert_openai_error(&refused, 402, "wallet_insufficient");
    assert_eq!(refused.body["error"]["type"], "payment_required");
    app.stop().await;
}

both_backends!(
    payment_refusals_carry_the_sdk_codes,
    provider_configs_are_operator_only_and_keys_write_only,
    models_lists_enabled_providers_for_either_key,
    completions_on_the_mock,
    completions_through_the_stand_ins,
    fallback_before_the_first_byte,
    seeds_step_one_on_a_fresh_install,
);
