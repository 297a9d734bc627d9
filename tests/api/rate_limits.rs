//! Rate-limit settings (platform default, per-user override) and enforcement on
//! end-user requests: 429 with an exact Retry-After; shared through Redis.

use assistiv::billing::ManualClock;
use chrono::{DateTime, Utc};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{Backend, spawn_app, spawn_app_with, spawn_app_with_clock};

async fn settings_merge_platform_default_and_override(backend: Backend) {
    let app = spawn_app(backend).await;
    let pid = app.platform_id;
    let platform = format!("/v1/platforms/{pid}/rate-limits");
    let empty = app.get(&platform, &app.platform_key).await;
    assert_eq!(
        empty.data(),
        &json!({"rpm_limit": null, "tpm_limit": null, "rpd_limit": null})
    );
    let set = app
        .send(
            app.request(Method::PUT, &platform, Some(&app.platform_key))
                .json(&json!({"rpm_limit": 100, "rpd_limit": 1000})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);

    let (euid, eu_key) = app.create_end_user("user").await;
    let user = format!("/v1/platforms/{pid}/end-users/{euid}/rate-limits");
    // The seed's own example, with its long field names.
    let put = app
        .send(
            app.request(Method::PUT, &user, Some(&app.platform_key))
                .json(&json!({"requests_per_minute": 600, "tokens_per_minute": 250000})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.data()["override"],
        json!({"rpm_limit": 600, "tpm_limit": 250000, "rpd_limit": null})
    );
    assert_eq!(
        put.data()["effective"],
        json!({"rpm_limit": 600, "tpm_limit": 250000, "rpd_limit": 1000})
    );

    let mine = app.get("/v1/me/rate-limits", &eu_key).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.data()["limits"]["rpm_limit"], 600);
    assert_eq!(mine.data()["status"]["rpm"]["limit"], 600);
    assert!(mine.data()["status"]["rpm"]["remaining"].as_u64().unwrap() <= 599);

    let cleared = app.delete(&user, &app.platform_key).await;
    assert!(cleared.data()["override"].is_null());
    assert_eq!(cleared.data()["effective"]["rpm_limit"], 100);

    for bad in [
        json!({"rpm_limit": 0}),
        json!({"rpm_limit": -5}),
        json!({"rpm": 5}),
        json!({"rpm_limit": "5"}),
    ] {
        app.send(
            app.request(Method::PUT, &user, Some(&app.platform_key))
                .json(&bad),
        )
        .await
        .assert_error(400, "bad_request");
    }
    app.get(&user, &app.platform_key).await;
    assert!(
        app.get(&user, &app.platform_key).await.data()["override"].is_null(),
        "bad input wrote nothing"
    );
    app.stop().await;
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn a_burst_over_rpm_gets_429_with_the_exact_retry_after(backend: Backend) {
    let clock = ManualClock::new(at("2026-11-22T12:00:45Z"));
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let users = format!("/v1/platforms/{}/end-users", app.platform_id);
    let created = app
        .post(
            &users,
            &app.platform_key,
            &json!({"external_id": "bursty", "rate_limits": {"rpm_limit": 5}}),
        )
        .await;
    let key = created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..5 {
        let ok = app.get("/v1/me", &key).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.headers["x-ratelimit-limit-requests"], "5");
        assert_eq!(
            ok.headers["x-ratelimit-remaining-requests"],
            (4 - i).to_string().as_str()
        );
    }
    let refused = app.get("/v1/me", &key).await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(
        refused.headers["retry-after"], "15",
        "the minute window ends at 12:01:00"
    );
    assert_eq!(refused.headers["x-ratelimit-remaining-requests"], "0");

    // Platform keys are not end-user limited; the next minute admits again.
    assert_eq!(app.get("/v1/me", &app.platform_key).await.status, 200);
    clock.set(at("2026-11-22T12:01:00Z"));
    assert_eq!(app.get("/v1/me", &key).await.status, 200);
    app.stop().await;
}

both_backends!(
    settings_merge_platform_default_and_override,
    a_burst_over_rpm_gets_429_with_the_exact_retry_after,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_limit_through_redis() {
    let redis = || Some(SecretString::from("redis://127.0.0.1:6379"));
    let a = spawn_app_with(Backend::Postgres, |c| c.redis_url = redis()).await;
    let b = {
        let url = a.database_url.clone();
        crate::helpers::spawn_on_database(url, |c| {
            c.redis_url = redis();
            c.bootstrap = false;
        })
        .await
    };
    let users = format!("/v1/platforms/{}/end-users", a.platform_id);
    let created = a
        .post(
            &users,
            &a.platform_key,
            &json!({"external_id": "shared", "rate_limits": {"rpm_limit": 10}}),
        )
        .await;
    let key = created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let replies = futures::future::join_all((0..30).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.get("/v1/me", &key)
    }))
    .await;
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    // A minute boundary during the burst could split it in two windows.
    assert!(admitted == 10 || admitted == 20, "admitted {admitted}");
    assert_eq!(admitted + limited, 30);
    b.stop().await;
    a.stop().await;
}
