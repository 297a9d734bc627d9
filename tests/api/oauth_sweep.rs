//! The background sweep of expired OAuth states and connect links, driven by the
//! injectable clock: rows survive until their expiry plus the grace period, then the
//! sweeper (spawned at start, interval from config) deletes them.

use assistiv::billing::clock::ManualClock;
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with_clock};
use crate::skill_zips::count;

/// Waits (bounded) for the sweeper to bring `table` to `expected` rows.
async fn settles_at(app: &TestApp, table: &str, expected: i64) {
    for _ in 0..500 {
        if count(app, table).await == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(count(app, table).await, expected, "{table}");
}

async fn expired_states_and_links_are_swept(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        c.oauth_sweep_interval_ms = 20;
    })
    .await;
    let (euid, key) = app.create_end_user("sweep-user").await;
    let activated = app
        .send(
            app.request(
                reqwest::Method::PUT,
                &format!("/admin/v1/platforms/{}/apps/github", app.platform_id),
                Some(ADMIN_TOKEN),
            )
            .json(
                &json!({"client_id": "c", "client_secret": "s", "base_url": "https://p.example"}),
            ),
        )
        .await;
    assert!(activated.status.is_success(), "{}", activated.body);
    let connect = app
        .post("/v1/me/apps/github/connect", &key, &json!({}))
        .await;
    assert!(connect.status.is_success(), "{}", connect.body);
    let link = app
        .post(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/connect-links",
                app.platform_id
            ),
            &app.platform_key,
            &json!({}),
        )
        .await;
    assert!(link.status.is_success(), "{}", link.body);
    assert_eq!(count(&app, "oauth_states").await, 1);
    assert_eq!(count(&app, "connect_links").await, 1);

    // Expired (10 and 15 minutes) but inside the grace period: kept, and the
    // sweeper has had many turns to act.
    clock.advance(chrono::Duration::minutes(40));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        count(&app, "oauth_states").await,
        1,
        "within the grace period"
    );
    assert_eq!(
        count(&app, "connect_links").await,
        1,
        "within the grace period"
    );

    // A fresh state taken now must outlive the sweep of the old ones.
    let fresh = app
        .post("/v1/me/apps/github/connect", &key, &json!({}))
        .await;
    assert!(fresh.status.is_success(), "{}", fresh.body);
    clock.advance(chrono::Duration::minutes(31));
    settles_at(&app, "connect_links", 0).await;
    settles_at(&app, "oauth_states", 1).await;
    clock.advance(chrono::Duration::minutes(60));
    settles_at(&app, "oauth_states", 0).await;
    app.stop().await;
}

both_backends!(expired_states_and_links_are_swept);
