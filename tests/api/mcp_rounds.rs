//! Calls that take more than one round on the stateless `2026-07-28` revision
//! (`input_required`, SEP-2322), on both databases:
//!
//! - Connect in the loop: the official Python SDK and TypeScript SDK (v2), each
//!   with an elicitation handler, call `github_get_me` before the user connected
//!   GitHub; the gateway asks them to open the signed start link (URL
//!   elicitation), the handler follows it in headless Chromium through the
//!   GitHub stand-in's consent, and the SDK's retry returns the user's login.
//! - The `requestState` is sealed to its user and call: another user's, an
//!   altered, a forged one and one moved to other arguments are refused; a
//!   declined link or a client without URL elicitation, and a session on
//!   `2025-11-25`, get `not_connected` with the `connect_url` as before.
//! - Consent before spending: a `capability_run` quoted above the platform's
//!   `confirm_above_usd` asks a form question first; the SDKs' accept charges
//!   once (one ledger row), a decline charges nothing and leaves no hold; a
//!   client that cannot ask follows `confirm_fallback`.

use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::{Value, json};

use crate::capabilities::runs::{count, run_ledger_rows};
use crate::capabilities::{add_provider, budget, provider, set_policy, spawn, upstream};
use crate::helpers::{Backend, TestApp};
use crate::mcp_clients::{BASE_URL, GITHUB_LOGIN, Peers, peers, repo_path, run_peer, world};
use crate::tool_pipeline::answer;

const ACCEPT: &str = "application/json, text/event-stream";
/// Where the platform's own site is, for the browser to land on.
const LANDING_ORIGIN: &str = "https://acme.example";

/// A `tools/call` of the stateless revision from a client declaring
/// `capabilities`, with `extra` params (`inputResponses`, `requestState`).
async fn call(
    app: &TestApp,
    key: &str,
    tool: &str,
    arguments: Value,
    capabilities: Value,
    extra: Value,
) -> Value {
    let mut params = json!({
        "name": tool,
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": capabilities,
            "io.modelcontextprotocol/clientInfo": {"name": "rounds-test", "version": "1"},
        },
    });
    if let Value::Object(extra) = extra {
        params.as_object_mut().unwrap().extend(extra);
    }
    let response = app
        .request(Method::POST, "/mcp", Some(key))
        .header("Accept", ACCEPT)
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", tool)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}))
        .send()
        .await
        .unwrap();
    answer(&response.text().await.unwrap())
}

fn url_elicitation() -> Value {
    json!({"elicitation": {"url": {}}})
}

fn follow_args(peers: &Peers) -> [String; 3] {
    [
        peers.node22.to_str().unwrap().to_owned(),
        repo_path("tests/peers/follow_link.mjs")
            .to_str()
            .unwrap()
            .to_owned(),
        LANDING_ORIGIN.to_owned(),
    ]
}

fn assert_connected_in_the_loop(report: &Value, app: &TestApp) {
    assert_eq!(report["protocol_version"], "2026-07-28", "{report}");
    let asked = report["elicitations"].as_array().unwrap();
    assert_eq!(asked.len(), 1, "one question: the link: {report}");
    assert_eq!(asked[0]["mode"], "url", "{report}");
    let link = asked[0]["url"].as_str().unwrap();
    assert!(
        link.starts_with(&app.url("/oauth/start?t=")),
        "the signed start link: {link}"
    );
    assert!(!link.contains("sk-"), "no key in the link: {link}");
    assert_eq!(
        asked[0]["browser"]["landed"],
        format!("{BASE_URL}/mcp/oauth-callback?app=github&status=connected"),
        "{report}"
    );
    assert_eq!(report["call"]["isError"], false, "{report}");
    assert_eq!(
        report["call"]["structuredContent"]["login"], GITHUB_LOGIN,
        "{report}"
    );
}

/// Both official SDKs connect GitHub in the middle of a tool call.
async fn the_sdks_connect_an_app_in_the_loop(backend: Backend) {
    let peers = peers();
    let world = world(backend).await;
    let app = &world.app;
    let follow = follow_args(&peers);
    let python = peers.dir.join("python_rounds_client.py");
    let mcp_url = world.mcp_url();
    let report = run_peer(
        &peers.python,
        &[
            python.to_str().unwrap(),
            mcp_url.as_str(),
            "--tool",
            "github_get_me",
            "--follow",
            follow[0].as_str(),
            follow[1].as_str(),
            follow[2].as_str(),
        ],
        &world.eu_key,
        "python rounds client",
    )
    .await;
    assert_connected_in_the_loop(&report, app);

    // Disconnected again, the TypeScript SDK goes through the same loop.
    let removed = app.delete("/v1/me/apps/github", &world.eu_key).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let ts = peers.dir.join("ts_rounds_client.mjs");
    let report = run_peer(
        &peers.node22,
        &[
            ts.to_str().unwrap(),
            mcp_url.as_str(),
            "--tool",
            "github_get_me",
            "--follow-script",
            follow[1].as_str(),
            "--landing",
            LANDING_ORIGIN,
        ],
        &world.eu_key,
        "typescript rounds client",
    )
    .await;
    assert_connected_in_the_loop(&report, app);
    world.app.stop().await;
}

fn tool_error(answer: &Value) -> &Value {
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    &answer["result"]["structuredContent"]
}

/// The state opens only for its user and call; older ways keep `not_connected`.
async fn request_state_is_sealed_to_its_user_and_call(backend: Backend) {
    let world = world(backend).await;
    let app = &world.app;
    let key = world.eu_key.as_str();
    let (_, other_key) = app.create_end_user("someone-else").await;

    let first = call(
        app,
        key,
        "github_get_me",
        json!({}),
        url_elicitation(),
        json!({}),
    )
    .await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    let question = &result["inputRequests"]["connect"];
    assert_eq!(question["method"], "elicitation/create", "{first}");
    assert_eq!(question["params"]["mode"], "url", "{first}");
    assert!(
        question["params"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&app.url("/oauth/start?t=")),
        "{first}"
    );
    let state = result["requestState"].as_str().unwrap().to_owned();
    let accepted = json!({"connect": {"action": "accept"}});
    let retry = |state: &str| json!({"requestState": state, "inputResponses": accepted});

    // Another user's retry with this user's state, an altered state, a forged
    // one, and the state moved to other arguments: refused, naming requestState.
    let mut altered = state.clone().into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let attempts = [
        (other_key.as_str(), json!({}), state.as_str()),
        (key, json!({}), altered.as_str()),
        (key, json!({}), "c29tZXRoaW5nIGZvcmdlZA"),
        (key, json!({"extra": 1}), state.as_str()),
    ];
    for (who, arguments, sealed) in attempts {
        let refused = call(
            app,
            who,
            "github_get_me",
            arguments,
            url_elicitation(),
            retry(sealed),
        )
        .await;
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("requestState"),
            "{refused}"
        );
    }

    // The rightful retry, still not connected: the tool error, not another round.
    let back = call(
        app,
        key,
        "github_get_me",
        json!({}),
        url_elicitation(),
        retry(&state),
    )
    .await;
    let error = tool_error(&back);
    assert_eq!(error["code"], "not_connected", "{back}");
    assert!(
        error["connect_url"]
            .as_str()
            .unwrap()
            .contains("/oauth/start?t=")
    );
    // Declined: the same, saying so.
    let declined = call(
        app,
        key,
        "github_get_me",
        json!({}),
        url_elicitation(),
        json!({"requestState": state, "inputResponses": {"connect": {"action": "decline"}}}),
    )
    .await;
    let error = tool_error(&declined);
    assert_eq!(error["code"], "not_connected", "{declined}");
    assert!(error["message"].as_str().unwrap().contains("declined"));

    // A client that declares only forms, and one that declares nothing: unchanged.
    for capabilities in [json!({"elicitation": {"form": {}}}), json!({})] {
        let plain = call(
            app,
            key,
            "github_get_me",
            json!({}),
            capabilities,
            json!({}),
        )
        .await;
        let error = tool_error(&plain);
        assert_eq!(error["code"], "not_connected", "{plain}");
        assert!(error["connect_url"].as_str().is_some(), "{plain}");
    }

    // A session on 2025-11-25 that declares URL elicitation: unchanged too.
    let init = app
        .request(Method::POST, "/mcp", Some(key))
        .header("Accept", ACCEPT)
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {"form": {}, "url": {}}},
            "clientInfo": {"name": "legacy", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let session_post = |body: Value| {
        app.request(Method::POST, "/mcp", Some(key))
            .header("Accept", ACCEPT)
            .header("Mcp-Session-Id", &session)
            .header("MCP-Protocol-Version", "2025-11-25")
            .json(&body)
            .send()
    };
    session_post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await
        .unwrap();
    let legacy = session_post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "github_get_me", "arguments": {}}}))
    .await
    .unwrap();
    let legacy = answer(&legacy.text().await.unwrap());
    assert!(legacy["result"].get("resultType").is_none(), "{legacy}");
    let error = tool_error(&legacy);
    assert_eq!(error["code"], "not_connected", "{legacy}");
    assert!(error["connect_url"].as_str().is_some(), "{legacy}");
    world.app.stop().await;
}

/// A Zendesk subdomain is asked by form before the link, checked by the app,
/// and carried by the link.
async fn connect_fields_are_asked_before_the_link(backend: Backend) {
    let world = world(backend).await;
    let app = &world.app;
    crate::stand_in::activate(
        app,
        "zendesk",
        json!({"client_id": "zd-client", "client_secret": "zd-secret", "base_url": BASE_URL}),
    )
    .await;
    let key = world.eu_key.as_str();
    let both = json!({"elicitation": {"form": {}, "url": {}}});
    let tool = "zendesk_get_me";
    let first = call(app, key, tool, json!({}), both.clone(), json!({})).await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    let form = &result["inputRequests"]["connect_fields"]["params"];
    assert_eq!(form["mode"], "form", "{first}");
    assert_eq!(
        form["requestedSchema"]["required"],
        json!(["subdomain"]),
        "{first}"
    );
    let state = result["requestState"].as_str().unwrap().to_owned();
    let answered = |subdomain: &str, state: &str| {
        json!({"requestState": state,
               "inputResponses": {"connect_fields": {"action": "accept", "content": {"subdomain": subdomain}}}})
    };
    // A value that could move the link elsewhere: the form again, with the reason.
    let bad = call(
        app,
        key,
        tool,
        json!({}),
        both.clone(),
        answered("evil.example/x", &state),
    )
    .await;
    assert_eq!(bad["result"]["resultType"], "input_required", "{bad}");
    assert!(
        bad["result"]["inputRequests"]["connect_fields"].is_object(),
        "{bad}"
    );
    let state = bad["result"]["requestState"].as_str().unwrap().to_owned();
    let good = call(app, key, tool, json!({}), both, answered("acme", &state)).await;
    let link = &good["result"]["inputRequests"]["connect"]["params"];
    assert_eq!(link["mode"], "url", "{good}");
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with(&app.url("/oauth/start?t=")) && url.ends_with("&subdomain=acme"),
        "{url}"
    );
    // The link starts Zendesk's flow at that subdomain.
    let started = crate::stand_in::browser().get(url).send().await.unwrap();
    assert_eq!(started.status(), 302);
    assert!(
        started.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://acme.zendesk.com/oauth/authorizations/new?"),
        "{:?}",
        started.headers()["location"]
    );
    world.app.stop().await;
}

async fn holds(app: &TestApp, euid: uuid::Uuid) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM holds WHERE end_user_id = $1",
        euid,
    )
    .await
}

/// A paid run above `confirm_above_usd` asks first: accept charges once,
/// decline charges nothing and holds nothing; clients that cannot ask follow
/// `confirm_fallback`.
async fn a_paid_run_above_the_threshold_asks_first(backend: Backend) {
    let peers = peers();
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    let endpoint = format!("{}/fixed/run", up.base);
    let dear = provider(
        "cap_t_dear",
        "image-generation",
        &endpoint,
        json!({"kind": "fixed", "price_usd": 0.012}),
    );
    let cheap = provider(
        "cap_t_cheap",
        "image-generation",
        &endpoint,
        json!({"kind": "fixed", "price_usd": 0.005}),
    );
    for p in [&dear, &cheap] {
        assert_eq!(add_provider(&app, p).await.status, 201);
    }
    // Bad settings change nothing.
    for bad in [
        json!({"confirm_above_usd": -0.01}),
        json!({"confirm_above_usd": "0.01"}),
        json!({"confirm_fallback": "maybe"}),
    ] {
        let refused = set_policy(&app, app.platform_id, &bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }
    let set = set_policy(
        &app,
        app.platform_id,
        &json!({"enabled": true, "confirm_above_usd": 0.01}),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.data()["confirm_above_usd"], 0.01, "{}", set.body);
    assert_eq!(set.data()["confirm_fallback"], "refuse", "{}", set.body);
    let (euid, key) = crate::capabilities::user_with_budget(&app, "confirmer", 1.0).await;
    let mcp_url = app.url("/mcp");
    let python = peers.dir.join("python_rounds_client.py");
    let ts = peers.dir.join("ts_rounds_client.mjs");
    let run_args =
        json!({"capability": "cap_t_dear", "input": {"prompt": "a lighthouse"}}).to_string();
    let python_run = |confirm: &'static str| {
        let python = python.clone();
        let mcp_url = mcp_url.clone();
        let run_args = run_args.clone();
        let peers_python = peers.python.clone();
        let key = key.clone();
        async move {
            run_peer(
                &peers_python,
                &[
                    python.to_str().unwrap(),
                    mcp_url.as_str(),
                    "--tool",
                    "capability_run",
                    "--args",
                    run_args.as_str(),
                    "--confirm",
                    confirm,
                ],
                &key,
                "python rounds client",
            )
            .await
        }
    };

    // Python, accept: asked once with the price, charged once.
    let report = python_run("accept").await;
    let asked = report["elicitations"].as_array().unwrap();
    assert_eq!(asked.len(), 1, "{report}");
    assert_eq!(asked[0]["mode"], "form", "{report}");
    assert_eq!(
        asked[0]["message"], "Run Test cap_t_dear for $0.012 from your budget?",
        "{report}"
    );
    assert_eq!(report["call"]["isError"], false, "{report}");
    assert_eq!(report["call"]["structuredContent"]["final_state"], "billed");
    assert_eq!(report["call"]["structuredContent"]["cost_usd"], 0.012);
    assert_eq!(run_ledger_rows(&app, euid).await, 1);
    assert_eq!(up.seen.calls.load(Ordering::SeqCst), 1);
    let b = budget(&app, euid).await;
    assert_eq!(b["balance_usd"], 0.988, "{b}");
    assert_eq!(b["held_usd"], 0.0, "{b}");

    // Python, decline: nothing charged, nothing held, the provider never called.
    let report = python_run("decline").await;
    assert_eq!(report["elicitations"].as_array().unwrap().len(), 1);
    assert_eq!(report["call"]["isError"], true, "{report}");
    assert_eq!(report["call"]["structuredContent"]["code"], "declined");
    assert_eq!(run_ledger_rows(&app, euid).await, 1);
    assert_eq!(holds(&app, euid).await, 0);
    assert_eq!(up.seen.calls.load(Ordering::SeqCst), 1);
    assert_eq!(budget(&app, euid).await["balance_usd"], 0.988);

    // TypeScript, cancel then accept.
    for (confirm, ledger, calls) in [("cancel", 1, 1), ("accept", 2, 2)] {
        let report = run_peer(
            &peers.node22,
            &[
                ts.to_str().unwrap(),
                mcp_url.as_str(),
                "--tool",
                "capability_run",
                "--args",
                run_args.as_str(),
                "--confirm",
                confirm,
            ],
            &key,
            "typescript rounds client",
        )
        .await;
        assert_eq!(report["protocol_version"], "2026-07-28", "{report}");
        assert_eq!(report["elicitations"][0]["mode"], "form", "{report}");
        assert_eq!(report["call"]["isError"], confirm != "accept", "{report}");
        assert_eq!(run_ledger_rows(&app, euid).await, ledger);
        assert_eq!(holds(&app, euid).await, 0);
        assert_eq!(up.seen.calls.load(Ordering::SeqCst), calls);
    }
    assert_eq!(budget(&app, euid).await["balance_usd"], 0.976);

    // Under the threshold: no question.
    let cheap_args: Value = json!({"capability": "cap_t_cheap", "input": {"prompt": "x"}});
    let form = json!({"elicitation": {"form": {}}});
    let ran = call(
        &app,
        &key,
        "capability_run",
        cheap_args,
        form.clone(),
        json!({}),
    )
    .await;
    assert_eq!(
        ran["result"]["structuredContent"]["final_state"], "billed",
        "{ran}"
    );

    // A state for the dear run cannot approve another run (other arguments).
    let dear_args: Value = serde_json::from_str(&run_args).unwrap();
    let asked = call(
        &app,
        &key,
        "capability_run",
        dear_args.clone(),
        form.clone(),
        json!({}),
    )
    .await;
    let state = asked["result"]["requestState"].as_str().unwrap().to_owned();
    let moved = call(
        &app,
        &key,
        "capability_run",
        json!({"capability": "cap_t_dear", "input": {"prompt": "another"}}),
        form,
        json!({"requestState": state, "inputResponses": {"confirm_run": {"action": "accept", "content": {}}}}),
    )
    .await;
    assert_eq!(moved["error"]["code"], -32602, "{moved}");

    // No way to ask: the platform's fallback, refuse (nothing happens) or run.
    let calls_before = up.seen.calls.load(Ordering::SeqCst);
    let refused = call(
        &app,
        &key,
        "capability_run",
        dear_args.clone(),
        json!({}),
        json!({}),
    )
    .await;
    let error = tool_error(&refused);
    assert_eq!(error["code"], "confirmation_required", "{refused}");
    assert_eq!(error["price_usd"], 0.012, "{refused}");
    assert_eq!(up.seen.calls.load(Ordering::SeqCst), calls_before);
    assert_eq!(holds(&app, euid).await, 0);
    // REST runs are the platform's own calls: never asked, whatever the fallback.
    let rest = crate::capabilities::run(
        &app,
        &key,
        &json!({"capability": "cap_t_dear", "input": {"prompt": "rest"}}),
    )
    .await;
    assert_eq!(rest.body["final_state"], "billed", "{}", rest.body);
    let set = set_policy(&app, app.platform_id, &json!({"confirm_fallback": "run"})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let ran = call(
        &app,
        &key,
        "capability_run",
        dear_args,
        json!({}),
        json!({}),
    )
    .await;
    assert_eq!(
        ran["result"]["structuredContent"]["final_state"], "billed",
        "{ran}"
    );
    app.stop().await;
}

both_backends!(
    the_sdks_connect_an_app_in_the_loop,
    request_state_is_sealed_to_its_user_and_call,
    connect_fields_are_asked_before_the_link,
    a_paid_run_above_the_threshold_asks_first,
);
