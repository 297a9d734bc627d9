//! SPEC section 3: 401 vs 403 vs 404, the platform-id header, the admin token.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, Backend, spawn_app, spawn_app_with};

async fn me_identifies_both_key_kinds(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.get("/v1/me", &app.platform_key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.data()["key_kind"], "platform");
    assert_eq!(reply.data()["platform_id"], app.platform_id.to_string());
    assert_eq!(reply.data()["key_prefix"], app.platform_key[..12]);

    let (end_user_id, eu_key) = app.create_end_user("user-1").await;
    let reply = app.get("/v1/me", &eu_key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.data()["key_kind"], "end_user");
    assert_eq!(reply.data()["end_user_id"], end_user_id.to_string());
    app.stop().await;
}

async fn missing_malformed_and_unknown_keys_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let missing = app.send(app.request(Method::GET, "/v1/me", None)).await;
    missing.assert_error(401, "unauthorized");
    assert_eq!(missing.headers.get("www-authenticate").unwrap(), "Bearer");

    let unknown = format!("sk-plat_{}", "A".repeat(43));
    for key in ["garbage", "sk-eu_short", unknown.as_str()] {
        app.get("/v1/me", key)
            .await
            .assert_error(401, "unauthorized");
    }
    let basic = app
        .send(
            app.request(Method::GET, "/v1/me", None)
                .header("Authorization", "Basic abc"),
        )
        .await;
    basic.assert_error(401, "unauthorized");
    app.stop().await;
}

async fn wrong_key_kind_is_403_and_foreign_platform_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, eu_key) = app.create_end_user("user-1").await;
    let path = format!("/v1/platforms/{}/end-users", app.platform_id);
    app.get(&path, &eu_key).await.assert_error(403, "forbidden");

    let (other_id, _) = app.create_platform("other").await;
    let foreign = format!("/v1/platforms/{other_id}/end-users");
    app.get(&foreign, &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/v1/platforms/{other_id}"), &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.stop().await;
}

async fn platform_id_header_must_match_the_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/v1/platforms/{}/end-users", app.platform_id);
    let ok = app
        .send(
            app.request(Method::GET, &path, Some(&app.platform_key))
                .header("X-Assistiv-Platform-Id", app.platform_id.to_string()),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let (other_id, _) = app.create_platform("other").await;
    for value in [other_id.to_string(), "not-a-uuid".to_string()] {
        let reply = app
            .send(
                app.request(Method::GET, &path, Some(&app.platform_key))
                    .header("X-Assistiv-Platform-Id", value),
            )
            .await;
        reply.assert_error(403, "forbidden");
    }
    app.stop().await;
}

async fn admin_routes_need_the_admin_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let listed = app.get("/admin/v1/platforms", ADMIN_TOKEN).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["total"], 1);
    app.get("/admin/v1/platforms", "wrong-token")
        .await
        .assert_error(401, "unauthorized");
    app.get("/admin/v1/platforms", &app.platform_key)
        .await
        .assert_error(403, "forbidden");
    let missing = app
        .send(app.request(Method::GET, "/admin/v1/platforms", None))
        .await;
    missing.assert_error(401, "unauthorized");
    app.stop().await;

    let disabled = spawn_app_with(backend, |c| c.admin_token = None).await;
    disabled
        .post("/admin/v1/platforms", ADMIN_TOKEN, &json!({"name": "x"}))
        .await
        .assert_error(403, "forbidden");
    disabled.stop().await;
}

both_backends!(
    me_identifies_both_key_kinds,
    missing_malformed_and_unknown_keys_are_401,
    wrong_key_kind_is_403_and_foreign_platform_is_404,
    platform_id_header_must_match_the_key,
    admin_routes_need_the_admin_token,
);
