//! The Responses API over HTTP on both databases: conversations continued with
//! `previous_response_id` over the OpenAI, Anthropic and Gemini stand-ins,
//! retrieve / delete / input_items, the event stream, isolation between end
//! users and platforms, sealing at rest, retention, refusals that change
//! nothing, and hosted MCP tools: a GitHub call with the end user's own OAuth
//! token (through a real OAuth server), `not_connected` reaching the model, a
//! capability run charged to the budget, and approval round trips.

use std::sync::{Arc, Mutex};

use assistiv_llm::stand_in::{StandIn, StandInKind};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, Reply, TestApp, spawn_app, spawn_app_with_clock};
use crate::inference::{
    add_provider, assert_openai_error, funded_user, funded_user_on, stand_ins_on,
};
use crate::oauth::dump_database;
use crate::oauth_mock_server::{github_api, oauth2_mock_server};

async fn create(app: &TestApp, key: &str, body: &Value) -> Reply {
    app.post("/v1/responses", key, body).await
}

fn output_types(response: &Value) -> Vec<String> {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["type"].as_str().unwrap().to_owned())
        .collect()
}

fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().unwrap().iter())
        .filter_map(|part| part["text"].as_str())
        .collect()
}

fn item<'a>(response: &'a Value, kind: &str) -> &'a Value {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {response}"))
}

fn cost(reply: &Reply) -> f64 {
    reply.headers["x-assistiv-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The usage-log rows a response left (its id is their request id).
async fn rows_of(app: &TestApp, key: &str, response_id: &str, expected: usize) -> Vec<Value> {
    let read = || async {
        let logs = app.get("/v1/me/logs?limit=100", key).await;
        logs.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["request_id"] == response_id)
            .cloned()
            .collect::<Vec<Value>>()
    };
    TestApp::eventually(std::time::Duration::from_secs(10), || async {
        read().await.len() == expected
    })
    .await;
    read().await
}

async fn conversations_continue_over_every_provider(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pid, pkey) = app.create_platform("responses").await;
    let stand_ins = stand_ins_on(&app, pid).await;
    let (_, key) = funded_user_on(&app, pid, &pkey, "talker", 10.0).await;
    for (model, stand_in) in [
        ("gpt-4o-mini", &stand_ins[0]),
        ("claude-sonnet-4-6", &stand_ins[1]),
        ("gemini-2.0-flash", &stand_ins[2]),
    ] {
        let first = create(
            &app,
            &key,
            &json!({"model": model, "instructions": "Answer in one word.", "input": "alpha one",
                    "max_output_tokens": 64, "metadata": {"topic": "trip"}}),
        )
        .await;
        assert_eq!(first.status, 200, "{model}: {}", first.body);
        assert_eq!(first.body["object"], "response");
        assert_eq!(first.body["status"], "completed");
        assert_eq!(output_text(&first.body), "alpha one", "{model}");
        assert_eq!(first.body["metadata"]["topic"], "trip");
        assert!(first.body["usage"]["total_tokens"].as_u64().unwrap() > 0);
        assert!(cost(&first) > 0.0, "{model}");
        let sent = serde_json::to_string(&stand_in.last_request().unwrap().body).unwrap();
        assert!(sent.contains("Answer in one word."), "{model}: {sent}");

        let mut previous = first.body["id"].as_str().unwrap().to_owned();
        for text in ["beta two", "gamma three"] {
            let next = create(
                &app,
                &key,
                &json!({"model": model, "input": text, "previous_response_id": previous}),
            )
            .await;
            assert_eq!(next.status, 200, "{model}: {}", next.body);
            assert_eq!(output_text(&next.body), text);
            assert_eq!(next.body["previous_response_id"], previous.as_str());
            previous = next.body["id"].as_str().unwrap().to_owned();
        }
        // Turn three reached the provider with the whole conversation, in
        // order, and without turn one's instructions (they do not carry over).
        let sent = serde_json::to_string(&stand_in.last_request().unwrap().body).unwrap();
        let positions: Vec<usize> = ["alpha one", "beta two", "gamma three"]
            .iter()
            .map(|text| {
                sent.find(text)
                    .unwrap_or_else(|| panic!("{model}: {text} in {sent}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{model}: {sent}");
        assert!(
            sent.matches("alpha one").count() >= 2,
            "the user's words and the echo: {sent}"
        );
        assert!(!sent.contains("Answer in one word."), "{model}: {sent}");

        // Readable at once, as answered.
        let read = app.get(&format!("/v1/responses/{previous}"), &key).await;
        assert_eq!(read.status, 200, "{}", read.body);
        assert_eq!(output_text(&read.body), "gamma three");
        let items = app
            .get(&format!("/v1/responses/{previous}/input_items"), &key)
            .await;
        assert_eq!(items.status, 200, "{}", items.body);
        assert_eq!(items.body["object"], "list");
        assert_eq!(items.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(items.body["data"][0]["content"][0]["text"], "gamma three");
        assert!(
            items.body["data"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("msg_")
        );

        // Deleted: gone for reading and for continuing.
        let deleted = app.delete(&format!("/v1/responses/{previous}"), &key).await;
        assert_eq!(deleted.status, 200, "{}", deleted.body);
        assert_eq!(deleted.body["deleted"], true);
        assert_openai_error(
            &app.get(&format!("/v1/responses/{previous}"), &key).await,
            404,
            "response_not_found",
        );
        let orphan = create(
            &app,
            &key,
            &json!({"model": model, "input": "x", "previous_response_id": previous}),
        )
        .await;
        assert_openai_error(&orphan, 404, "previous_response_not_found");
    }

    // One usage row per model turn, tied by the response id.
    let one = create(
        &app,
        &key,
        &json!({"model": "gpt-4o-mini", "input": "logged"}),
    )
    .await;
    let id = one.body["id"].as_str().unwrap();
    let rows = rows_of(&app, &key, id, 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["kind"], "inference");
    app.stop().await;
}

async fn input_items_page_with_cursors(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = funded_user(&app, "pager", 5.0).await;
    let input: Vec<Value> = (0..5)
        .map(|i| json!({"role": "user", "content": format!("part {i}")}))
        .collect();
    let created = create(
        &app,
        &key,
        &json!({"model": "mock-1", "input": input, "store": true}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/v1/responses/{id}/input_items");
    let page = app.get(&format!("{path}?limit=2&order=asc"), &key).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let texts = |page: &Reply| -> Vec<String> {
        page.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["content"][0]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&page), ["part 0", "part 1"]);
    assert_eq!(page.body["has_more"], true);
    let after = page.body["last_id"].as_str().unwrap();
    let next = app
        .get(&format!("{path}?limit=10&order=asc&after={after}"), &key)
        .await;
    assert_eq!(texts(&next), ["part 2", "part 3", "part 4"]);
    assert_eq!(next.body["has_more"], false);
    // Newest first by default.
    let desc = app.get(&path, &key).await;
    assert_eq!(texts(&desc)[0], "part 4");
    assert_openai_error(
        &app.get(&format!("{path}?limit=0"), &key).await,
        400,
        "bad_request",
    );
    // store: false keeps nothing.
    let unstored = create(
        &app,
        &key,
        &json!({"model": "mock-1", "input": "x", "store": false}),
    )
    .await;
    assert_eq!(unstored.status, 200);
    assert_eq!(unstored.body["store"], false);
    let id = unstored.body["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/v1/responses/{id}"), &key).await.status,
        404
    );
    app.stop().await;
}

async fn streams_events_and_stores_before_completing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = funded_user(&app, "streamer", 5.0).await;
    let response = app
        .request(Method::POST, "/v1/responses", Some(&key))
        .json(&json!({"model": "mock-1", "input": "hello stream", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|frame| {
            let kind = frame.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data: Value =
                serde_json::from_str(frame.lines().find_map(|l| l.strip_prefix("data: "))?).ok()?;
            assert_eq!(data["type"], kind, "{frame}");
            Some(data)
        })
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"response.created"));
    assert_eq!(kinds.last(), Some(&"response.completed"));
    assert!(kinds.contains(&"response.output_text.delta"));
    let numbers: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..events.len() as u64).collect::<Vec<_>>());
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "hello stream");
    // Relayed as the provider streams it (the mock sends word by word).
    let pieces = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .count();
    assert!(pieces >= 2, "{kinds:?}");
    let done = &events.last().unwrap()["response"];
    let id = done["id"].as_str().unwrap();
    // Stored before the stream said completed.
    let read = app.get(&format!("/v1/responses/{id}"), &key).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(&read.body, done);
    // The turn was metered like a streamed completion: charged, nothing held.
    let budget = app.get("/v1/me/budget", &key).await;
    assert!(
        budget.data()["used_usd"].as_f64().unwrap() > 0.0,
        "{}",
        budget.body
    );
    assert_eq!(budget.data()["held_usd"], 0.0, "{}", budget.body);
    app.stop().await;
}

async fn stored_responses_are_their_end_users_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = funded_user(&app, "owner", 5.0).await;
    let (_, neighbour) = funded_user(&app, "neighbour", 5.0).await;
    let (other_pid, other_pkey) = app.create_platform("elsewhere").await;
    add_provider(&app, other_pid, json!({"provider": "mock"})).await;
    let (_, stranger) = funded_user_on(&app, other_pid, &other_pkey, "owner", 5.0).await;
    let marker = format!("confidential-{}", Uuid::now_v7().simple());
    let created = create(&app, &owner, &json!({"model": "mock-1", "input": marker})).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    for key in [&neighbour, &stranger] {
        assert_openai_error(
            &app.get(&format!("/v1/responses/{id}"), key).await,
            404,
            "response_not_found",
        );
        assert_openai_error(
            &app.get(&format!("/v1/responses/{id}/input_items"), key)
                .await,
            404,
            "response_not_found",
        );
        assert_openai_error(
            &app.delete(&format!("/v1/responses/{id}"), key).await,
            404,
            "response_not_found",
        );
        let continued = create(
            &app,
            key,
            &json!({"model": "mock-1", "input": "and?", "previous_response_id": id}),
        )
        .await;
        assert_openai_error(&continued, 404, "previous_response_not_found");
    }
    // A platform key is told to use an end-user key.
    assert_openai_error(
        &app.get(&format!("/v1/responses/{id}"), &app.platform_key)
            .await,
        403,
        "forbidden",
    );
    assert_openai_error(
        &create(
            &app,
            &app.platform_key,
            &json!({"model": "mock-1", "input": "x"}),
        )
        .await,
        403,
        "forbidden",
    );
    // Still the owner's, and sealed at rest: the text is nowhere in the database.
    assert_eq!(
        app.get(&format!("/v1/responses/{id}"), &owner).await.status,
        200
    );
    let dump = dump_database(&app).await;
    assert!(
        !dump.contains(&marker),
        "the conversation is stored in plaintext"
    );
    app.stop().await;
}

async fn old_responses_are_purged(backend: Backend) {
    let clock = assistiv::billing::ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        c.responses_retention_days = 30;
    })
    .await;
    let (_, key) = funded_user(&app, "forgetful", 5.0).await;
    let old = create(&app, &key, &json!({"model": "mock-1", "input": "old"})).await;
    let old_id = old.body["id"].as_str().unwrap();
    clock.advance(chrono::Duration::days(29));
    let recent = create(&app, &key, &json!({"model": "mock-1", "input": "recent"})).await;
    let recent_id = recent.body["id"].as_str().unwrap();
    clock.advance(chrono::Duration::days(2));
    assistiv::responses::purge_expired(&app.state).await;
    assert_eq!(
        app.get(&format!("/v1/responses/{old_id}"), &key)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/v1/responses/{recent_id}"), &key)
            .await
            .status,
        200
    );
    app.stop().await;
}

async fn stored_count(app: &TestApp) -> i64 {
    let rows: Vec<(i64,)> = app
        .state
        .db
        .fetch_all("SELECT COUNT(*) FROM responses", &[])
        .await
        .unwrap();
    rows[0].0
}

async fn refusals_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = funded_user(&app, "refused", 5.0).await;
    let foreign = json!({"model": "mock-1", "input": "x", "tools": [
        {"type": "mcp", "server_label": "evil", "server_url": "https://attacker.example/mcp", "require_approval": "never"}
    ]});
    let same_host_other_path = json!({"model": "mock-1", "input": "x", "tools": [
        {"type": "mcp", "server_label": "gw", "server_url": format!("{}/v1/me", app.address)}
    ]});
    for (body, needle) in [
        (json!({"model": "mock-1", "input": "a\u{0}b"}), "NUL"),
        (
            json!({"model": "mock-1", "input": "x", "background": true}),
            "background",
        ),
        (
            json!({"model": "mock-1", "input": "x", "tools": [{"type": "web_search"}]}),
            "web_search",
        ),
        (foreign, "not this gateway's MCP endpoint"),
        (same_host_other_path, "not this gateway's MCP endpoint"),
        (json!({"model": "mock-1"}), "input is required"),
        (
            json!({"model": "mock-1", "input": [{"type": "reasoning", "id": "r"}]}),
            "reasoning",
        ),
        (
            json!({"model": "mock-1", "input": [{"type": "mcp_approval_response", "approval_request_id": "mcpr_x", "approve": true}]}),
            "mcpr_x",
        ),
        (
            json!({"model": "mock-1", "input": "x", "metadata": {"k": 7}}),
            "metadata",
        ),
        (
            json!({"model": "mock-1", "input": "x", "tool_choice": {"type": "file_search"}}),
            "file_search",
        ),
    ] {
        let reply = create(&app, &key, &body).await;
        assert_openai_error(&reply, 400, "bad_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{needle}: {message}");
        assert_eq!(cost(&reply), 0.0);
    }
    let unknown_model = create(&app, &key, &json!({"model": "gpt-9", "input": "x"})).await;
    assert_openai_error(&unknown_model, 404, "model_not_found");
    assert_eq!(stored_count(&app).await, 0);
    let budget = app.get("/v1/me/budget", &key).await;
    assert_eq!(budget.data()["used_usd"], 0.0, "{}", budget.body);
    assert_eq!(budget.data()["held_usd"], 0.0, "{}", budget.body);
    app.stop().await;
}

/// A platform with GitHub activated against a real OAuth server and a GitHub
/// stand-in that only answers the connected user's token; the OpenAI stand-in
/// as the model. (app, stand-in, connected user key, unconnected user key).
struct GithubWorld {
    app: TestApp,
    model: StandIn,
    connected: String,
    unconnected: String,
    _oauth: crate::oauth_mock_server::MockServer,
}

async fn github_world(backend: Backend) -> GithubWorld {
    let oauth = oauth2_mock_server();
    let accepted = Arc::new(Mutex::new(None));
    let api = github_api(accepted.clone()).await;
    let app = spawn_app(backend).await;
    let model = StandIn::start(StandInKind::OpenAi, "sk-o").await.unwrap();
    add_provider(
        &app,
        app.platform_id,
        json!({"provider": "openai", "api_key": "sk-o", "base_url": model.base_url()}),
    )
    .await;
    let activated = app
        .send(
            app.request(Method::PUT, &format!("/admin/v1/platforms/{}/apps/github", app.platform_id), Some(ADMIN_TOKEN))
                .json(&json!({"client_id": "responses-client", "client_secret": "responses-secret",
                    "base_url": "https://p.example", "authorize_url": format!("{}/authorize", oauth.url),
                    "token_url": format!("{}/token", oauth.url), "api_base_url": api})),
        )
        .await;
    assert!(activated.status.is_success(), "{}", activated.body);
    let (euid, connected) = funded_user(&app, "octo", 5.0).await;
    let (_, unconnected) = funded_user(&app, "stranger", 5.0).await;
    let begun = app
        .post("/v1/me/apps/github/connect", &connected, &json!({}))
        .await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let at_provider = browser
        .get(begun.data()["authorize_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let callback = at_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let path = &callback[callback.find("/oauth/callback").unwrap()..];
    let landed = browser
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    let location = landed.headers()["location"].to_str().unwrap();
    assert!(location.ends_with("status=connected"), "{location}");
    let slug = assistiv::apps::AppSlug::parse(&app.state.apps, "github").unwrap();
    let Ok(token) = app.state.oauth.token(app.platform_id, euid, &slug).await else {
        panic!("connected");
    };
    use secrecy::ExposeSecret;
    *accepted.lock().unwrap() = Some(token.access_token.expose_secret().to_owned());
    GithubWorld {
        app,
        model,
        connected,
        unconnected,
        _oauth: oauth,
    }
}

fn github_tools(approval: Option<&str>) -> Value {
    let mut tool =
        json!({"type": "mcp", "server_label": "github", "allowed_tools": ["github_get_me"]});
    if let Some(approval) = approval {
        tool["require_approval"] = json!(approval);
    }
    json!([tool])
}

/// The tool messages the model stand-in received last.
fn tool_messages(model: &StandIn) -> Vec<String> {
    model.last_request().unwrap().body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn hosted_github_runs_as_the_end_user(backend: Backend) {
    let world = github_world(backend).await;
    let app = &world.app;
    let body = json!({"model": "gpt-4o-mini", "input": "who am I on GitHub?", "tools": github_tools(Some("never"))});
    let reply = create(app, &world.connected, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        output_types(&reply.body),
        ["mcp_list_tools", "mcp_call", "message"]
    );
    let listed = item(&reply.body, "mcp_list_tools");
    assert_eq!(listed["server_label"], "github");
    assert_eq!(listed["tools"][0]["name"], "github_get_me");
    assert!(listed["tools"][0]["input_schema"].is_object());
    let call = item(&reply.body, "mcp_call");
    assert_eq!(call["name"], "github_get_me");
    assert!(call["error"].is_null(), "{call}");
    assert!(
        call["output"].as_str().unwrap().contains("mock-octocat"),
        "{call}"
    );
    // The model read the result before it answered.
    let results = tool_messages(&world.model);
    assert!(
        results.iter().any(|r| r.contains("mock-octocat")),
        "{results:?}"
    );
    assert_eq!(output_text(&reply.body), "who am I on GitHub?");
    // Two model turns and one tool call, each logged under the response id.
    let id = reply.body["id"].as_str().unwrap();
    let rows = rows_of(app, &world.connected, id, 3).await;
    let mut kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["inference", "inference", "tool_call"], "{rows:?}");
    assert_eq!(
        reply.body["usage"]["total_tokens"].as_u64().unwrap(),
        rows.iter()
            .filter_map(|r| Some(r["input_tokens"].as_u64()? + r["output_tokens"].as_u64()?))
            .sum::<u64>()
    );

    // The same explicitly at this gateway's URL; elsewhere is refused.
    let mut explicit = body.clone();
    explicit["tools"][0]["server_url"] = json!(format!("{}/mcp", app.address));
    assert_eq!(create(app, &world.connected, &explicit).await.status, 200);

    // Someone who never connected: the model reads not_connected with the link.
    let reply = create(app, &world.unconnected, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let call = item(&reply.body, "mcp_call");
    assert_eq!(call["status"], "failed");
    assert_eq!(call["error"]["type"], "mcp_tool_execution_error");
    let error = call["error"]["content"].to_string();
    assert!(
        error.contains("not_connected") && error.contains("connect_url"),
        "{error}"
    );
    let results = tool_messages(&world.model);
    assert!(
        results.iter().any(|r| r.contains("not_connected")),
        "{results:?}"
    );
    world.app.stop().await;
}

async fn approvals_stop_and_resume(backend: Backend) {
    let world = github_world(backend).await;
    let app = &world.app;
    // require_approval left out means "always", as on OpenAI.
    let asked = create(
        app,
        &world.connected,
        &json!({"model": "gpt-4o-mini", "input": "me?", "tools": github_tools(None)}),
    )
    .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_eq!(
        output_types(&asked.body),
        ["mcp_list_tools", "mcp_approval_request"]
    );
    let request = item(&asked.body, "mcp_approval_request");
    let request_id = request["id"].as_str().unwrap();
    assert_eq!(request["name"], "github_get_me");
    let previous = asked.body["id"].as_str().unwrap();

    let approve = |approve: bool, previous: &str, request_id: &str| {
        json!({"model": "gpt-4o-mini", "previous_response_id": previous, "tools": github_tools(None),
               "input": [{"type": "mcp_approval_response", "approval_request_id": request_id, "approve": approve}]})
    };
    // Someone else cannot answer it.
    let foreign = create(
        app,
        &world.unconnected,
        &approve(true, previous, request_id),
    )
    .await;
    assert_openai_error(&foreign, 404, "previous_response_not_found");

    let resumed = create(app, &world.connected, &approve(true, previous, request_id)).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(output_types(&resumed.body), ["mcp_call", "message"]);
    let call = item(&resumed.body, "mcp_call");
    assert_eq!(call["approval_request_id"], request_id);
    assert!(call["output"].as_str().unwrap().contains("mock-octocat"));
    assert_eq!(output_text(&resumed.body), "me?");
    // Answered once only.
    let again = create(
        app,
        &world.connected,
        &approve(true, resumed.body["id"].as_str().unwrap(), request_id),
    )
    .await;
    assert_openai_error(&again, 400, "bad_request");

    // A refusal: nothing runs, the model hears it was declined.
    let asked = create(
        app,
        &world.connected,
        &json!({"model": "gpt-4o-mini", "input": "me again?", "tools": github_tools(Some("always"))}),
    )
    .await;
    let request_id = item(&asked.body, "mcp_approval_request")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let declined = create(
        app,
        &world.connected,
        &approve(false, asked.body["id"].as_str().unwrap(), &request_id),
    )
    .await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(output_types(&declined.body), ["message"]);
    assert!(
        tool_messages(&world.model)
            .iter()
            .any(|m| m.contains("declined"))
    );
    world.app.stop().await;
}

async fn hosted_capability_runs_are_charged(backend: Backend) {
    let up = crate::capabilities::upstream().await;
    let app = crate::capabilities::spawn(backend, &up).await;
    let enabled =
        crate::capabilities::set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    assert!(enabled.status.is_success(), "{}", enabled.body);
    let mut open = crate::capabilities::provider(
        "cap_t_open",
        "image-generation",
        &format!("{}/fixed/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    open["input_schema"] = json!({"type": "object"});
    open["input_example"] = json!({});
    let added = crate::capabilities::add_provider(&app, &open).await;
    assert!(added.status.is_success(), "{}", added.body);
    let (euid, key) = funded_user(&app, "buyer", 1.0).await;
    // The mock model calls capability_run with the capability named by the input.
    let reply = create(
        &app,
        &key,
        &json!({"model": "mock-1", "input": "cap_t_open", "tools": [
            {"type": "mcp", "server_label": "market", "server_url": format!("{}/mcp/capabilities", app.address),
             "allowed_tools": ["capability_run"], "require_approval": "never"}
        ]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        output_types(&reply.body),
        ["mcp_list_tools", "mcp_call", "message"]
    );
    let call = item(&reply.body, "mcp_call");
    assert!(call["error"].is_null(), "{call}");
    assert_eq!(up.seen.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The run and both model turns are on the budget and in the ledger.
    let budget = crate::capabilities::budget(&app, euid).await;
    let used = budget["used_usd"].as_f64().unwrap();
    let turns = cost(&reply);
    assert!(
        (used - (0.01 + turns)).abs() < 1e-9,
        "{used} vs 0.01 + {turns}"
    );
    assert_eq!(budget["held_usd"], 0.0);
    let ledger: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(
            "SELECT COUNT(*) FROM budget_ledger WHERE end_user_id = $1 AND related_id LIKE 'capability_run:%'",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    assert_eq!(ledger[0].0, 1);
    app.stop().await;
}

/// An `mcp` item naming an agent's path gives the model exactly that agent's
/// tools; another platform's agent is 404.
async fn hosted_tools_follow_an_agents_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    crate::mcp::activate_github(&app, app.platform_id).await;
    let enabled = app
        .patch(
            &format!("/v1/platforms/{}", app.platform_id),
            &app.platform_key,
            &json!({"skills_enabled": true}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let agent = |pid: Uuid, pkey: String| {
        let app = &app;
        async move {
            let reply = app
                .post(
                    &format!("/v1/platforms/{pid}/agents"),
                    &pkey,
                    &json!({"name": "Reader", "config": {}, "allowed_apps": ["github"], "read_only": true}),
                )
                .await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.data()["mcp_path"].as_str().unwrap().to_owned()
        }
    };
    let reader = agent(app.platform_id, app.platform_key.clone()).await;
    let (_, key) = funded_user(&app, "agent-user", 5.0).await;
    let body = |path: &str| {
        json!({"model": "mock-1", "input": "who am I", "tools": [
            {"type": "mcp", "server_label": "reader", "server_url": format!("{}{path}", app.address)}
        ]})
    };
    let reply = create(&app, &key, &body(&reader)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // require_approval left out: the first call waits for the user.
    assert_eq!(
        output_types(&reply.body),
        ["mcp_list_tools", "mcp_approval_request"]
    );
    let tools = item(&reply.body, "mcp_list_tools")["tools"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"github_get_me"), "{names:?}");
    assert!(
        !names.contains(&"github_create_issue"),
        "read-only: {names:?}"
    );
    assert!(
        !names.contains(&"find_skill"),
        "only the agent's apps: {names:?}"
    );
    assert!(
        tools
            .iter()
            .all(|t| t["annotations"]["readOnlyHint"] == true),
        "{tools:?}"
    );
    let (other, other_key) = app.create_platform("elsewhere").await;
    let foreign = agent(other, other_key).await;
    let refused = create(&app, &key, &body(&foreign)).await;
    assert_openai_error(&refused, 404, "not_found");
    app.stop().await;
}

both_backends!(
    hosted_tools_follow_an_agents_scope,
    conversations_continue_over_every_provider,
    input_items_page_with_cursors,
    streams_events_and_stores_before_completing,
    stored_responses_are_their_end_users_own,
    old_responses_are_purged,
    refusals_change_nothing,
    hosted_github_runs_as_the_end_user,
    approvals_stop_and_resume,
    hosted_capability_runs_are_charged,
);
