use crate::helpers::{Backend, spawn_app};

async fn health_and_readiness_answer_with_request_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/healthz", "/readyz"] {
        let reply = app
            .send(app.request(reqwest::Method::GET, path, None))
            .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(reply.headers.get("x-request-id").is_some());
    }
    let reply = app
        .send(app.request(reqwest::Method::GET, "/readyz", None))
        .await;
    assert_eq!(reply.body["database"], "ok");
    app.stop().await;
}

async fn unknown_routes_and_methods_answer_in_the_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.get("/v1/nothing-here", &app.platform_key).await;
    reply.assert_error(404, "not_found");
    let reply = app
        .send(app.request(reqwest::Method::PUT, "/v1/me", Some(&app.platform_key)))
        .await;
    reply.assert_error(405, "method_not_allowed");
    app.stop().await;
}

both_backends!(
    health_and_readiness_answer_with_request_ids,
    unknown_routes_and_methods_answer_in_the_envelope
);
