use serde_json::json;
use wiremock::matchers::query_param;

use crate::helpers::{TestZendesk, json, zendesk};

#[tokio::test]
async fn search_users_by_email_or_name() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/users/search.json")
            .and(query_param("query", "example.com"))
            .and(query_param("page", "1"))
            .and(query_param("per_page", "10")),
        json("users_search"),
    )
    .await;

    let out = zd
        .ok(
            "search_users",
            json!({"query": " example.com ", "per_page": 10}),
        )
        .await;

    let users = out.structured["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(
        users[1],
        json!({
            "id": 9873843,
            "name": "Peter Customer",
            "email": "peter@example.com",
            "role": "end-user",
            "time_zone": "Eastern Time (US & Canada)",
            "active": true,
            "suspended": false,
            "verified": false,
            "tags": ["vip"],
            "created_at": "2010-02-11T09:12:41Z",
            "url": format!("{}/agent/users/9873843", zd.server.uri())
        })
    );
    assert!(out.structured.get("next_page").is_none());
    assert!(
        out.text
            .contains("9873843 Peter Customer <peter@example.com> (end-user)"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn get_user_and_get_me() {
    let zd = TestZendesk::start().await;
    zd.expect(zendesk("GET", "/api/v2/users/35436.json"), json("user"))
        .await;
    zd.expect(zendesk("GET", "/api/v2/users/me.json"), json("user"))
        .await;

    let user = zd.ok("get_user", json!({"user_id": 35436})).await;
    assert_eq!(
        user.structured,
        json!({
            "id": 35436,
            "name": "Johnny Agent",
            "email": "johnny@example.com",
            "role": "agent",
            "phone": "+15551234567",
            "organization_id": 57542,
            "time_zone": "Copenhagen",
            "locale": "en-US",
            "active": true,
            "suspended": false,
            "verified": true,
            "tags": ["enterprise", "other_tag"],
            "created_at": "2009-07-20T22:55:29Z",
            "last_login_at": "2011-05-05T10:38:52Z",
            "url": format!("{}/agent/users/35436", zd.server.uri())
        })
    );
    assert_eq!(user.text, "35436 Johnny Agent <johnny@example.com> (agent)");

    let me = zd.ok("get_me", json!({})).await;
    assert_eq!(me.structured["id"], 35436);
}
