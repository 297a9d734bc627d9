//! One predicate, one family of answers, policy before input: a provider below
//! the platform's `min_rating` is badged `below_min_rating` (never `in_policy`),
//! left out of search and of the shelf's `allowed_count`, and a run of it is 402
//! `below_min_rating` like the other policy refusals; a provider the policy
//! refuses is refused before its input is checked against its schema.

use serde_json::{Value, json};

use super::{add_provider, budget, provider, run, set_policy, spawn, upstream, user_with_budget};
use crate::helpers::{Backend, TestApp};

async fn badge(app: &TestApp, key: &str, uid: &str) -> Value {
    let listed = app
        .get("/v1/capabilities/image-generation/providers?limit=100", key)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uid"] == uid)
        .cloned()
        .unwrap()
}

async fn found(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    let hits = app
        .post("/v1/capabilities/search", key, &json!({"query": query}))
        .await;
    assert_eq!(hits.status, 200, "{}", hits.body);
    hits.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["uid"].as_str().unwrap().to_owned())
        .collect()
}

async fn policy_refusals_are_one_family_before_input(backend: Backend) {
    let up = upstream().await;
    let app = spawn(backend, &up).await;
    let endpoint = format!("{}/fixed/run", up.base);
    let mut low = provider(
        "cap_t_lowrated",
        "image-generation",
        &endpoint,
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    low["name"] = json!("Lowrated Zebra Imager");
    low["rating"] = json!(3.0);
    let mut fine = provider(
        "cap_t_fine",
        "image-generation",
        &endpoint,
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    fine["name"] = json!("Fine Zebra Imager");
    for body in [low, fine] {
        assert_eq!(add_provider(&app, &body).await.status, 201);
    }
    set_policy(
        &app,
        app.platform_id,
        &json!({"enabled": true, "min_rating": 4.0}),
    )
    .await;
    let (euid, key) = user_with_budget(&app, "picky", 1.0).await;

    // The badge, search and the shelf's count agree.
    let lowrated = badge(&app, &key, "cap_t_lowrated").await;
    assert_eq!(lowrated["policy_state"], "below_min_rating", "{lowrated}");
    assert_eq!(lowrated["allowed"], false, "{lowrated}");
    assert!(lowrated.get("blocked_by").is_none(), "{lowrated}");
    assert_eq!(
        badge(&app, &key, "cap_t_fine").await["policy_state"],
        "in_policy"
    );
    assert_eq!(found(&app, &key, "zebra").await, ["cap_t_fine"]);
    let listed = app
        .get(
            "/v1/capabilities/image-generation/providers?limit=100",
            &key,
        )
        .await;
    let allowed = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["allowed"] == true)
        .count() as u64;
    let shelves = app.get("/v1/capabilities", &key).await;
    let shelf = shelves.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "image-generation")
        .unwrap()
        .clone();
    assert_eq!(shelf["allowed_count"], allowed, "{shelf}");

    // The run answers the badge's state as a 402, with good input or bad.
    let good = json!({"prompt": "p"});
    let bad = json!({"prompt": 7});
    for input in [&good, &bad] {
        run(
            &app,
            &key,
            &json!({"capability": "cap_t_lowrated", "input": input}),
        )
        .await
        .assert_error(402, "below_min_rating");
    }
    set_policy(
        &app,
        app.platform_id,
        &json!({"min_rating": null, "denylist": ["cap_t_fine"]}),
    )
    .await;
    run(
        &app,
        &key,
        &json!({"capability": "cap_t_fine", "input": bad}),
    )
    .await
    .assert_error(402, "denylisted");
    set_policy(
        &app,
        app.platform_id,
        &json!({"denylist": [], "mode": "curated", "allowlist": ["geolocation"]}),
    )
    .await;
    run(
        &app,
        &key,
        &json!({"capability": "cap_t_fine", "input": bad}),
    )
    .await
    .assert_error(402, "not_allowlisted");
    // In policy, the input check still answers 400.
    set_policy(
        &app,
        app.platform_id,
        &json!({"mode": "open", "allowlist": []}),
    )
    .await;
    run(
        &app,
        &key,
        &json!({"capability": "cap_t_fine", "input": bad}),
    )
    .await
    .assert_error(400, "bad_request");

    assert_eq!(
        up.seen.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no refused run reached a provider"
    );
    let b = budget(&app, euid).await;
    assert_eq!(
        (b["held_usd"].clone(), b["balance_usd"].clone()),
        (json!(0.0), json!(1.0))
    );
    app.stop().await;
}

both_backends!(policy_refusals_are_one_family_before_input);
