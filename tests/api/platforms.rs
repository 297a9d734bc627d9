//! Platforms: first-start provisioning, operator creation, settings.

use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, Backend, spawn_app};

async fn first_start_provisions_a_default_platform_once(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.platform_key.starts_with("sk-plat_"));
    let reply = app
        .get(
            &format!("/v1/platforms/{}", app.platform_id),
            &app.platform_key,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.data()["name"], "default");
    if backend == Backend::Postgres {
        let second = app.second_instance().await;
        assert_eq!(second.platform_key, "");
        let listed = app.get("/admin/v1/platforms", ADMIN_TOKEN).await;
        assert_eq!(listed.body["total"], 1);
        second.stop().await;
    }
    app.stop().await;
}

async fn operator_creates_lists_and_gets_platforms(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post(
            "/admin/v1/platforms",
            ADMIN_TOKEN,
            &json!({"name": "acme", "display_name": "Acme Inc"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.data()["display_name"], "Acme Inc");
    let key = created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created.data()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/me", &key).await.data()["platform_id"], id);

    let got = app
        .get(&format!("/admin/v1/platforms/{id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(got.status, 200);
    assert!(
        got.data()["api_key"].is_null(),
        "the key is never shown again"
    );
    let listed = app
        .get("/admin/v1/platforms?limit=1&page=2", ADMIN_TOKEN)
        .await;
    assert_eq!(listed.body["total"], 2);
    assert_eq!(listed.body["data"][0]["name"], "acme");

    app.post("/admin/v1/platforms", ADMIN_TOKEN, &json!({"name": "acme"}))
        .await
        .assert_error(409, "conflict");
    app.get(
        &format!("/admin/v1/platforms/{}", uuid::Uuid::new_v4()),
        ADMIN_TOKEN,
    )
    .await
    .assert_error(404, "not_found");
    app.stop().await;
}

async fn platform_settings_patch(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/v1/platforms/{}", app.platform_id);
    let patched = app
        .patch(
            &path,
            &app.platform_key,
            &json!({"skills_enabled": true, "display_unit": "tokens", "credits_per_usd": 250,
                    "markup_percent": 12.5, "default_budget": {"max_usd": 5, "period": "monthly"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let data = patched.data();
    assert_eq!(data["skills_enabled"], true);
    assert_eq!(data["display_unit"], "tokens");
    assert_eq!(data["credits_per_usd"], 250.0);
    assert_eq!(data["markup_percent"], 12.5);
    assert_eq!(
        data["default_budget"],
        json!({"max_usd": 5.0, "period": "monthly"})
    );

    // Absent fields stay; null clears the default budget.
    let cleared = app
        .patch(&path, &app.platform_key, &json!({"default_budget": null}))
        .await;
    assert!(cleared.data()["default_budget"].is_null());
    assert_eq!(cleared.data()["display_unit"], "tokens");
    assert_eq!(cleared.data()["skills_enabled"], true);
    app.stop().await;
}

both_backends!(
    first_start_provisions_a_default_platform_once,
    operator_creates_lists_and_gets_platforms,
    platform_settings_patch,
);
