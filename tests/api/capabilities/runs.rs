//! Every final state (billed, failed, released) and every 402 code through
//! `POST /v1/capabilities/run`, with the books checked after; idempotency; bad
//! input changing nothing; tenants kept apart; health and operator changes.

use serde_json::{Value, json};

use super::{add_provider, budget, provider, run, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::{ADMIN_TOKEN, Backend, TestApp};

pub async fn count(app: &TestApp, sql: &str, euid: uuid::Uuid) -> i64 {
    let rows: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(sql, &assistiv::args![euid])
        .await
        .unwrap();
    rows[0].0
}

async fn runs_of(app: &TestApp, euid: uuid::Uuid) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM capability_runs WHERE end_user_id = $1",
        euid,
    )
    .await
}

pub async fn run_ledger_rows(app: &TestApp, euid: uuid::Uuid) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM budget_ledger WHERE end_user_id = $1 AND related_id LIKE 'capability_run:%'",
        euid,
    )
    .await
}

fn assert_run(reply: &crate::helpers::Reply, state: &str, status: u64, cost: f64, charged: bool) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let b = &reply.body;
    assert_eq!(b["final_state"], state, "{b}");
    assert_eq!(b["ok"], state == "billed", "{b}");
    assert_eq!(b["status"], status, "{b}");
    assert_eq!(b["cost_usd"], cost, "{b}");
    assert_eq!(b["charged_end_user"], charged, "{b}");
    assert!(b["run_id"].as_str().is_some_and(|s| s.len() == 36), "{b}");
    for key in ["capability", "result"] {
        assert!(b.get(key).is_some(), "{key} missing: {b}");
    }
}

async fn add_test_providers(app: &TestApp, base: &str) {
    let mut fixed = provider(
        "cap_t_fixed",
        "image-generation",
        &format!("{base}/fixed/run"),
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    fixed["auth"] = json!({"header": "X-Api-Key", "secret": "s3cret-key"});
    let quote = provider(
        "cap_t_quote",
        "image-generation",
        &format!("{base}/quote/run"),
        json!({"kind": "quote", "quote_url": format!("{base}/quote/price"), "min_price_usd": 0.004, "max_price_usd": 0.05}),
    );
    let mut x402 = provider(
        "cap_t_x402",
        "geolocation",
        &format!("{base}/x402/ip"),
        json!({"kind": "x402", "min_price_usd": 0.0015, "max_price_usd": 0.002}),
    );
    x402["call_method"] = json!("GET");
    x402["auth"] = json!({"header": "X-Api-Key"});
    let slow = provider(
        "cap_t_slow",
        "image-generation",
        &format!("{base}/slow/run"),
        json!({"kind": "fixed", "price_usd": 0.02}),
    );
    let fail = provider(
        "cap_t_fail",
        "image-generation",
        &format!("{base}/fail/run"),
        json!({"kind": "fixed", "price_usd": 0.03}),
    );
    let gone = provider(
        "cap_t_gone",
        "image-generation",
        "http://127.0.0.1:9/nothing-listens-here",
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    for body in [fixed, quote, x402, slow, fail, gone] {
        let reply = add_provider(app, &body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let text = reply.body.to_string();
        assert!(!text.contains("s3cret-key"), "a secret came back: {text}");
    }
}

async fn every_final_state_and_402_code(backend: Backend) {
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    add_test_providers(&app, &up.base).await;
    let (euid, key) = user_with_budget(&app, "runner", 1.0).await;
    let prompt = json!({"prompt": "a cat wearing sunglasses"});

    // Disabled: browsable, but search and run are 403.
    let shelves = app.get("/v1/capabilities", &key).await;
    assert_eq!(shelves.status, 200, "{}", shelves.body);
    assert_eq!(shelves.body["enabled"], false);
    assert!(shelves.body["data"].as_array().unwrap().len() >= 45);
    app.post("/v1/capabilities/search", &key, &json!({"query": "image"}))
        .await
        .assert_error(403, "forbidden");
    run(
        &app,
        &key,
        &json!({"capability": "cap_t_fixed", "input": prompt}),
    )
    .await
    .assert_error(403, "forbidden");

    let enabled = set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(enabled.data()["charge_failed_calls"], true, "default on");

    // billed at a fixed price, with the operator's secret sent to the provider.
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_fixed", "input": prompt, "max_pay": 0.02}),
    )
    .await;
    assert_run(&r, "billed", 200, 0.01, true);
    assert_eq!(r.body["capability"], "image-generation");
    assert_eq!(r.body["result"]["image_url"], "https://cdn.example/out.png");
    assert_eq!(
        up.seen.last_key.lock().unwrap().as_deref(),
        Some("s3cret-key")
    );

    // billed at the provider's reported price, below its fresh quote.
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_quote", "input": prompt}),
    )
    .await;
    assert_run(&r, "billed", 200, 0.005, true);
    assert_eq!(r.body["quote_usd"], 0.007);

    // A fresh quote above max_pay: 402 above_ceiling with price and ceiling, no spend.
    let large =
        json!({"capability": "cap_t_quote", "input": {"prompt": "a large mural"}, "max_pay": 0.02});
    let r = run(&app, &key, &large).await;
    r.assert_error(402, "above_ceiling");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("0.05"),
        "{}",
        r.body
    );

    // x402: the challenge is the quote; without a prepaid credential the provider
    // still demands on-chain payment at call time → released, nothing charged.
    let ip = json!({"capability": "cap_t_x402", "input": {"prompt": "1.1.1.1"}});
    let r = run(&app, &key, &ip).await;
    assert_run(&r, "released", 402, 0.0, false);
    assert!(
        r.body["result"]["error"]
            .as_str()
            .unwrap()
            .contains("on-chain")
    );
    let patched = app
        .patch(
            "/admin/v1/capabilities/providers/cap_t_x402",
            ADMIN_TOKEN,
            &json!({"auth": {"header": "X-Api-Key", "secret": "prepaid-account"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.data()["secret_set"], true);
    assert!(!patched.body.to_string().contains("prepaid-account"));
    let r = run(&app, &key, &ip).await;
    assert_run(&r, "billed", 200, 0.0015, true);

    // failed: past the timeout, and an error status; charged by default.
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_slow", "input": prompt}),
    )
    .await;
    assert_run(&r, "failed", 504, 0.02, true);
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_fail", "input": prompt}),
    )
    .await;
    assert_run(&r, "failed", 500, 0.03, true);
    assert_eq!(r.body["result"]["error"], "provider exploded");

    // released: the provider cannot be reached.
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_gone", "input": prompt}),
    )
    .await;
    assert_run(&r, "released", 502, 0.0, false);

    // charge_failed_calls off: failed, not charged.
    set_policy(
        &app,
        app.platform_id,
        &json!({"charge_failed_calls": false}),
    )
    .await;
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_fail", "input": prompt}),
    )
    .await;
    assert_run(&r, "failed", 500, 0.0, false);
    let r = run(
        &app,
        &key,
        &json!({"capability": "cap_t_slow", "input": prompt}),
    )
    .await;
    assert_run(&r, "failed", 504, 0.0, false);

    // The policy 402s.
    let fixed = json!({"capability": "cap_t_fixed", "input": prompt});
    set_policy(&app, app.platform_id, &json!({"denylist": ["cap_t_fixed"]})).await;
    run(&app, &key, &fixed)
        .await
        .assert_error(402, "denylisted");
    set_policy(
        &app,
        app.platform_id,
        &json!({"denylist": [], "mode": "curated", "allowlist": ["geolocation"]}),
    )
    .await;
    run(&app, &key, &fixed)
        .await
        .assert_error(402, "not_allowlisted");
    run(&app, &key, &ip).await; // allowlisted by its shelf
    set_policy(
        &app,
        app.platform_id,
        &json!({"mode": "open", "allowlist": [], "max_cost_per_call_usd": 0.005}),
    )
    .await;
    let r = run(&app, &key, &fixed).await;
    r.assert_error(402, "above_ceiling");
    // max_pay only lowers the ceiling, never raises it.
    run(
        &app,
        &key,
        &json!({"capability": "cap_t_fixed", "input": prompt, "max_pay": 5}),
    )
    .await
    .assert_error(402, "above_ceiling");
    set_policy(
        &app,
        app.platform_id,
        &json!({"max_cost_per_call_usd": null, "charge_failed_calls": true}),
    )
    .await;

    // The balance 402s.
    let (_, no_budget) = app.create_end_user("no-budget").await;
    run(&app, &no_budget, &fixed)
        .await
        .assert_error(402, "no_budget");
    let (poor, poor_key) = user_with_budget(&app, "poor", 0.005).await;
    run(&app, &poor_key, &fixed)
        .await
        .assert_error(402, "budget_exhausted");
    let suspended = app
        .post(
            &format!(
                "/v1/platforms/{}/end-users/{poor}/budget/suspend",
                app.platform_id
            ),
            &app.platform_key,
            &json!({}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    run(&app, &poor_key, &fixed)
        .await
        .assert_error(402, "budget_suspended");
    let metered = app
        .send(
            app.request(
                reqwest::Method::PUT,
                &format!("/admin/v1/platforms/{}/wallet", app.platform_id),
                Some(ADMIN_TOKEN),
            )
            .json(&json!({"metered": true})),
        )
        .await;
    assert_eq!(metered.status, 200, "{}", metered.body);
    run(&app, &key, &fixed)
        .await
        .assert_error(402, "wallet_insufficient");
    assert_eq!(runs_of(&app, poor).await, 0, "refusals write no run");

    // The books: exactly what was billed, nothing held, one ledger row per run.
    let b = budget(&app, euid).await;
    let charged = 0.01 + 0.005 + 0.0015 + 0.02 + 0.03 + 0.0015;
    assert_eq!(b["held_usd"], 0.0, "{b}");
    assert_eq!(
        b["balance_usd"],
        ((1.0 - charged) * 1e6_f64).round() / 1e6,
        "{b}"
    );
    let runs = runs_of(&app, euid).await;
    assert_eq!(runs, 10, "one row per run that got past the checks");
    assert_eq!(
        run_ledger_rows(&app, euid).await,
        runs,
        "one ledger row per run"
    );
    let holds: Vec<(i64,)> = app
        .state
        .db
        .fetch_all("SELECT COUNT(*) FROM holds", &[])
        .await
        .unwrap();
    assert_eq!(holds[0].0, 0, "no hold left behind");

    // Every run is in the platform's logs.
    let logs = app
        .get(
            &format!(
                "/v1/platforms/{}/logs?kind=capability_run&limit=100",
                app.platform_id
            ),
            &app.platform_key,
        )
        .await;
    let logged = TestApp::eventually(std::time::Duration::from_secs(5), || async {
        let logs = app
            .get(
                &format!(
                    "/v1/platforms/{}/logs?kind=capability_run&limit=100",
                    app.platform_id
                ),
                &app.platform_key,
            )
            .await;
        logs.body["data"].as_array().is_some_and(|d| d.len() >= 20)
    })
    .await;
    assert!(logged, "{}", logs.body);
    app.stop().await;
}

async fn idempotent_runs_and_bad_input(backend: Backend) {
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    add_test_providers(&app, &up.base).await;
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let (euid, key) = user_with_budget(&app, "idem", 0.005).await;
    let body = json!({"capability": "cap_t_fixed", "input": {"prompt": "p"}});
    let send = |k: &'static str, body: Value| {
        let request = app
            .request(reqwest::Method::POST, "/v1/capabilities/run", Some(&key))
            .header("Idempotency-Key", k)
            .json(&body);
        app.send(request)
    };

    // Refused before any effect: the key is freed, so the same retry succeeds later.
    send("k-1", body.clone())
        .await
        .assert_error(402, "budget_exhausted");
    let topup = app
        .post(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/budget/topup",
                app.platform_id
            ),
            &app.platform_key,
            &json!({"amount_usd": 1}),
        )
        .await;
    assert_eq!(topup.status, 200, "{}", topup.body);
    let first = send("k-1", body.clone()).await;
    assert_run(&first, "billed", 200, 0.01, true);
    let again = send("k-1", body.clone()).await;
    assert_eq!(again.body, first.body, "the first answer is replayed");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    send(
        "k-1",
        json!({"capability": "cap_t_quote", "input": {"prompt": "p"}}),
    )
    .await
    .assert_error(409, "conflict");
    assert_eq!(
        up.seen.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one provider call"
    );
    // The run's ledger row carries its key.
    let keys: Vec<(Option<String>,)> = app
        .state
        .db
        .fetch_all(
            "SELECT idempotency_key FROM budget_ledger WHERE end_user_id = $1 \
             AND related_id LIKE 'capability_run:%'",
            &assistiv::args![euid],
        )
        .await
        .unwrap();
    assert_eq!(keys, [(Some("k-1".to_owned()),)]);
    // Keys are per end user: another user's k-1 is a run of its own.
    let (_, other_key) = user_with_budget(&app, "idem-other", 1.0).await;
    let theirs = app
        .send(
            app.request(
                reqwest::Method::POST,
                "/v1/capabilities/run",
                Some(&other_key),
            )
            .header("Idempotency-Key", "k-1")
            .json(&body),
        )
        .await;
    assert_run(&theirs, "billed", 200, 0.01, true);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_ne!(theirs.body["run_id"], first.body["run_id"]);

    // Bad input: 400 (or 404 for an unknown uid), and nothing written.
    let money = |b: Value| {
        (
            b["balance_usd"].clone(),
            b["held_usd"].clone(),
            b["used_usd"].clone(),
        )
    };
    let before = (money(budget(&app, euid).await), runs_of(&app, euid).await);
    for bad in [
        json!({"capability": "cap_t_fixed", "input": {}}),
        json!({"capability": "cap_t_fixed", "input": {"prompt": 7}}),
        json!({"capability": "cap_t_fixed", "input": {"prompt": "p"}, "max_pay": -1}),
        json!({"capability": "cap_t_fixed", "input": {"prompt": "p"}, "max_pay": 0.0000001}),
        json!({"capability": "cap_t_fixed", "input": {"prompt": "p"}, "surprise": 1}),
        json!({"input": {"prompt": "p"}}),
    ] {
        run(&app, &key, &bad).await.assert_error(400, "bad_request");
    }
    run(&app, &key, &json!({"capability": "cap_nope", "input": {}}))
        .await
        .assert_error(404, "not_found");
    let r = app
        .send(
            app.request(reqwest::Method::POST, "/v1/capabilities/run", Some(&key))
                .body("{not json"),
        )
        .await;
    assert!(r.status == 400 || r.status == 415, "{}", r.body);
    for bad in [
        json!({"query": ""}),
        json!({"query": "x", "limit": 0}),
        json!({"query": "x", "limit": 101}),
    ] {
        app.post("/v1/capabilities/search", &key, &bad)
            .await
            .assert_error(400, "bad_request");
    }
    app.get("/v1/capabilities/image-generation/providers?limit=0", &key)
        .await
        .assert_error(400, "bad_request");
    app.get(
        "/v1/capabilities/image-generation/providers?max_cost=cheap",
        &key,
    )
    .await
    .assert_error(400, "bad_request");
    app.get("/v1/capabilities/no-such-shelf/providers", &key)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        (money(budget(&app, euid).await), runs_of(&app, euid).await),
        before
    );

    // Operator bad input: refused, nothing stored.
    let pid = app.platform_id;
    for bad in [
        json!({"max_cost_per_call_usd": -1}),
        json!({"min_rating": 7}),
        json!({"mode": "strict"}),
        json!({"enabled": "yes"}),
    ] {
        set_policy(&app, pid, &bad)
            .await
            .assert_error(400, "bad_request");
    }
    let mut bad_provider = provider(
        "cap_t_bad",
        "no-such-shelf",
        "http://127.0.0.1:9/x",
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    add_provider(&app, &bad_provider)
        .await
        .assert_error(400, "bad_request");
    bad_provider["capability"] = json!("geolocation");
    bad_provider["input_example"] = json!({"prompt": 5});
    add_provider(&app, &bad_provider)
        .await
        .assert_error(400, "bad_request");
    bad_provider["uid"] = json!("not-a-cap-uid");
    add_provider(&app, &bad_provider)
        .await
        .assert_error(400, "bad_request");
    add_provider(
        &app,
        &provider(
            "cap_t_fixed",
            "geolocation",
            "http://127.0.0.1:9/x",
            json!({"kind": "fixed", "price_usd": 0.01}),
        ),
    )
    .await
    .assert_error(409, "conflict");
    app.get("/admin/v1/capabilities/providers/cap_t_bad", ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");

    // Tenants: another platform has its own (disabled) policy; ids of others are 404.
    let (other_pid, other_key) = app.create_platform("other").await;
    let (_, other_user) = app.create_end_user_on(other_pid, &other_key, "o").await;
    let theirs = app.get("/v1/capabilities", &other_user).await;
    assert_eq!(theirs.body["enabled"], false);
    app.post(
        "/v1/capabilities/search",
        &other_user,
        &json!({"query": "image"}),
    )
    .await
    .assert_error(403, "forbidden");
    app.get(
        &format!("/v1/platforms/{pid}/end-users/{euid}/budget"),
        &other_key,
    )
    .await
    .assert_error(404, "not_found");
    app.get(
        &format!("/admin/v1/platforms/{}/capabilities", uuid::Uuid::new_v4()),
        ADMIN_TOKEN,
    )
    .await
    .assert_error(404, "not_found");
    // A platform key cannot search or run (end-user keys only).
    app.post(
        "/v1/capabilities/search",
        &app.platform_key,
        &json!({"query": "image"}),
    )
    .await
    .assert_error(403, "forbidden");
    app.stop().await;
}

async fn health_and_operator_changes(backend: Backend) {
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    let (_, key) = user_with_budget(&app, "health", 1.0).await;
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let mut flap = provider(
        "cap_t_flap",
        "translation",
        &format!("{}/fixed/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.001}),
    );
    flap["health_url"] = json!(format!("{}/flap/health", up.base));
    flap["name"] = json!("Flappy Translate");
    assert_eq!(add_provider(&app, &flap).await.status, 201);
    let body = json!({"capability": "cap_t_flap", "input": {"prompt": "hola"}});
    let availability = |reply: &crate::helpers::Reply| -> String {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["uid"] == "cap_t_flap")
            .map(|p| p["availability"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let mut seen = Vec::new();
    for _ in 0..4 {
        let probed = app
            .post(
                "/admin/v1/capabilities/providers/probe",
                ADMIN_TOKEN,
                &json!({}),
            )
            .await;
        assert_eq!(probed.status, 200, "{}", probed.body);
        let listed = app
            .get("/v1/capabilities/translation/providers", &key)
            .await;
        let state = availability(&listed);
        let found = app
            .post("/v1/capabilities/search", &key, &json!({"query": "flappy"}))
            .await;
        let in_search = found.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["uid"] == "cap_t_flap");
        let r = run(&app, &key, &body).await;
        match state.as_str() {
            "healthy" => {
                assert!(in_search, "{}", found.body);
                assert_eq!(r.body["final_state"], "billed", "{}", r.body);
            }
            "down" => {
                assert!(!in_search, "down providers are not found");
                r.assert_error(503, "service_unavailable");
            }
            other => panic!("unexpected availability {other}"),
        }
        seen.push(state);
    }
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "it flaps: {seen:?}");

    // Catalog providers: a health URL makes them healthy; none leaves them unknown.
    let geo = app
        .get("/v1/capabilities/geolocation/providers", &key)
        .await;
    let wherenet = geo.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uid"] == "cap_geo_wherenet")
        .unwrap()
        .clone();
    assert_eq!(wherenet["availability"], "unknown");
    assert!(
        wherenet.get("endpoint").is_none(),
        "endpoints never reach end users"
    );
    set_policy(&app, app.platform_id, &json!({"require_healthy": true})).await;
    let listed = app
        .get("/v1/capabilities/geolocation/providers", &key)
        .await;
    let wherenet = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uid"] == "cap_geo_wherenet")
        .unwrap()
        .clone();
    assert_eq!(wherenet["policy_state"], "in_policy");
    assert_eq!(wherenet["allowed"], false, "unknown is not healthy");
    set_policy(&app, app.platform_id, &json!({"require_healthy": false})).await;

    // The shipped image provider at the stand-in: billed at the catalog price.
    let r = run(&app, &key, &json!({"capability": "cap_img_pixelforge", "input": {"prompt": "a cat wearing sunglasses"}})).await;
    assert_run(&r, "billed", 200, 0.0095, true);

    // The operator changes a shipped provider (operator wins) and removes one.
    let changed = app
        .patch(
            "/admin/v1/capabilities/providers/cap_img_pixelforge",
            ADMIN_TOKEN,
            &json!({"pricing": {"kind": "fixed", "price_usd": 0.02}, "rating": 3.1}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.data()["origin"], "operator");
    let listed = app
        .get("/v1/capabilities/image-generation/providers", &key)
        .await;
    let pf = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uid"] == "cap_img_pixelforge")
        .unwrap()
        .clone();
    assert_eq!(pf["min_price_usd"], 0.02);
    assert_eq!(pf["rating"], 3.1);
    let removed = app
        .delete(
            "/admin/v1/capabilities/providers/cap_img_lumen",
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(removed.status, 204);
    run(
        &app,
        &key,
        &json!({"capability": "cap_img_lumen", "input": {"prompt": "x"}}),
    )
    .await
    .assert_error(404, "not_found");
    // Changes survive a restart (they live in the database).
    let app = app
        .restart(|c| c.capabilities_upstream_url = Some(up.base.clone()))
        .await;
    let after = app
        .get("/admin/v1/capabilities/providers", ADMIN_TOKEN)
        .await;
    let uids: Vec<&str> = after.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["uid"].as_str().unwrap())
        .collect();
    assert!(
        !uids.contains(&"cap_img_lumen") && uids.contains(&"cap_t_flap"),
        "{uids:?}"
    );
    app.stop().await;

    // Without an upstream base URL, shipped providers are down and never called.
    let bare = crate::helpers::spawn_app(backend).await;
    let (_, key) = bare.create_end_user("bare").await;
    let geo = bare
        .get("/v1/capabilities/geolocation/providers", &key)
        .await;
    assert!(
        geo.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["availability"] == "down"),
        "{}",
        geo.body
    );
    bare.stop().await;
}

/// A bad catalog file stops start-up, naming the file and the field.
async fn a_bad_catalog_stops_start_up(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities/");
    std::fs::copy(
        format!("{shipped}shelves.toml"),
        dir.path().join("shelves.toml"),
    )
    .unwrap();
    let providers = std::fs::read_to_string(format!("{shipped}providers.toml"))
        .unwrap()
        .replacen("rating = 4.8", "rating = 9.5", 1);
    std::fs::write(dir.path().join("providers.toml"), providers).unwrap();
    let mut config = assistiv::config::Config::for_data_dir(dir.path().join("data"));
    config.capabilities_dir = Some(dir.path().to_path_buf());
    if backend == Backend::Postgres {
        config.database_url = Some(crate::helpers::fresh_postgres_database().await.into());
    }
    let err = assistiv::startup::Application::build(config)
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .expect("start-up refuses a bad catalog");
    assert!(
        err.contains("providers.toml") && err.contains("cap_geo_ipatlas") && err.contains("rating"),
        "{err}"
    );
}

both_backends!(
    every_final_state_and_402_code,
    idempotent_runs_and_bad_input,
    health_and_operator_changes,
    a_bad_catalog_stops_start_up
);
