//! Revocation reaches every instance within a second: two gateways on one
//! PostgreSQL database.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_keys_fail_on_every_instance_within_a_second() {
    let a = spawn_app(Backend::Postgres).await;
    let b = a.second_instance().await;
    let pid = a.platform_id;

    let (user_id, eu_key) = a.create_end_user("user-1").await;
    let created = a
        .post(
            &format!("/v1/platforms/{pid}/api-keys"),
            &a.platform_key,
            &json!({"name": "k"}),
        )
        .await;
    let plat_key = created.data()["raw_key"].as_str().unwrap().to_owned();
    let plat_key_id = created.data()["id"].as_str().unwrap().to_owned();

    // Warm instance B's cache with both keys.
    for _ in 0..3 {
        assert_eq!(b.get("/v1/me", &eu_key).await.status, 200);
        assert_eq!(b.get("/v1/me", &plat_key).await.status, 200);
    }

    let deleted = a
        .delete(
            &format!("/v1/platforms/{pid}/end-users/{user_id}"),
            &a.platform_key,
        )
        .await;
    assert_eq!(deleted.status, 200);
    let revoked = a
        .delete(
            &format!("/v1/platforms/{pid}/api-keys/{plat_key_id}"),
            &a.platform_key,
        )
        .await;
    assert_eq!(revoked.status, 200);

    for key in [&eu_key, &plat_key] {
        assert_eq!(
            a.get("/v1/me", key).await.status,
            401,
            "the revoking instance: at once"
        );
        let gone = TestApp::eventually(Duration::from_secs(1), || async {
            b.get("/v1/me", key).await.status == 401
        })
        .await;
        assert!(
            gone,
            "instance B still accepts a key revoked on A after 1 s"
        );
    }
    b.stop().await;
    a.stop().await;
}
