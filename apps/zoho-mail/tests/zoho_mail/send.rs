use serde_json::json;
use wiremock::matchers::body_json;

use crate::helpers::{ACCOUNT, TestZoho, json, zoho};

#[tokio::test]
async fn send_message_with_account_and_sender_given_makes_one_request() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("POST", &format!("/api/accounts/{ACCOUNT}/messages"))
            .and(wiremock::matchers::header(
                "content-type",
                "application/json",
            ))
            .and(body_json(json!({
                "fromAddress": "rebecca@zylker.com",
                "toAddress": "paula@zylker.com,david@zylker.com",
                "ccAddress": "legal@zylker.com",
                "subject": "Email - Always and Forever",
                "content": "Email can never be dead.",
                "mailFormat": "plaintext"
            }))),
        json("sent"),
    )
    .await;

    let out = zm
        .ok(
            "send_message",
            json!({"account_id": ACCOUNT, "from_address": "rebecca@zylker.com",
                   "to": ["paula@zylker.com", "david@zylker.com"], "cc": ["legal@zylker.com"],
                   "subject": "Email - Always and Forever", "content": "Email can never be dead."}),
        )
        .await;

    assert_eq!(
        out.structured,
        json!({
            "account_id": ACCOUNT,
            "message_id": "1709880542371100001",
            "mail_id": "<18e1b5d8c21.c9a1b2e5123.4387293759302394@zylker.com>",
            "from": "rebecca@zylker.com",
            "to": "paula@zylker.com,david@zylker.com",
            "cc": "legal@zylker.com",
            "subject": "Email - Always and Forever"
        })
    );
    assert_eq!(
        out.text,
        "Sent: \"Email - Always and Forever\" from rebecca@zylker.com to paula@zylker.com,david@zylker.com (message 1709880542371100001)"
    );
}

#[tokio::test]
async fn send_message_finds_the_primary_account_and_its_address() {
    let zm = TestZoho::start().await;
    zm.expect_account_lookup().await;
    zm.expect(
        zoho("POST", &format!("/api/accounts/{ACCOUNT}/messages")).and(body_json(json!({
            "fromAddress": "rebecca@zylker.com",
            "toAddress": "paula@zylker.com",
            "bccAddress": "archive@zylker.com",
            "subject": "Hi",
            "content": "<p>Hello</p>",
            "mailFormat": "html"
        }))),
        json("sent"),
    )
    .await;

    zm.ok(
        "send_message",
        json!({"to": ["paula@zylker.com"], "bcc": ["archive@zylker.com"], "subject": "Hi",
               "content": "<p>Hello</p>", "format": "html"}),
    )
    .await;
}

#[tokio::test]
async fn an_account_id_that_is_not_the_users_is_not_found_before_sending() {
    let zm = TestZoho::start().await;
    zm.expect_account_lookup().await;

    let err = zm
        .call(
            "send_message",
            json!({"account_id": "123", "to": ["paula@zylker.com"], "subject": "Hi", "content": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert!(
        err.to_string().contains("no Zoho Mail account 123"),
        "{err}"
    );
}

#[tokio::test]
async fn reply_to_message_posts_the_reply_action_to_the_message() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho(
            "POST",
            &format!("/api/accounts/{ACCOUNT}/messages/1709876190693100009"),
        )
        .and(body_json(json!({
            "fromAddress": "rebecca@zylker.com",
            "toAddress": "paula@zylker.com",
            "action": "reply",
            "content": "Thanks, received.",
            "mailFormat": "plaintext"
        }))),
        json("replied"),
    )
    .await;

    let out = zm
        .ok(
            "reply_to_message",
            json!({"account_id": ACCOUNT, "message_id": "1709876190693100009",
                   "from_address": "rebecca@zylker.com", "to": ["paula@zylker.com"],
                   "content": "Thanks, received."}),
        )
        .await;

    assert_eq!(out.structured["message_id"], "1709880699813100003");
    assert_eq!(out.structured["to"], "paula@zylker.com");
    assert_eq!(
        out.text,
        "Replied to message 1709876190693100009: from rebecca@zylker.com to paula@zylker.com (message 1709880699813100003)"
    );
}

#[tokio::test]
async fn mark_read_and_unread() {
    let zm = TestZoho::start().await;
    let route = format!("/api/accounts/{ACCOUNT}/updatemessage");
    zm.expect(
        zoho("PUT", &route).and(body_json(json!({
            "mode": "markAsRead",
            "messageId": [1709876190693100009_u64, 1709876188821100007_u64]
        }))),
        json("updated"),
    )
    .await;
    zm.expect(
        zoho("PUT", &route).and(body_json(json!({
            "mode": "markAsUnread",
            "messageId": [1709876190693100009_u64]
        }))),
        json("updated"),
    )
    .await;

    let read = zm
        .ok(
            "mark_read",
            json!({"account_id": ACCOUNT, "message_ids": ["1709876190693100009", "1709876188821100007"]}),
        )
        .await;
    assert_eq!(
        read.structured,
        json!({"account_id": ACCOUNT, "message_ids": ["1709876190693100009", "1709876188821100007"], "read": true})
    );
    assert_eq!(read.text, "Marked 2 message(s) read");

    let unread = zm
        .ok(
            "mark_read",
            json!({"account_id": ACCOUNT, "message_ids": ["1709876190693100009"], "read": false}),
        )
        .await;
    assert_eq!(unread.text, "Marked 1 message(s) unread");
}

#[tokio::test]
async fn move_message_to_another_folder() {
    let zm = TestZoho::start().await;
    zm.expect_account_lookup().await;
    zm.expect(
        zoho("PUT", &format!("/api/accounts/{ACCOUNT}/updatemessage")).and(body_json(json!({
            "mode": "moveMessage",
            "messageId": [1709876190693100009_u64],
            "destfolderId": 2560636000000009001_u64
        }))),
        json("updated"),
    )
    .await;

    let out = zm
        .ok(
            "move_message",
            json!({"message_ids": ["1709876190693100009"], "destination_folder_id": "2560636000000009001"}),
        )
        .await;
    assert_eq!(
        out.structured,
        json!({"account_id": ACCOUNT, "message_ids": ["1709876190693100009"],
               "destination_folder_id": "2560636000000009001"})
    );
    assert_eq!(out.text, "Moved 1 message(s) to folder 2560636000000009001");
}
