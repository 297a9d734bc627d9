//! Tenants never see each other: another platform's ids answer 404 on every route
//! and change nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

async fn platform_state(app: &TestApp, pid: uuid::Uuid, key: &str) -> Value {
    json!({
        "platform": app.get(&format!("/v1/platforms/{pid}"), key).await.body,
        "end_users": app.get(&format!("/v1/platforms/{pid}/end-users?limit=100"), key).await.body,
        "api_keys": app.get(&format!("/v1/platforms/{pid}/api-keys?limit=100"), key).await.body,
    })
}

async fn another_platforms_ids_answer_404_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, a_key) = (app.platform_id, app.platform_key.clone());
    let (b, b_key) = app.create_platform("tenant-b").await;
    let (b_user, b_user_key) = app.create_end_user_on(b, &b_key, "b-user").await;
    let b_api_key = app
        .post(
            &format!("/v1/platforms/{b}/api-keys"),
            &b_key,
            &json!({"name": "b"}),
        )
        .await;
    let b_key_id = b_api_key.data()["id"].as_str().unwrap().to_owned();
    let (a_user, _) = app.create_end_user("a-user").await;

    let before = platform_state(&app, b, &b_key).await;
    let body = json!({"external_id": "intruder"});
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/platforms/{b}"), None),
        (
            Method::PATCH,
            format!("/v1/platforms/{b}"),
            Some(json!({"skills_enabled": true})),
        ),
        (Method::GET, format!("/v1/platforms/{b}/api-keys"), None),
        (
            Method::POST,
            format!("/v1/platforms/{b}/api-keys"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::DELETE,
            format!("/v1/platforms/{b}/api-keys/{b_key_id}"),
            None,
        ),
        (Method::GET, format!("/v1/platforms/{b}/end-users"), None),
        (
            Method::POST,
            format!("/v1/platforms/{b}/end-users"),
            Some(body.clone()),
        ),
        (
            Method::GET,
            format!("/v1/platforms/{b}/end-users/{b_user}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/platforms/{b}/end-users/{b_user}"),
            Some(json!({"display_name": "x"})),
        ),
        (
            Method::DELETE,
            format!("/v1/platforms/{b}/end-users/{b_user}"),
            None,
        ),
        // B's ids under A's own path.
        (
            Method::GET,
            format!("/v1/platforms/{a}/end-users/{b_user}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/platforms/{a}/end-users/{b_user}"),
            Some(json!({"display_name": "x"})),
        ),
        (
            Method::DELETE,
            format!("/v1/platforms/{a}/end-users/{b_user}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/platforms/{a}/api-keys/{b_key_id}"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let mut request = app.request(method.clone(), &path, Some(&a_key));
        if let Some(body) = body {
            request = request.json(&body);
        }
        app.send(request).await.assert_error(404, "not_found");
    }
    let a_user_path = format!("/v1/platforms/{a}/end-users/{a_user}");
    app.get(&a_user_path, &b_key)
        .await
        .assert_error(404, "not_found");

    assert_eq!(platform_state(&app, b, &b_key).await, before, "B changed");
    assert_eq!(app.get("/v1/me", &b_user_key).await.status, 200);
    app.stop().await;
}

both_backends!(another_platforms_ids_answer_404_and_change_nothing);
