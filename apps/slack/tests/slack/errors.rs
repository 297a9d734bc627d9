use std::time::{Duration, Instant};

use assistiv_app_sdk::{App, AppError};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::helpers::{TestSlack, fixture, json, slack};

fn history() -> serde_json::Value {
    json!({"channel": "C123ABC456"})
}

#[tokio::test]
async fn ok_false_errors_map_to_codes() {
    let cases = [
        ("error_not_in_channel", "upstream_error", Some(403)),
        ("error_invalid_auth", "unauthorized", Some(401)),
        ("error_token_revoked", "unauthorized", Some(401)),
        ("error_channel_not_found", "not_found", Some(404)),
        ("error_missing_scope", "upstream_error", Some(403)),
        ("error_fatal", "upstream_error", Some(503)),
    ];
    for (fixture_name, code, status) in cases {
        let s = TestSlack::start().await;
        s.expect(slack("GET", "conversations.history"), json(fixture_name))
            .await;
        let err = s.call("get_channel_history", history()).await.unwrap_err();
        assert_eq!(err.code(), code, "{fixture_name}: {err:?}");
        assert_eq!(err.upstream_status(), status, "{fixture_name}");
    }
}

#[tokio::test]
async fn not_in_channel_says_what_to_do() {
    let s = TestSlack::start().await;
    s.expect(
        slack("POST", "chat.postMessage"),
        json("error_not_in_channel"),
    )
    .await;
    let err = s
        .call("post_message", json!({"channel": "C1", "text": "hi"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not_in_channel"), "{err}");
    assert!(err.to_string().contains("join"), "{err}");
}

#[tokio::test]
async fn http_429_uses_retry_after() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "conversations.history"),
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_json(fixture("error_ratelimited")),
    )
    .await;
    let err = s.call("get_channel_history", history()).await.unwrap_err();
    assert_eq!(
        err,
        AppError::RateLimited {
            retry_after_secs: Some(30)
        }
    );
}

#[tokio::test]
async fn ok_false_ratelimited_is_rate_limited_too() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "users.list"),
        json("error_ratelimited").insert_header("retry-after", "7"),
    )
    .await;
    let err = s.call("list_users", json!({})).await.unwrap_err();
    assert_eq!(
        err,
        AppError::RateLimited {
            retry_after_secs: Some(7)
        }
    );
}

#[tokio::test]
async fn invalid_arguments_from_slack() {
    let s = TestSlack::start().await;
    s.expect(
        slack("POST", "chat.scheduleMessage"),
        json("error_time_in_past"),
    )
    .await;
    let err = s
        .call(
            "schedule_message",
            json!({"channel": "C1", "text": "x", "post_at": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_arguments");
}

#[tokio::test]
async fn server_errors_are_upstream_errors_with_the_status() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "users.list"),
        ResponseTemplate::new(503).set_body_string("upstream connect error"),
    )
    .await;
    let err = s.call("list_users", json!({})).await.unwrap_err();
    assert_eq!(
        err,
        AppError::Upstream {
            status: 503,
            message: "Slack answered HTTP 503".into()
        }
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_transport_error() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "users.list"),
        ResponseTemplate::new(200).set_body_string("<html>"),
    )
    .await;
    let err = s.call("list_users", json!({})).await.unwrap_err();
    assert_eq!(err.code(), "upstream_error");
    assert_eq!(err.upstream_status(), Some(502));
}

#[tokio::test]
async fn a_slow_slack_times_out_within_the_budget() {
    let s = TestSlack::start_with_timeout(Duration::from_millis(300)).await;
    slack("GET", "users.list")
        .respond_with(json("users_list").set_delay(Duration::from_secs(5)))
        .mount(&s.server)
        .await;
    let started = Instant::now();
    let err = s.call("list_users", json!({})).await.unwrap_err();
    assert_eq!(err, AppError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_unreachable_host_is_a_transport_error() {
    let mut s = TestSlack::start().await;
    s.ctx.api_base_url = "http://127.0.0.1:9/api".into();
    let err = s.call("list_users", json!({})).await.unwrap_err();
    assert!(matches!(err, AppError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn odd_arguments_are_refused_before_any_request() {
    let s = TestSlack::start().await;
    // No mock mounted: any request would answer 404 and fail differently.
    for (tool, args) in [
        (
            "get_thread_replies",
            json!({"channel": "C1", "thread_ts": "yesterday"}),
        ),
        (
            "add_reaction",
            json!({"channel": "C1", "timestamp": "1.2", "name": "::"}),
        ),
        (
            "get_channel_history",
            json!({"channel": "C1", "oldest": "1&x=2"}),
        ),
    ] {
        let err = s.app.call(tool, args, &s.ctx).await.unwrap_err();
        assert_eq!(err.code(), "invalid_arguments", "{tool}");
    }
    let err = s
        .app
        .call("post_message", json!({"channel": "C1"}), &s.ctx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_arguments");
    let err = s.app.call("nope", json!({}), &s.ctx).await.unwrap_err();
    assert_eq!(err.code(), "invalid_arguments");
    assert!(s.server.received_requests().await.unwrap().is_empty());
}
