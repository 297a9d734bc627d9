use serde_json::json;
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::helpers::{TestSlack, json, slack};

#[tokio::test]
async fn list_channels_sends_types_limit_and_cursor() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "conversations.list")
            .and(query_param("types", "public_channel,private_channel"))
            .and(query_param("exclude_archived", "true"))
            .and(query_param("limit", "50"))
            .and(query_param("cursor", "dGVhbTpDMDYxRkE1UEI=")),
        json("conversations_list"),
    )
    .await;
    let out = s
        .ok(
            "list_channels",
            json!({"types": ["public_channel", "private_channel"], "limit": 50, "cursor": "dGVhbTpDMDYxRkE1UEI="}),
        )
        .await;
    let channels = out.structured["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 2);
    assert_eq!(
        channels[0],
        json!({"id": "C012AB3CD", "name": "general", "is_private": false, "is_archived": false,
            "is_member": true, "num_members": 4,
            "topic": "Company-wide announcements and work-based matters",
            "purpose": "This channel is for team-wide communication and announcements. All team members are in this channel."})
    );
    assert_eq!(out.structured["next_cursor"], "dGVhbTpDMDYxRkE1UEI=");
    assert!(out.text.contains("next_cursor"), "{}", out.text);
}

#[tokio::test]
async fn list_channels_defaults() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "conversations.list")
            .and(query_param("types", "public_channel"))
            .and(query_param("limit", "100"))
            .and(query_param_is_missing("cursor")),
        json("conversations_list"),
    )
    .await;
    s.ok("list_channels", json!({})).await;
}

#[tokio::test]
async fn get_channel_history_with_a_window() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "conversations.history")
            .and(query_param("channel", "C123ABC456"))
            .and(query_param("limit", "2"))
            .and(query_param("oldest", "1512085950.000000"))
            .and(query_param("inclusive", "true")),
        json("conversations_history"),
    )
    .await;
    let out = s
        .ok(
            "get_channel_history",
            json!({"channel": "C123ABC456", "limit": 2, "oldest": "1512085950.000000", "inclusive": true}),
        )
        .await;
    assert_eq!(out.structured["has_more"], true);
    assert_eq!(
        out.structured["next_cursor"],
        "bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz"
    );
    let first = &out.structured["messages"][0];
    assert_eq!(first["ts"], "1512085950.000216");
    assert_eq!(first["reply_count"], 2);
    assert_eq!(
        first["reactions"],
        json!([{"name": "thumbsup", "count": 1}])
    );
}

#[tokio::test]
async fn get_thread_replies_by_parent_ts() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "conversations.replies")
            .and(query_param("channel", "C123ABC456"))
            .and(query_param("ts", "1482960137.003543"))
            .and(query_param("limit", "50")),
        json("conversations_replies"),
    )
    .await;
    let out = s
        .ok(
            "get_thread_replies",
            json!({"channel": "C123ABC456", "thread_ts": "1482960137.003543"}),
        )
        .await;
    assert_eq!(out.structured["messages"].as_array().unwrap().len(), 3);
    assert_eq!(out.structured["messages"][2]["text"], "two island");
}

#[tokio::test]
async fn post_message_sends_json() {
    let s = TestSlack::start().await;
    s.expect(
        slack("POST", "chat.postMessage")
            .and(wiremock::matchers::header(
                "content-type",
                "application/json; charset=utf-8",
            ))
            .and(body_json(
                json!({"channel": "C123ABC456", "text": "Here's a message for you"}),
            )),
        json("chat_post_message"),
    )
    .await;
    let out = s
        .ok(
            "post_message",
            json!({"channel": "C123ABC456", "text": "Here's a message for you"}),
        )
        .await;
    assert_eq!(out.structured["ts"], "1503435956.000247");
    assert_eq!(out.structured["channel"], "C123ABC456");
    assert_eq!(
        out.structured["message"]["text"],
        "Here's a message for you"
    );
}

#[tokio::test]
async fn reply_to_thread_sets_thread_ts() {
    let s = TestSlack::start().await;
    s.expect(
        slack("POST", "chat.postMessage").and(body_json(json!({
            "channel": "C123ABC456", "thread_ts": "1503435956.000247",
            "text": "Replying in the thread", "reply_broadcast": true}))),
        json("chat_post_reply"),
    )
    .await;
    let out = s
        .ok(
            "reply_to_thread",
            json!({"channel": "C123ABC456", "thread_ts": "1503435956.000247",
                "text": "Replying in the thread", "reply_broadcast": true}),
        )
        .await;
    assert_eq!(out.structured["message"]["thread_ts"], "1503435956.000247");
}

#[tokio::test]
async fn add_reaction_strips_colons() {
    let s = TestSlack::start().await;
    s.expect(
        slack("POST", "reactions.add").and(body_json(json!({
            "channel": "C123ABC456", "timestamp": "1503435956.000247", "name": "thumbsup"}))),
        json("reactions_add"),
    )
    .await;
    let out = s
        .ok(
            "add_reaction",
            json!({"channel": "C123ABC456", "timestamp": "1503435956.000247", "name": ":thumbsup:"}),
        )
        .await;
    assert_eq!(out.structured["added"], true);
}

#[tokio::test]
async fn schedule_message_reads_post_at_as_a_number() {
    let s = TestSlack::start().await;
    s.expect(
        slack("POST", "chat.scheduleMessage").and(body_json(json!({
            "channel": "C123ABC456", "text": "Here's a message for you in the future",
            "post_at": 1562180400}))),
        json("chat_schedule_message"),
    )
    .await;
    let out = s
        .ok(
            "schedule_message",
            json!({"channel": "C123ABC456", "text": "Here's a message for you in the future", "post_at": 1562180400}),
        )
        .await;
    assert_eq!(
        out.structured,
        json!({"scheduled_message_id": "Q1298393284", "channel": "C123ABC456", "post_at": 1562180400})
    );
}

#[tokio::test]
async fn list_users_and_a_profile() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "users.list")
            .and(query_param("limit", "2"))
            .and(query_param("cursor", "abc")),
        json("users_list"),
    )
    .await;
    let out = s
        .ok("list_users", json!({"limit": 2, "cursor": "abc"}))
        .await;
    assert_eq!(out.structured["users"][0]["id"], "W012A3CDE");
    assert_eq!(out.structured["users"][0]["display_name"], "spengler");
    assert_eq!(out.structured["users"][1]["title"], "Glinda the Good");
    assert_eq!(out.structured["next_cursor"], "dXNlcjpVMEc5V0ZYTlo=");

    s.expect(
        slack("GET", "users.profile.get").and(query_param("user", "U0123ABC")),
        json("users_profile_get"),
    )
    .await;
    let out = s.ok("get_user_profile", json!({"user": "U0123ABC"})).await;
    assert_eq!(out.structured["user"], "U0123ABC");
    assert_eq!(out.structured["real_name"], "John Smith");
    assert_eq!(out.structured["status_emoji"], ":cat:");
    assert_eq!(out.text, "Profile of John Smith");
}

#[tokio::test]
async fn search_messages_pages_by_number() {
    let s = TestSlack::start().await;
    s.expect(
        slack("GET", "search.messages")
            .and(query_param("query", "meaning of life in:#general"))
            .and(query_param("count", "20"))
            .and(query_param("page", "1"))
            .and(query_param("sort", "timestamp"))
            .and(query_param("sort_dir", "asc")),
        json("search_messages"),
    )
    .await;
    let out = s
        .ok(
            "search_messages",
            json!({"query": "meaning of life in:#general", "page": 1, "sort": "timestamp", "sort_dir": "asc"}),
        )
        .await;
    assert_eq!(out.structured["total"], 2);
    assert_eq!(out.structured["pages"], 1);
    assert_eq!(
        out.structured["matches"][0]["channel"],
        json!({"id": "C12345678", "name": "general"})
    );
    assert_eq!(
        out.structured["matches"][0]["permalink"],
        "https://hitchhikers.slack.com/archives/C12345678/p1508284197000015"
    );
}
