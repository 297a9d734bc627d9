use std::time::{Duration, Instant};

use assistiv_app_sdk::{App, AppError};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::helpers::{TOKEN, TestZendesk, json, json_status, zendesk};

const TICKET: &str = "/api/v2/tickets/35436.json";

fn ticket_args() -> serde_json::Value {
    json!({"ticket_id": 35436})
}

#[tokio::test]
async fn status_401_is_unauthorized() {
    let zd = TestZendesk::start().await;
    zd.expect(zendesk("GET", TICKET), json_status(401, "error_401"))
        .await;

    let err = zd.call("get_ticket", ticket_args()).await.unwrap_err();
    assert_eq!(err, AppError::Unauthorized);
    assert_eq!(err.upstream_status(), Some(401));
}

#[tokio::test]
async fn status_404_is_not_found_naming_the_request() {
    let zd = TestZendesk::start().await;
    zd.expect(zendesk("GET", TICKET), json_status(404, "error_404"))
        .await;

    let err = zd.call("get_ticket", ticket_args()).await.unwrap_err();
    assert_eq!(
        err,
        AppError::NotFound(format!(
            "Zendesk 404: RecordNotFound: Not found (GET {TICKET})"
        ))
    );
}

#[tokio::test]
async fn status_422_is_invalid_arguments_with_the_field_details() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("POST", "/api/v2/tickets.json"),
        json_status(422, "error_422"),
    )
    .await;

    let err = zd
        .call(
            "create_ticket",
            json!({"subject": "s", "description": "d", "requester_email": "jane@acme"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::InvalidArguments(
            "Zendesk 422: RecordInvalid: Record validation errors; Requester: Email is not \
             properly formatted (POST /api/v2/tickets.json)"
                .into()
        )
    );
}

#[tokio::test]
async fn status_403_is_an_upstream_error() {
    let zd = TestZendesk::start().await;
    zd.expect(zendesk("PUT", TICKET), json_status(403, "error_403"))
        .await;

    let err = zd
        .call(
            "update_ticket",
            json!({"ticket_id": 35436, "status": "solved"}),
        )
        .await
        .unwrap_err();
    let AppError::Upstream {
        status: 403,
        message,
    } = &err
    else {
        panic!("expected upstream 403, got {err:?}");
    };
    assert!(
        message.starts_with("Zendesk 403: Forbidden: You do not have access"),
        "{message}"
    );
}

#[tokio::test]
async fn status_429_is_rate_limited_with_retry_after() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/search.json"),
        json_status(429, "error_429").insert_header("retry-after", "93"),
    )
    .await;

    let err = zd
        .call("search_tickets", json!({"query": "printer"}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AppError::RateLimited {
            retry_after_secs: Some(93)
        }
    );
    assert_eq!(err.code(), "rate_limited");
}

#[tokio::test]
async fn status_503_is_an_upstream_error_without_retries() {
    let zd = TestZendesk::start().await;
    // `expect(1)`: the app never retries; the gateway decides.
    zd.expect(
        zendesk("GET", TICKET),
        ResponseTemplate::new(503).set_body_string("<html><body>Maintenance</body></html>"),
    )
    .await;

    let err = zd.call("get_ticket", ticket_args()).await.unwrap_err();
    assert_eq!(
        err,
        AppError::Upstream {
            status: 503,
            message: format!("Zendesk 503: <html><body>Maintenance</body></html> (GET {TICKET})")
        }
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_within_the_call_budget() {
    let mut zd = TestZendesk::start().await;
    zd.ctx.timeout = Duration::from_millis(200);
    zendesk("GET", TICKET)
        .respond_with(json("ticket").set_delay(Duration::from_secs(5)))
        .mount(&zd.server)
        .await;

    let started = Instant::now();
    let err = zd.call("get_ticket", ticket_args()).await.unwrap_err();
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
    let mut zd = TestZendesk::start().await;
    zd.ctx.http = assistiv_app_sdk::reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    zendesk("GET", TICKET)
        .respond_with(json("ticket").set_delay(Duration::from_secs(5)))
        .mount(&zd.server)
        .await;

    assert_eq!(
        zd.call("get_ticket", ticket_args()).await.unwrap_err(),
        AppError::Timeout
    );
}

#[tokio::test]
async fn an_unreachable_api_is_a_transport_error() {
    let mut zd = TestZendesk::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    zd.ctx.api_base_url = format!("http://127.0.0.1:{port}");

    let err = zd.call("get_me", json!({})).await.unwrap_err();
    let AppError::Transport(message) = &err else {
        panic!("expected transport, got {err:?}");
    };
    assert!(!message.contains(TOKEN));
    assert_eq!(err.upstream_status(), Some(502));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_transport_error() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/users/me.json"),
        ResponseTemplate::new(200).set_body_string("<html>Sign in to Zendesk</html>"),
    )
    .await;

    let err = zd.call("get_me", json!({})).await.unwrap_err();
    assert!(matches!(err, AppError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn a_base_url_without_its_subdomain_is_refused_clearly() {
    let mut zd = TestZendesk::start().await;
    zd.ctx.api_base_url = "https://{subdomain}.zendesk.com".into();

    let err = zd.call("get_me", json!({})).await.unwrap_err();
    let AppError::Transport(message) = &err else {
        panic!("expected transport, got {err:?}");
    };
    assert!(message.contains("has no subdomain"), "{message}");
}

#[tokio::test]
async fn odd_arguments_are_refused_before_any_request() {
    let zd = TestZendesk::start().await;
    let ctx = &zd.ctx;
    let cases = [
        ("no_such_tool", json!({})),
        ("get_ticket", json!({"ticket_id": "35436/../../users"})),
        ("get_ticket", json!({"ticket_id": -1})),
        ("get_ticket", json!({"ticket_id": 1.5})),
        ("get_ticket", json!({"ticket_id": 1, "extra": true})),
        ("get_ticket", json!([35436])),
        ("search_tickets", json!({"query": "   "})),
        (
            "search_tickets",
            json!({"query": "x", "status": "archived"}),
        ),
        ("search_users", json!({"query": ""})),
        ("update_ticket", json!({"ticket_id": 1})),
        ("update_ticket", json!({"ticket_id": 1, "status": "closed"})),
        ("add_ticket_comment", json!({"ticket_id": 1, "body": "hi"})),
        (
            "add_ticket_comment",
            json!({"ticket_id": 1, "body": " ", "public": true}),
        ),
        (
            "create_ticket",
            json!({"subject": "s", "description": "d", "requester_id": 1, "requester_email": "a@b.c"}),
        ),
        (
            "create_ticket",
            json!({"subject": "s", "description": "d", "requester_name": "Jane"}),
        ),
        (
            "create_ticket",
            json!({"subject": "s", "description": "d", "requester_email": "jane"}),
        ),
    ];
    for (tool, args) in cases {
        // Straight to `call`, skipping schema validation: the app must still not panic.
        let err = zd.app.call(tool, args.clone(), ctx).await.unwrap_err();
        assert_eq!(err.code(), "invalid_arguments", "{tool} {args}: {err:?}");
    }
    assert!(zd.server.received_requests().await.unwrap().is_empty());
}
