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

/// Each repeated create mints another key and the old ones stay valid: the
/// platform lists an end user's keys and revokes the ones it no longer holds.
async fn end_user_keys_are_listed_and_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let pid = app.platform_id;
    let users = format!("/v1/platforms/{pid}/end-users");
    let body = json!({"external_id": "user-9"});
    let first = app.post(&users, &app.platform_key, &body).await;
    let second = app.post(&users, &app.platform_key, &body).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 200));
    let euid = first.data()["id"].as_str().unwrap().to_owned();
    let key_of = |reply: &crate::helpers::Reply| {
        let key = &reply.data()["api_key"];
        (
            key["id"].as_str().unwrap().to_owned(),
            key["raw_key"].as_str().unwrap().to_owned(),
        )
    };
    let ((first_id, first_key), (second_id, second_key)) = (key_of(&first), key_of(&second));
    let keys = format!("{users}/{euid}/api-keys");

    let listed = app.get(&keys, &app.platform_key).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["total"], 2);
    let rows = listed.data().as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first_id.as_str(), second_id.as_str()]);
    assert_eq!(rows[0]["key_prefix"], &first_key[..12]);
    assert!(rows[0]["created_at"].is_string());
    assert!(
        !listed.body.to_string().contains(&first_key[12..]),
        "never the key"
    );

    // Another tenant, another end user, a platform key's id: all 404, nothing revoked.
    let (b, b_key) = app.create_platform("tenant-b").await;
    let (other_user, _) = app.create_end_user("user-10").await;
    let platform_key_id = app
        .get(&format!("/v1/platforms/{pid}/api-keys"), &app.platform_key)
        .await
        .data()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (path, key) in [
        (
            format!("/v1/platforms/{b}/end-users/{euid}/api-keys"),
            &b_key,
        ),
        (keys.clone(), &b_key),
    ] {
        app.get(&path, key).await.assert_error(404, "not_found");
    }
    for (path, key) in [
        (
            format!("/v1/platforms/{b}/end-users/{euid}/api-keys/{first_id}"),
            &b_key,
        ),
        (format!("{keys}/{first_id}"), &b_key),
        (
            format!("{users}/{other_user}/api-keys/{first_id}"),
            &app.platform_key,
        ),
        (format!("{keys}/{platform_key_id}"), &app.platform_key),
    ] {
        app.delete(&path, key).await.assert_error(404, "not_found");
    }
    assert_eq!(app.get("/v1/me", &first_key).await.status, 200);
    assert_eq!(app.get("/v1/me", &app.platform_key).await.status, 200);

    let revoked = app
        .delete(&format!("{keys}/{first_id}"), &app.platform_key)
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.data()["id"], first_id.as_str());
    assert_eq!(revoked.data()["revoked"], true);
    app.get("/v1/me", &first_key)
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(app.get("/v1/me", &second_key).await.status, 200);
    let listed = app.get(&keys, &app.platform_key).await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.data()[0]["id"], second_id.as_str());
    app.delete(&format!("{keys}/{first_id}"), &app.platform_key)
        .await
        .assert_error(404, "not_found");
    app.get(
        &format!("{users}/{}/api-keys", uuid::Uuid::now_v7()),
        &app.platform_key,
    )
    .await
    .assert_error(404, "not_found");
    app.stop().await;
}

/// Revoking an end user's key reaches every instance within a second, as for
/// platform keys (two gateways on one PostgreSQL database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_end_user_keys_fail_on_every_instance_within_a_second() {
    let a = spawn_app(Backend::Postgres).await;
    let b = a.second_instance().await;
    let (euid, key) = a.create_end_user("user-1").await;
    for _ in 0..3 {
        assert_eq!(b.get("/v1/me", &key).await.status, 200, "B caches the key");
    }
    let keys = format!("/v1/platforms/{}/end-users/{euid}/api-keys", a.platform_id);
    let key_id = a.get(&keys, &a.platform_key).await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = a.delete(&format!("{keys}/{key_id}"), &a.platform_key).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(a.get("/v1/me", &key).await.status, 401, "at once here");
    let gone = crate::helpers::TestApp::eventually(std::time::Duration::from_secs(1), || async {
        b.get("/v1/me", &key).await.status == 401
    })
    .await;
    assert!(gone, "instance B still accepts the revoked key after 1 s");
    b.stop().await;
    a.stop().await;
}

both_backends!(
    end_user_keys_are_listed_and_revoked,
    create_is_idempotent_on_external_id_with_a_fresh_key,
    concurrent_creates_of_one_external_id_yield_one_user,
    list_pages_and_filters,
    get_patch_and_delete,
);
