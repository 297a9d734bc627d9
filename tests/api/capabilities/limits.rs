//! Every capability route an end-user key can call counts against its RPM/RPD
//! limits, like `/v1/me`: browsing, search and the paid run alike. Platform keys
//! are not end-user limited.

use assistiv::billing::clock::ManualClock;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{add_provider, budget, provider, run, set_policy, upstream};
use crate::helpers::{Backend, spawn_app_with_clock};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn capability_routes_count_against_the_end_user_limits(backend: Backend) {
    let up = upstream().await;
    let clock = ManualClock::new(at("2026-11-22T12:00:05Z"));
    let base = up.base.clone();
    let app = spawn_app_with_clock(backend, clock.clone(), move |c| {
        c.capabilities_upstream_url = Some(base);
    })
    .await;
    let fixed = provider(
        "cap_t_fixed",
        "image-generation",
        &format!("{}/fixed/run", up.base),
        json!({"kind": "fixed", "price_usd": 0.01}),
    );
    assert_eq!(add_provider(&app, &fixed).await.status, 201);
    set_policy(&app, app.platform_id, &json!({"enabled": true})).await;
    let created = app
        .post(
            &format!("/v1/platforms/{}/end-users", app.platform_id),
            &app.platform_key,
            &json!({"external_id": "limited", "rate_limits": {"rpm_limit": 10},
                    "budget": {"max_usd": 1, "period": "one_time"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let euid: uuid::Uuid = created.data()["id"].as_str().unwrap().parse().unwrap();
    let key = created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"capability": "cap_t_fixed", "input": {"prompt": "p"}});
    let search = json!({"query": "image"});

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(run(&app, &key, &body).await.status);
    }
    for _ in 0..3 {
        statuses.push(
            app.post("/v1/capabilities/search", &key, &search)
                .await
                .status,
        );
    }
    for _ in 0..2 {
        statuses.push(app.get("/v1/capabilities", &key).await.status);
    }
    let listed = app
        .get("/v1/capabilities/image-generation/providers", &key)
        .await;
    assert_eq!(listed.headers["x-ratelimit-remaining-requests"], "0");
    statuses.push(listed.status);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let refused = run(&app, &key, &body).await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.headers["retry-after"], "55");
    app.post("/v1/capabilities/search", &key, &search)
        .await
        .assert_error(429, "rate_limited");
    app.get("/v1/capabilities", &key)
        .await
        .assert_error(429, "rate_limited");
    app.get("/v1/capabilities/image-generation/providers", &key)
        .await
        .assert_error(429, "rate_limited");
    assert_eq!(
        up.seen.calls.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "only the admitted runs reached the provider"
    );
    assert_eq!(budget(&app, euid).await["balance_usd"], 0.96);

    // Platform keys are not end-user limited; the next minute admits again.
    assert_eq!(
        app.get("/v1/capabilities", &app.platform_key).await.status,
        200
    );
    clock.set(at("2026-11-22T12:01:00Z"));
    assert_eq!(run(&app, &key, &body).await.status, 200);
    app.stop().await;
}

both_backends!(capability_routes_count_against_the_end_user_limits);
