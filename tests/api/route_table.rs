//! The route table holds every end-user route under the end-user limits: walked
//! route by route, each one answers an end user over its RPM with 429.

use assistiv::billing::clock::ManualClock;
use assistiv::http::routes::{Audience, table};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, spawn_app_with_clock};

/// The route's path with every `{param}` filled in (the limit answers before any
/// handler reads them).
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str("00000000-0000-0000-0000-000000000000");
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

async fn every_end_user_route_is_under_the_limit(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock, |_| {}).await;
    let reply = app
        .post(
            &format!("/v1/platforms/{}/end-users", app.platform_id),
            &app.platform_key,
            &json!({"external_id": "walker", "rate_limits": {"rpm_limit": 1}}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    let key = reply.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    // The one request this minute allows (the clock stands still).
    assert_eq!(app.get("/v1/me", &key).await.status, 200);

    let routes = table(&app.state);
    assert!(routes.len() > 50, "the table lists every route");
    let mut walked = 0;
    for route in &routes {
        if matches!(route.audience, Audience::EndUser | Audience::AnyKey) {
            assert!(
                route.is_end_user_reachable(),
                "{} {} takes end-user keys outside the limited API",
                route.method,
                route.path
            );
        }
        if !route.is_end_user_reachable() {
            continue;
        }
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let mut request = app.request(method, &concrete(route.path), Some(&key));
        if route.method != Method::GET && route.method != Method::DELETE {
            request = request.json(&json!({}));
        }
        let reply = app.send(request).await;
        assert_eq!(
            reply.status, 429,
            "{} {} let an end user past the RPM: {}",
            route.method, route.path, reply.body
        );
        assert!(reply.headers.contains_key("retry-after"));
        walked += 1;
    }
    assert!(walked > 40, "walked {walked} routes");

    // MCP counts at its own edge, the same way.
    let reply = app
        .send(
            app.request(Method::POST, "/mcp", Some(&key))
                .header("accept", "application/json, text/event-stream")
                .json(
                    &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "walker", "version": "1"}}}),
                ),
        )
        .await;
    assert_eq!(reply.status, 429, "{}", reply.body);

    // Platform keys are not end users: untouched by that user's limit.
    let platform = format!("/v1/platforms/{}", app.platform_id);
    assert_eq!(app.get(&platform, &app.platform_key).await.status, 200);
    app.stop().await;
}

both_backends!(every_end_user_route_is_under_the_limit);
