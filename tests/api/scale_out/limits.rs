//! Limits and keys across three instances: an RPM of 60 admits 60 in all (the
//! windows live in Redis), and a revoked key is refused by every instance
//! within a second.

use std::time::{Duration, Instant};

use chrono::Timelike;
use reqwest::Method;
use serde_json::json;

use super::{Cluster, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpm_of_sixty_admits_sixty_across_three_instances() {
    let cluster = Cluster::start(&[]).await;
    let created = cluster
        .post(
            &format!("/v1/platforms/{}/end-users", cluster.platform_id),
            &cluster.platform_key,
            &json!({"external_id": "limited", "rate_limits": {"rpm_limit": 60}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    // The window is the clock's minute: a burst must not straddle two.
    let second = chrono::Utc::now().second();
    if second >= 50 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
    }
    let minute = chrono::Utc::now().minute();
    let replies = futures::future::join_all((0..180).map(|_| cluster.get("/v1/me", &key))).await;
    assert_eq!(
        chrono::Utc::now().minute(),
        minute,
        "the burst took more than 10 s"
    );
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(admitted, 60, "the limit holds across the instances");
    for refused in replies.iter().filter(|r| r.status != 200) {
        refused.assert_error(429, "rate_limited");
        assert!(refused.headers.contains_key("retry-after"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_on_every_instance_within_a_second() {
    let cluster = Cluster::start(&[]).await;
    let pid = cluster.platform_id;
    let (user_id, eu_key) = cluster.end_user("revoked", None).await;
    let created = cluster
        .post(
            &format!("/v1/platforms/{pid}/api-keys"),
            &cluster.platform_key,
            &json!({"name": "short-lived"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let plat_key = created.data()["raw_key"].as_str().unwrap().to_owned();
    let plat_key_id = created.data()["id"].as_str().unwrap().to_owned();

    // Every instance has both keys in its cache.
    for instance in &cluster.instances {
        for key in [&eu_key, &plat_key] {
            for _ in 0..2 {
                let me = cluster
                    .call_on(instance, Method::GET, "/v1/me", key, None)
                    .await;
                assert_eq!(me.status, 200, "{}", me.body);
            }
        }
    }

    // The end user's key goes with the end user (on the first instance), the
    // platform key is revoked on the second.
    let deleted = cluster
        .call_on(
            &cluster.instances[0],
            Method::DELETE,
            &format!("/v1/platforms/{pid}/end-users/{user_id}"),
            &cluster.platform_key,
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let deleted_at = Instant::now();
    let revoked = cluster
        .call_on(
            &cluster.instances[1],
            Method::DELETE,
            &format!("/v1/platforms/{pid}/api-keys/{plat_key_id}"),
            &cluster.platform_key,
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let revoked_at = Instant::now();

    // Measured from each revocation's answer to the first 401 an instance gives.
    let mut slowest = Duration::ZERO;
    for (n, instance) in cluster.instances.iter().enumerate() {
        for (key, since) in [(&eu_key, deleted_at), (&plat_key, revoked_at)] {
            let refused = within(Duration::from_secs(2), || async {
                let me = cluster
                    .call_on(instance, Method::GET, "/v1/me", key, None)
                    .await;
                assert!(me.status == 200 || me.status == 401, "{}", me.body);
                me.status == 401
            })
            .await;
            assert!(
                refused.is_some(),
                "instance {n} still accepts a revoked key"
            );
            let took = since.elapsed();
            assert!(
                took <= Duration::from_secs(1),
                "instance {n} refused a revoked key only after {took:?}"
            );
            slowest = slowest.max(took);
        }
    }
    // And they stay refused.
    for instance in &cluster.instances {
        for key in [&eu_key, &plat_key] {
            cluster
                .call_on(instance, Method::GET, "/v1/me", key, None)
                .await
                .assert_error(401, "unauthorized");
        }
    }
    eprintln!("revocation reached every instance within {slowest:?}");
}
