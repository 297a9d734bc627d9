//! Platform API keys: raw key once, prefixes in listings, revocation at once.

use serde_json::json;

use crate::helpers::{Backend, spawn_app};

async fn created_keys_work_and_listings_show_prefixes_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/v1/platforms/{}/api-keys", app.platform_id);
    let created = app
        .post(
            &path,
            &app.platform_key,
            &json!({"name": "Production server"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let raw = created.data()["raw_key"].as_str().unwrap().to_owned();
    assert!(raw.starts_with("sk-plat_") && raw.len() >= "sk-plat_".len() + 43);
    assert_eq!(created.data()["key_prefix"], raw[..12]);
    assert_eq!(created.data()["name"], "Production server");

    let me = app.get("/v1/me", &raw).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.data()["platform_id"], app.platform_id.to_string());

    let listed = app.get(&path, &raw).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["total"], 2);
    assert_eq!(listed.body["page"], 1);
    let text = listed.body.to_string();
    assert!(!text.contains(&raw) && !text.contains(&app.platform_key));
    assert!(!text.contains("raw_key") && !text.contains("hash"));
    for key in listed.body["data"].as_array().unwrap() {
        assert_eq!(key["key_prefix"].as_str().unwrap().len(), 12);
    }

    // A body is optional.
    let unnamed = app
        .send(app.request(reqwest::Method::POST, &path, Some(&raw)))
        .await;
    assert_eq!(unnamed.status, 201, "{}", unnamed.body);
    assert!(unnamed.data()["name"].is_null());
    app.stop().await;
}

async fn a_revoked_key_fails_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/v1/platforms/{}/api-keys", app.platform_id);
    let created = app
        .post(&path, &app.platform_key, &json!({"name": "rotating"}))
        .await;
    let raw = created.data()["raw_key"].as_str().unwrap().to_owned();
    let id = created.data()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/me", &raw).await.status, 200);

    let revoked = app.delete(&format!("{path}/{id}"), &app.platform_key).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.data()["revoked"], true);
    app.get("/v1/me", &raw)
        .await
        .assert_error(401, "unauthorized");

    // Gone from the list; a second revoke finds nothing.
    let listed = app.get(&path, &app.platform_key).await;
    assert_eq!(listed.body["total"], 1);
    app.delete(&format!("{path}/{id}"), &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.stop().await;
}

async fn a_platform_can_revoke_the_key_it_is_using(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = app.get("/v1/me", &app.platform_key).await;
    let own_id = me.data()["key_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/platforms/{}/api-keys/{own_id}", app.platform_id);
    assert_eq!(app.delete(&path, &app.platform_key).await.status, 200);
    app.get("/v1/me", &app.platform_key)
        .await
        .assert_error(401, "unauthorized");
    app.stop().await;
}

both_backends!(
    created_keys_work_and_listings_show_prefixes_only,
    a_revoked_key_fails_at_once,
    a_platform_can_revoke_the_key_it_is_using,
);
