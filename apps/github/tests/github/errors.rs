use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assistiv_app_sdk::{App, AppError};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::helpers::{TOKEN, TestGitHub, fixture, github, json, json_status};

fn repo_args() -> serde_json::Value {
    json!({"owner": "octocat", "repo": "Hello-World"})
}

#[tokio::test]
async fn status_401_is_unauthorized() {
    let gh = TestGitHub::start().await;
    gh.expect(github("GET", "/user"), json_status(401, "error_401"))
        .await;

    let err = gh.call("get_me", json!({})).await.unwrap_err();
    assert_eq!(err, AppError::Unauthorized);
    assert_eq!(err.code(), "unauthorized");
}

#[tokio::test]
async fn status_404_is_not_found_naming_the_request() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/missing"),
        json_status(404, "error_404"),
    )
    .await;

    let err = gh
        .call(
            "get_repository",
            json!({"owner": "octocat", "repo": "missing"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::NotFound("Not Found (GET /repos/octocat/missing)".into())
    );
    assert_eq!(err.upstream_status(), Some(404));
}

#[tokio::test]
async fn status_422_is_invalid_arguments_with_githubs_details() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/issues"),
        json_status(422, "error_422"),
    )
    .await;

    let err = gh
        .call(
            "create_issue",
            json!({"owner": "octocat", "repo": "Hello-World", "title": " "}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::InvalidArguments("Validation Failed: Issue.title missing_field".into())
    );
}

#[tokio::test]
async fn status_403_with_an_exhausted_limit_is_rate_limited_until_the_reset() {
    let gh = TestGitHub::start().await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    gh.expect(
        github("GET", "/repos/octocat/Hello-World"),
        json_status(403, "error_403_rate_limit")
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-used", "5000")
            .insert_header("x-ratelimit-reset", (now + 60).to_string().as_str()),
    )
    .await;

    let err = gh.call("get_repository", repo_args()).await.unwrap_err();
    match err {
        AppError::RateLimited {
            retry_after_secs: Some(secs),
        } => assert!((55..=60).contains(&secs), "{secs}"),
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

#[tokio::test]
async fn secondary_limits_and_429_use_retry_after() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World"),
        ResponseTemplate::new(403)
            .set_body_json(json!({"message": "You have exceeded a secondary rate limit."}))
            .insert_header("retry-after", "30"),
    )
    .await;
    gh.expect(
        github("GET", "/user"),
        ResponseTemplate::new(429)
            .set_body_json(json!({"message": "Too many requests"}))
            .insert_header("retry-after", "7"),
    )
    .await;

    let secondary = gh.call("get_repository", repo_args()).await.unwrap_err();
    assert_eq!(
        secondary,
        AppError::RateLimited {
            retry_after_secs: Some(30)
        }
    );
    let too_many = gh.call("get_me", json!({})).await.unwrap_err();
    assert_eq!(
        too_many,
        AppError::RateLimited {
            retry_after_secs: Some(7)
        }
    );
    assert_eq!(too_many.code(), "rate_limited");
}

#[tokio::test]
async fn a_plain_403_is_an_upstream_error() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/issues"),
        ResponseTemplate::new(403)
            .set_body_json(json!({"message": "Resource not accessible by integration"}))
            .insert_header("x-ratelimit-remaining", "4999"),
    )
    .await;

    let err = gh
        .call(
            "create_issue",
            json!({"owner": "octocat", "repo": "Hello-World", "title": "t"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::Upstream {
            status: 403,
            message: "Resource not accessible by integration".into()
        }
    );
}

#[tokio::test]
async fn status_500_is_an_upstream_error_without_retries() {
    let gh = TestGitHub::start().await;
    // `expect(1)`: octocrab's retry layer is off; the gateway decides about retries.
    gh.expect(github("GET", "/user"), json_status(500, "error_500"))
        .await;

    let err = gh.call("get_me", json!({})).await.unwrap_err();
    assert_eq!(
        err,
        AppError::Upstream {
            status: 500,
            message: "Server Error".into()
        }
    );
    assert_eq!(err.code(), "upstream_error");
}

#[tokio::test]
async fn a_slow_answer_times_out_within_the_call_budget() {
    let mut gh = TestGitHub::start().await;
    gh.ctx.timeout = Duration::from_millis(200);
    github("GET", "/user")
        .respond_with(json("user").set_delay(Duration::from_secs(5)))
        .mount(&gh.server)
        .await;

    let started = Instant::now();
    let err = gh.call("get_me", json!({})).await.unwrap_err();
    assert_eq!(err, AppError::Timeout);
    assert_eq!(err.upstream_status(), Some(504));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_http_clients_own_timeout_is_a_timeout_too() {
    let mut gh = TestGitHub::start().await;
    gh.ctx.http = assistiv_app_sdk::reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    github("GET", "/user")
        .respond_with(json("user").set_delay(Duration::from_secs(5)))
        .mount(&gh.server)
        .await;

    assert_eq!(
        gh.call("get_me", json!({})).await.unwrap_err(),
        AppError::Timeout
    );
}

#[tokio::test]
async fn an_unreachable_api_is_a_transport_error() {
    let mut gh = TestGitHub::start().await;
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    gh.ctx.api_base_url = format!("http://127.0.0.1:{port}");

    let err = gh.call("get_me", json!({})).await.unwrap_err();
    let AppError::Transport(message) = &err else {
        panic!("expected transport, got {err:?}");
    };
    assert!(!message.contains(TOKEN));
    assert_eq!(err.upstream_status(), Some(502));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_transport_error() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/user"),
        ResponseTemplate::new(200).set_body_string("<html>proxy login</html>"),
    )
    .await;

    let err = gh.call("get_me", json!({})).await.unwrap_err();
    assert!(matches!(err, AppError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn odd_arguments_are_refused_before_any_request() {
    let gh = TestGitHub::start().await;
    let ctx = &gh.ctx;
    let cases = [
        ("no_such_tool", json!({})),
        ("get_repository", json!({"owner": "../..", "repo": "x"})),
        (
            "get_repository",
            json!({"owner": "octocat", "repo": "a/b?c"}),
        ),
        ("get_repository", json!({"owner": "octocat"})),
        ("get_repository", json!({"owner": 1, "repo": "x"})),
        (
            "get_repository",
            json!({"owner": "o", "repo": "r", "extra": true}),
        ),
        ("get_repository", json!(["octocat", "Hello-World"])),
        ("get_repository", json!("octocat/Hello-World")),
        (
            "get_issue",
            json!({"owner": "o", "repo": "r", "issue_number": -1}),
        ),
        (
            "get_issue",
            json!({"owner": "o", "repo": "r", "issue_number": 1.5}),
        ),
        (
            "list_issues",
            json!({"owner": "o", "repo": "r", "state": "sideways"}),
        ),
        (
            "get_file_contents",
            json!({"owner": "o", "repo": "r", "path": "a/../../etc"}),
        ),
        (
            "create_branch",
            json!({"owner": "o", "repo": "r", "branch": "a//b", "sha": "abc"}),
        ),
        (
            "update_issue",
            json!({"owner": "o", "repo": "r", "issue_number": 1}),
        ),
    ];
    for (tool, args) in cases {
        // Straight to `call`, skipping schema validation: the app must still not panic.
        let err = gh.app.call(tool, args.clone(), ctx).await.unwrap_err();
        assert_eq!(err.code(), "invalid_arguments", "{tool} {args}: {err:?}");
    }
    assert!(gh.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_bad_credentials_fixture_is_githubs_shape() {
    // Keeps the fixture honest: GitHub's error body is {message, documentation_url, status}.
    let body = fixture("error_401");
    assert_eq!(body["message"], "Bad credentials");
    assert!(body["documentation_url"].is_string());
}
