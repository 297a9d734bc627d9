//! Plumbing shared by the app end-to-end tests: a loopback server for a vendor
//! stand-in, the vendor's recorded fixtures, activation, the browser's side of the
//! consent redirect, and reading MCP tool results.

use axum::http::HeaderMap;
use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, TestApp};

/// Serves `router` on a free loopback port; its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// A response body recorded from the vendor's API reference:
/// `apps/<app>/tests/fixtures/<name>.json`.
pub fn fixture(app: &str, name: &str) -> Value {
    let path = format!(
        "{}/apps/{app}/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The token after `scheme ` in the Authorization header, or "".
pub fn token_of(headers: &HeaderMap, scheme: &str) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(scheme))
        .and_then(|v| v.strip_prefix(' '))
        .unwrap_or_default()
        .to_owned()
}

/// The operator activates `slug` for the test app's platform with `body`.
pub async fn activate(app: &TestApp, slug: &str, body: Value) {
    let reply = app
        .send(
            app.request(
                reqwest::Method::PUT,
                &format!("/admin/v1/platforms/{}/apps/{slug}", app.platform_id),
                Some(ADMIN_TOKEN),
            )
            .json(&body),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
}

/// A browser that shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens `authorize_url` at the provider (oauth2-mock-server approves at once); the
/// gateway callback URL the provider redirects to.
pub async fn authorize(app: &TestApp, authorize_url: &str) -> reqwest::Url {
    let at_provider = browser().get(authorize_url).send().await.unwrap();
    assert_eq!(at_provider.status(), 302);
    let callback = at_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(callback.starts_with(&format!("{}/oauth/callback?", app.address)));
    reqwest::Url::parse(&callback).unwrap()
}

/// Follows the callback; where the gateway lands the browser.
pub async fn land(callback: &str) -> String {
    let landed = browser().get(callback).send().await.unwrap();
    assert_eq!(landed.status(), 302);
    landed.headers()["location"].to_str().unwrap().to_owned()
}

/// The browser's whole consent: authorize at the provider, follow the callback; where
/// the gateway lands the browser.
pub async fn consent(app: &TestApp, authorize_url: &str) -> String {
    land(authorize(app, authorize_url).await.as_str()).await
}

/// The end user starts connecting `slug` with `body`; the authorize URL and its query.
pub async fn begin(
    app: &TestApp,
    key: &str,
    slug: &str,
    body: Value,
) -> (String, std::collections::HashMap<String, String>) {
    let reply = app
        .post(&format!("/v1/me/apps/{slug}/connect"), key, &body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let url = reply.data()["authorize_url"].as_str().unwrap().to_owned();
    let query = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    (url, query)
}

/// A platform's view of the user's connection to `slug`.
pub async fn connection(app: &TestApp, euid: uuid::Uuid, slug: &str) -> Value {
    app.get(
        &format!(
            "/v1/platforms/{}/end-users/{euid}/connections/{slug}",
            app.platform_id
        ),
        &app.platform_key,
    )
    .await
    .data()
    .clone()
}

/// The structured result of a successful tools/call.
pub fn ok(result: &Value) -> &Value {
    assert_eq!(result["result"]["isError"], false, "{result}");
    &result["result"]["structuredContent"]
}

/// The structured tool error of a failed tools/call.
pub fn tool_error(result: &Value) -> &Value {
    assert_eq!(result["result"]["isError"], true, "{result}");
    &result["result"]["structuredContent"]
}

/// A JSON error answer in a vendor's shape.
pub fn answer(status: u16, body: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        axum::Json(body),
    )
        .into_response()
}

/// A status with `Retry-After` and a JSON body.
pub fn rate_limited(retry_after: &'static str, body: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        [("retry-after", retry_after)],
        axum::Json(body),
    )
        .into_response()
}
