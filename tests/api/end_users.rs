//! End users: idempotent create with a fresh key, list/get/patch/delete.

use std::collections::HashSet;

use serde_json::json;

use crate::helpers::{Backend, spawn_app};

async fn create_is_idempotent_on_external_id_with_a_fresh_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/v1/platforms/{}/end-users", app.platform_id);
    let body = json!({"external_id": "user-42", "display_name": "Jane Smith", "metadata": {"plan": "pro"}});
    let first = app.post(&path, &app.platform_key, &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.data()["external_id"], "user-42");
    assert_eq!(first.data()["display_name"], "Jane Smith");
    assert_eq!(first.data()["metadata"], json!({"plan": "pro"}));
    assert_eq!(first.data()["platform_id"], app.platform_id.to_string());
    let first_key = first.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first_key.starts_with("sk-eu_"));

    let again = app
        .post(&path, &app.platform_key, &json!({"external_id": "user-42"}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.data()["id"], first.data()["id"]);
    let second_key = again.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first_key, second_key);
    // Retry safety: the key the platform stored first still works.
    for key in [&first_key, &second_key] {
        let me = app.get("/v1/me", key).await;
        assert_eq!(me.data()["end_user_id"], first.data()["id"]);
    }
    app.stop().await;
}

async fn concurrent_creates_of_one_external_id_yield_one_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = format!("/v1/platforms/{}/end-users", app.platform_id);
    let body = json!({"external_id": "racer"});
    let replies =
        futures::future::join_all((0..40).map(|_| app.post(&path, &app.platform_key, &body))).await;
    let ids: HashSet<String> = replies
        .iter()
        .map(|r| r.data()["id"].as_str().unwrap().to_owned())
        .collect();
    let keys: HashSet<String> = replies
        .iter()
        .map(|r| r.data()["api_key"]["raw_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(keys.len(), 40);
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 39);
    let listed = app.get(&path, &app.platform_key).await;
    assert_eq!(listed.body["total"], 1);
    app.stop().await;
}

async fn list_pages_and_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        app.create_end_user(&format!("user-{i}")).await;
    }
    let path = format!("/v1/platforms/{}/end-users", app.platform_id);
    let page = app
        .get(&format!("{path}?page=2&limit=2"), &app.platform_key)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["total"], 5);
    assert_eq!(page.body["page"], 2);
    assert_eq!(page.body["limit"], 2);
    let names: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user-2", "user-3"]);
    assert!(!page.body.to_string().contains("raw_key"));

    let one = app
        .get(&format!("{path}?external_id=user-4"), &app.platform_key)
        .await;
    assert_eq!(one.body["total"], 1);
    assert_eq!(one.body["data"][0]["external_id"], "user-4");

    for bad in ["?limit=0", "?limit=101", "?page=0", "?page=x"] {
        app.get(&format!("{path}{bad}"), &app.platform_key)
            .await
            .assert_error(400, "bad_request");
    }
    app.stop().await;
}

async fn get_patch_and_delete(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, key) = app.create_end_user("user-7").await;
    let path = format!("/v1/platforms/{}/end-users/{id}", app.platform_id);
    let got = app.get(&path, &app.platform_key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.data()["api_key"].is_null());

    let patched = app
        .patch(
            &path,
            &app.platform_key,
            &json!({"display_name": "Seven", "metadata": {"tier": 2}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.data()["display_name"], "Seven");
    assert_eq!(patched.data()["metadata"], json!({"tier": 2}));
    let cleared = app
        .patch(&path, &app.platform_key, &json!({"display_name": null}))
        .await;
    assert!(cleared.data()["display_name"].is_null());
    assert_eq!(cleared.data()["metadata"], json!({"tier": 2}));

    let deleted = app.delete(&path, &app.platform_key).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    app.get("/v1/me", &key)
        .await
        .assert_error(401, "unauthorized");
    app.get(&path, &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.delete(&path, &app.platform_key)
        .await
        .assert_error(404, "not_found");

    // The external id is free again.
    let (new_id, _) = app.create_end_user("user-7").await;
    assert_ne!(new_id, id);
    app.stop().await;
}

both_backends!(
    create_is_idempotent_on_external_id_with_a_fresh_key,
    concurrent_creates_of_one_external_id_yield_one_user,
    list_pages_and_filters,
    get_patch_and_delete,
);
