//! Endpoints: one handler set for the operator and the platform's key, the
//! secret revealable by both and rotated with an overlap, tenancy, bad input,
//! and the SSRF guard at creation.

use reqwest::Method;
use serde_json::json;

use super::{admin_endpoints_path, endpoints_path, fast};
use crate::helpers::{ADMIN_TOKEN, Backend, spawn_app_with};

async fn operator_and_platform_manage_endpoints(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let (pid, key) = (app.platform_id, app.platform_key.clone());
    let created = app
        .post(
            &endpoints_path(pid),
            &key,
            &json!({"url": "http://127.0.0.1:9/hook", "event_types": ["budget.debited", "wallet.low_balance", "budget.debited"], "description": "billing"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let endpoint = created.data().clone();
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{endpoint}");
    assert_eq!(
        endpoint["event_types"],
        json!(["budget.debited", "wallet.low_balance"])
    );
    assert_eq!(endpoint["enabled"], true);

    // The operator sees and changes the same endpoint through its own routes.
    let by_operator = app
        .get(&format!("{}/{id}", admin_endpoints_path(pid)), ADMIN_TOKEN)
        .await;
    assert_eq!(by_operator.status, 200, "{}", by_operator.body);
    assert_eq!(by_operator.data()["url"], "http://127.0.0.1:9/hook");
    assert!(by_operator.data().get("secret").is_none(), "shown once");
    let listed = app.get(&admin_endpoints_path(pid), ADMIN_TOKEN).await;
    assert_eq!(listed.body["total"], 1, "{}", listed.body);
    let patched = app
        .patch(
            &format!("{}/{id}", admin_endpoints_path(pid)),
            ADMIN_TOKEN,
            &json!({"event_types": [], "description": null, "enabled": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.data()["event_types"], json!([]));
    assert_eq!(patched.data()["description"], json!(null));
    assert_eq!(patched.data()["enabled"], false);

    // Both reveal the secret; a rotation keeps the old one beside the new.
    for (path, token) in [
        (endpoints_path(pid), key.as_str()),
        (admin_endpoints_path(pid), ADMIN_TOKEN),
    ] {
        let revealed = app.get(&format!("{path}/{id}/secret"), token).await;
        assert_eq!(revealed.status, 200, "{}", revealed.body);
        assert_eq!(revealed.data()["secret"], secret.as_str());
        assert_eq!(revealed.data()["previous_secret"], json!(null));
    }
    let rotated = app
        .post(
            &format!("{}/{id}/secret/rotate", endpoints_path(pid)),
            &key,
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.data()["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert_eq!(rotated.data()["previous_secret"], secret.as_str());
    let until = rotated.data()["previous_secret_expires_at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let hours = (until - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");
    // Sealed at rest: the secret is nowhere in the row.
    let (sealed, previous): (Vec<u8>, Option<Vec<u8>>) = app
        .state
        .db
        .fetch_optional(
            "SELECT secret_enc, previous_secret_enc FROM webhook_endpoints WHERE id = $1",
            &assistiv::args![id.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .unwrap();
    for stored in [sealed, previous.unwrap()] {
        assert!(!String::from_utf8_lossy(&stored).contains("whsec_"));
    }

    // Another platform never sees it (404), nor can an end user (403).
    let (other_pid, other_key) = app.create_platform("other").await;
    app.get(&format!("{}/{id}", endpoints_path(other_pid)), &other_key)
        .await
        .assert_error(404, "not_found");
    app.get(&format!("{}/{id}", endpoints_path(pid)), &other_key)
        .await
        .assert_error(404, "not_found");
    app.get(
        &format!("{}/{id}", admin_endpoints_path(other_pid)),
        ADMIN_TOKEN,
    )
    .await
    .assert_error(404, "not_found");
    app.get(&admin_endpoints_path(uuid::Uuid::new_v4()), ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");
    let (_, eu_key) = app.create_end_user("eu").await;
    app.get(&endpoints_path(pid), &eu_key)
        .await
        .assert_error(403, "forbidden");
    app.get(&admin_endpoints_path(pid), &key)
        .await
        .assert_error(403, "forbidden");

    // Bad input: a clear 400, nothing created.
    for (body, needle) in [
        (json!({}), "url is required"),
        (json!({"url": "not a url"}), "not a valid URL"),
        (json!({"url": "ftp://127.0.0.1/x"}), "scheme"),
        (json!({"url": "http://u:p@127.0.0.1/x"}), "credentials"),
        (
            json!({"url": "http://127.0.0.1/x", "event_types": ["budget.nope"]}),
            "unknown event type",
        ),
        (json!({"url": "http://127.0.0.1/x\u{0}"}), "NUL"),
        (
            json!({"url": "http://127.0.0.1/x", "colour": "red"}),
            "unknown field",
        ),
        (json!({"url": 7}), "invalid type"),
    ] {
        let reply = app.post(&endpoints_path(pid), &key, &body).await;
        reply.assert_error(400, "bad_request");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{body}: {}",
            reply.body
        );
    }
    let listed = app.get(&endpoints_path(pid), &key).await;
    assert_eq!(listed.body["total"], 1);

    let deleted = app
        .delete(&format!("{}/{id}", endpoints_path(pid)), &key)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    app.get(&format!("{}/{id}", endpoints_path(pid)), &key)
        .await
        .assert_error(404, "not_found");
    app.stop().await;
}

/// Without the operator's leave, loopback, private, metadata and names that
/// resolve to them are refused after resolution, with a clear error; https only.
async fn private_targets_are_refused_at_creation(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.webhook_allow_http = true).await;
    let path = endpoints_path(app.platform_id);
    for (url, why) in [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://100.64.1.1/hook", "shared"),
    ] {
        let reply = app
            .post(&path, &app.platform_key, &json!({"url": url}))
            .await;
        reply.assert_error(400, "bad_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(why) && message.contains("ASSISTIV_WEBHOOK_ALLOW_PRIVATE"),
            "{url}: {message}"
        );
    }
    app.stop().await;

    let strict = spawn_app_with(backend, |_| {}).await;
    let reply = strict
        .post(
            &endpoints_path(strict.platform_id),
            &strict.platform_key,
            &json!({"url": "http://93.184.216.34/hook"}),
        )
        .await;
    reply.assert_error(400, "bad_request");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("https"),
        "{}",
        reply.body
    );
    let listed = strict
        .send(strict.request(
            Method::GET,
            &endpoints_path(strict.platform_id),
            Some(&strict.platform_key),
        ))
        .await;
    assert_eq!(listed.body["total"], 0);
    strict.stop().await;
}

both_backends!(
    operator_and_platform_manage_endpoints,
    private_targets_are_refused_at_creation
);
