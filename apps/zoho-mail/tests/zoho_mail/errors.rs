use std::time::{Duration, Instant};

use assistiv_app_sdk::{App, AppError};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::helpers::{ACCOUNT, TOKEN, TestZoho, fixture, json, json_status, zoho};

fn folders_route() -> String {
    format!("/api/accounts/{ACCOUNT}/folders")
}

fn folders_args() -> serde_json::Value {
    json!({"account_id": ACCOUNT})
}

#[tokio::test]
async fn invalid_oauthtoken_is_unauthorized() {
    let zm = TestZoho::start().await;
    zm.expect(zoho("GET", "/api/accounts"), json_status(401, "error_401"))
        .await;

    let err = zm.call("list_accounts", json!({})).await.unwrap_err();
    assert_eq!(err, AppError::Unauthorized);
    assert_eq!(err.upstream_status(), Some(401));
}

#[tokio::test]
async fn invalid_oauthtoken_under_another_status_is_unauthorized_too() {
    let zm = TestZoho::start().await;
    let mut body = fixture("error_401");
    body["status"] = json!({"code": 400, "description": "Invalid Input"});
    zm.expect(
        zoho("GET", &folders_route()),
        ResponseTemplate::new(400).set_body_json(body),
    )
    .await;

    assert_eq!(
        zm.call("list_folders", folders_args()).await.unwrap_err(),
        AppError::Unauthorized
    );
}

#[tokio::test]
async fn status_404_is_not_found_naming_the_request() {
    let zm = TestZoho::start().await;
    let base = format!("/api/accounts/{ACCOUNT}/folders/1/messages/2");
    zm.expect(
        zoho("GET", &format!("{base}/details")),
        json_status(404, "error_404"),
    )
    .await;
    zm.expect(
        zoho("GET", &format!("{base}/content")),
        json_status(404, "error_404"),
    )
    .await;

    let err = zm
        .call(
            "get_message",
            json!({"account_id": ACCOUNT, "folder_id": "1", "message_id": "2"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::NotFound(format!("Zoho Mail 404: Not Found (GET {base}/details)"))
    );
}

#[tokio::test]
async fn status_400_is_invalid_arguments_with_zohos_reason() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("POST", &format!("/api/accounts/{ACCOUNT}/messages")),
        json_status(400, "error_400"),
    )
    .await;

    let err = zm
        .call(
            "send_message",
            json!({"account_id": ACCOUNT, "from_address": "ceo@zylker.com",
                   "to": ["paula@zylker.com"], "subject": "Hi", "content": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::InvalidArguments(format!(
            "Zoho Mail 400 INVALID_DATA: fromAddress not allowed (POST /api/accounts/{ACCOUNT}/messages)"
        ))
    );
}

#[tokio::test]
async fn status_422_is_invalid_arguments_too() {
    let zm = TestZoho::start().await;
    let mut body = fixture("error_400");
    body["status"]["code"] = json!(422);
    zm.expect(
        zoho("GET", &folders_route()),
        ResponseTemplate::new(422).set_body_json(body),
    )
    .await;

    assert_eq!(
        zm.call("list_folders", folders_args())
            .await
            .unwrap_err()
            .code(),
        "invalid_arguments"
    );
}

#[tokio::test]
async fn status_429_is_rate_limited_with_retry_after() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("GET", &folders_route()),
        ResponseTemplate::new(429)
            .set_body_json(
                json!({"status": {"code": 429, "description": "Too Many Requests"},
                                  "data": {"errorCode": "THROTTLE_LIMIT_EXCEEDED"}}),
            )
            .insert_header("retry-after", "42"),
    )
    .await;

    let err = zm.call("list_folders", folders_args()).await.unwrap_err();
    assert_eq!(
        err,
        AppError::RateLimited {
            retry_after_secs: Some(42)
        }
    );
    assert_eq!(err.code(), "rate_limited");
}

#[tokio::test]
async fn status_500_is_an_upstream_error_without_retries() {
    let zm = TestZoho::start().await;
    // `expect(1)`: the app never retries; the gateway decides.
    zm.expect(zoho("GET", &folders_route()), json_status(500, "error_500"))
        .await;

    let err = zm.call("list_folders", folders_args()).await.unwrap_err();
    assert_eq!(
        err,
        AppError::Upstream {
            status: 500,
            message: format!("Zoho Mail 500: Internal Error (GET {})", folders_route())
        }
    );
    assert_eq!(err.code(), "upstream_error");
}

#[tokio::test]
async fn an_error_inside_a_200_envelope_is_not_a_success() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("PUT", &format!("/api/accounts/{ACCOUNT}/updatemessage")),
        json("error_500"),
    )
    .await;

    let err = zm
        .call(
            "mark_read",
            json!({"account_id": ACCOUNT, "message_ids": ["1"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.upstream_status(), Some(500));
}

#[tokio::test]
async fn a_slow_answer_times_out_within_the_call_budget() {
    let mut zm = TestZoho::start().await;
    zm.ctx.timeout = Duration::from_millis(200);
    zoho("GET", "/api/accounts")
        .respond_with(json("accounts").set_delay(Duration::from_secs(5)))
        .mount(&zm.server)
        .await;

    let started = Instant::now();
    let err = zm.call("list_accounts", json!({})).await.unwrap_err();
    assert_eq!(err, AppError::Timeout);
    assert_eq!(err.upstream_status(), Some(504));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_budget_covers_the_account_lookup_and_the_call_together() {
    let mut zm = TestZoho::start().await;
    zm.ctx.timeout = Duration::from_millis(300);
    zoho("GET", "/api/accounts")
        .respond_with(json("accounts").set_delay(Duration::from_millis(200)))
        .mount(&zm.server)
        .await;
    zoho("GET", &folders_route())
        .respond_with(json("folders").set_delay(Duration::from_millis(200)))
        .mount(&zm.server)
        .await;

    assert_eq!(
        zm.call("list_folders", json!({})).await.unwrap_err(),
        AppError::Timeout
    );
}

#[tokio::test]
async fn the_http_clients_own_timeout_is_a_timeout_too() {
    let mut zm = TestZoho::start().await;
    zm.ctx.http = assistiv_app_sdk::reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    zoho("GET", "/api/accounts")
        .respond_with(json("accounts").set_delay(Duration::from_secs(5)))
        .mount(&zm.server)
        .await;

    assert_eq!(
        zm.call("list_accounts", json!({})).await.unwrap_err(),
        AppError::Timeout
    );
}

#[tokio::test]
async fn an_unreachable_api_is_a_transport_error() {
    let mut zm = TestZoho::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    zm.ctx.api_base_url = format!("http://127.0.0.1:{port}");

    let err = zm.call("list_accounts", json!({})).await.unwrap_err();
    let AppError::Transport(message) = &err else {
        panic!("expected transport, got {err:?}");
    };
    assert!(!message.contains(TOKEN));
    assert_eq!(err.upstream_status(), Some(502));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_transport_error() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("GET", "/api/accounts"),
        ResponseTemplate::new(200).set_body_string("<html>proxy login</html>"),
    )
    .await;

    let err = zm.call("list_accounts", json!({})).await.unwrap_err();
    assert!(matches!(err, AppError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn a_bad_base_url_is_refused_before_any_request() {
    let mut zm = TestZoho::start().await;
    zm.ctx.api_base_url = "mail.zoho.com".into();

    let err = zm.call("list_accounts", json!({})).await.unwrap_err();
    assert!(matches!(err, AppError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn odd_arguments_are_refused_before_any_request() {
    let zm = TestZoho::start().await;
    let ctx = &zm.ctx;
    let cases = [
        ("no_such_tool", json!({})),
        ("list_folders", json!({"account_id": "../../admin"})),
        (
            "list_folders",
            json!({"account_id": 2560636000000008002_u64}),
        ),
        (
            "list_folders",
            json!({"account_id": "99999999999999999999"}),
        ),
        ("list_folders", json!({"account_id": ACCOUNT, "extra": 1})),
        ("list_folders", json!([ACCOUNT])),
        (
            "list_messages",
            json!({"account_id": ACCOUNT, "status": "flagged"}),
        ),
        (
            "search_messages",
            json!({"account_id": ACCOUNT, "query": "  "}),
        ),
        (
            "get_message",
            json!({"account_id": ACCOUNT, "message_id": "1"}),
        ),
        (
            "send_message",
            json!({"account_id": ACCOUNT, "to": [], "subject": "s", "content": "c"}),
        ),
        (
            "send_message",
            json!({"account_id": ACCOUNT, "to": ["a@b.c\r\nBcc: x@y.z"], "subject": "s", "content": "c"}),
        ),
        (
            "send_message",
            json!({"to": ["a@b.c"], "from_address": "me", "subject": "s", "content": "c"}),
        ),
        (
            "reply_to_message",
            json!({"account_id": ACCOUNT, "message_id": "x", "to": ["a@b.c"], "content": "c"}),
        ),
        (
            "mark_read",
            json!({"account_id": ACCOUNT, "message_ids": []}),
        ),
        (
            "move_message",
            json!({"account_id": ACCOUNT, "message_ids": ["1"], "destination_folder_id": "Inbox"}),
        ),
    ];
    for (tool, args) in cases {
        // Straight to `call`, skipping schema validation: the app must still not panic.
        let err = zm.app.call(tool, args.clone(), ctx).await.unwrap_err();
        assert_eq!(err.code(), "invalid_arguments", "{tool} {args}: {err:?}");
    }
    assert!(zm.server.received_requests().await.unwrap().is_empty());
}
