use serde_json::json;
use wiremock::matchers::{query_param, query_param_is_missing};

use crate::helpers::{ACCOUNT, TestZoho, json, zoho};

const INBOX: &str = "2560636000000008014";

#[tokio::test]
async fn list_messages_sends_the_filters_and_pages() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("GET", &format!("/api/accounts/{ACCOUNT}/messages/view"))
            .and(query_param("folderId", INBOX))
            .and(query_param("status", "unread"))
            .and(query_param("sortBy", "date"))
            .and(query_param("sortorder", "false"))
            .and(query_param("start", "11"))
            .and(query_param("limit", "2"))
            .and(query_param("includeto", "true")),
        json("messages_view"),
    )
    .await;

    let out = zm
        .ok(
            "list_messages",
            json!({"account_id": ACCOUNT, "folder_id": INBOX, "status": "unread",
                   "sort_by": "date", "ascending": false, "start": 11, "limit": 2}),
        )
        .await;

    let messages = out.structured["messages"].as_array().unwrap();
    assert_eq!(
        messages[0],
        json!({
            "message_id": "1709876190693100009",
            "folder_id": INBOX,
            "thread_id": "1709876188821100007",
            "subject": "Test",
            "summary": "Hello Sent using Zoho Mail",
            "from": "paula@zylker.com",
            "sender": "paula",
            "to": "\"Rebecca\"<rebecca@zylker.com>",
            "received_at": "2024-03-08T05:36:30Z",
            "sent_at": "2024-03-08T00:06:30Z",
            "unread": true,
            "has_attachment": false,
            "flag": "info",
            "priority": 3
        })
    );
    assert_eq!(messages[1]["cc"], "<legal@zylker.com>");
    assert_eq!(messages[1]["has_attachment"], true);
    assert_eq!(messages[1]["unread"], false);
    assert_eq!(out.structured["start"], 11);
    // A full page: more may follow.
    assert_eq!(out.structured["next_start"], 13);
    assert!(
        out.text
            .starts_with(&format!("2 messages from folder {INBOX}")),
        "{}",
        out.text
    );
    assert!(
        out.text.ends_with("More may follow: start=13"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn list_messages_defaults_to_the_first_ten_of_the_primary_account() {
    let zm = TestZoho::start().await;
    zm.expect_account_lookup().await;
    zm.expect(
        zoho("GET", &format!("/api/accounts/{ACCOUNT}/messages/view"))
            .and(query_param("start", "1"))
            .and(query_param("limit", "10"))
            .and(query_param_is_missing("folderId"))
            .and(query_param_is_missing("status")),
        json("messages_view"),
    )
    .await;

    let out = zm.ok("list_messages", json!({})).await;
    assert_eq!(out.structured["account_id"], ACCOUNT);
    // Two of at most ten: this was the last page.
    assert!(out.structured.get("next_start").is_none());
}

#[tokio::test]
async fn search_messages_passes_the_search_key() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("GET", &format!("/api/accounts/{ACCOUNT}/messages/search"))
            .and(query_param(
                "searchKey",
                "subject:Marketing::sender:mysender@otherzoho.com",
            ))
            .and(query_param("start", "1"))
            .and(query_param("limit", "25"))
            .and(query_param("includeto", "true")),
        json("messages_search"),
    )
    .await;

    let out = zm
        .ok(
            "search_messages",
            json!({"account_id": ACCOUNT, "query": " subject:Marketing::sender:mysender@otherzoho.com ", "limit": 25}),
        )
        .await;

    let messages = out.structured["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0],
        json!({
            "message_id": "9000000019029",
            "folder_id": "9000000000905",
            "thread_id": "1",
            "subject": "Marketing Strategy",
            "summary": "It is extremely important for us to focus on",
            "from": "mysender@otherzoho.com",
            "sender": "Maria Daniel",
            "received_at": "2015-03-03T13:12:53Z",
            "sent_at": "2010-04-02T01:32:56Z",
            "unread": false,
            "has_attachment": false,
            "flag": "2",
            "priority": 3
        })
    );
    assert_eq!(messages[1]["unread"], true);
    assert!(out.text.contains("Marketing Strategy - Q3"), "{}", out.text);
}

#[tokio::test]
async fn get_message_reads_headers_and_content_together() {
    let zm = TestZoho::start().await;
    let base =
        format!("/api/accounts/{ACCOUNT}/folders/9000000002014/messages/1709876190693100009");
    zm.expect(
        zoho("GET", &format!("{base}/details")),
        json("message_details"),
    )
    .await;
    zm.expect(
        zoho("GET", &format!("{base}/content")),
        json("message_content"),
    )
    .await;

    let out = zm
        .ok(
            "get_message",
            json!({"account_id": ACCOUNT, "folder_id": "9000000002014", "message_id": "1709876190693100009"}),
        )
        .await;

    let content = "<div style=\"font-family: Verdana, Arial, Helvetica, sans-serif; font-size: 10pt;\"><div>Hello<br></div><div><br></div><div>Sent using Zoho Mail<br></div></div>";
    assert_eq!(
        out.structured,
        json!({
            "account_id": ACCOUNT,
            "message_id": "1709876190693100009",
            "folder_id": "9000000002014",
            "subject": "Test",
            "summary": "Hello Sent using Zoho Mail",
            "from": "rebecca@zylker.com",
            "sender": "paula",
            "to": "\"autocview_adminuser\"<autocview_adminuser@zmaillb.com>",
            "received_at": "2024-03-08T05:36:30Z",
            "sent_at": "2024-03-08T00:06:30Z",
            "unread": false,
            "has_attachment": false,
            "flag": "info",
            "priority": 3,
            "content": content
        })
    );
    assert_eq!(
        out.text,
        format!(
            "From: rebecca@zylker.com\nTo: \"autocview_adminuser\"<autocview_adminuser@zmaillb.com>\nSubject: Test\nDate: 2024-03-08T05:36:30Z\n\n{content}"
        )
    );
}
