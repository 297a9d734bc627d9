use serde_json::json;
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::helpers::{TestZendesk, json, zendesk};

#[tokio::test]
async fn list_ticket_comments_pages_by_cursor() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/tickets/35436/comments.json")
            .and(query_param("page[size]", "2"))
            .and(query_param("page[after]", "abc"))
            .and(query_param("sort_order", "desc")),
        json("comments"),
    )
    .await;

    let out = zd
        .ok(
            "list_ticket_comments",
            json!({"ticket_id": 35436, "page_size": 2, "after_cursor": "abc", "sort_order": "desc"}),
        )
        .await;

    assert_eq!(
        out.structured,
        json!({
            "ticket_id": 35436,
            "has_more": true,
            "after_cursor": "xxx",
            "comments": [
                {
                    "id": 1274,
                    "author_id": 123123,
                    "public": true,
                    "body": "Thanks for your help!",
                    "created_at": "2009-07-20T22:55:29Z",
                    "channel": "web",
                    "attachments": [{
                        "file_name": "crash.log",
                        "content_type": "text/plain",
                        "size": 2532,
                        "url": "https://company.zendesk.com/attachments/crash.log"
                    }]
                },
                {
                    "id": 1275,
                    "author_id": 235323,
                    "public": false,
                    "body": "Customer is on the enterprise plan; escalate if it happens again.",
                    "created_at": "2009-07-21T09:12:03Z",
                    "channel": "web"
                }
            ]
        })
    );
    assert!(
        out.text
            .contains("note by 235323: Customer is on the enterprise plan"),
        "{}",
        out.text
    );
    assert!(
        out.text
            .ends_with("More comments follow: pass after_cursor"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn list_ticket_comments_defaults() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/tickets/7/comments.json")
            .and(query_param("page[size]", "25"))
            .and(query_param_is_missing("page[after]"))
            .and(query_param_is_missing("sort_order")),
        json("comments"),
    )
    .await;

    zd.ok("list_ticket_comments", json!({"ticket_id": 7})).await;
}

#[tokio::test]
async fn add_ticket_comment_as_a_public_reply_that_sets_pending() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("PUT", "/api/v2/tickets/35436.json").and(body_json(json!({"ticket": {
            "comment": {"body": "Thanks for choosing Acme Jet Motors.", "public": true},
            "status": "pending"
        }}))),
        json("comment_added"),
    )
    .await;

    let out = zd
        .ok(
            "add_ticket_comment",
            json!({"ticket_id": 35436, "body": "Thanks for choosing Acme Jet Motors.",
                   "public": true, "status": "pending"}),
        )
        .await;

    assert_eq!(
        out.structured,
        json!({
            "ticket_id": 35436,
            "status": "pending",
            "public": true,
            "comment_id": 1274,
            "author_id": 235323,
            "body": "Thanks for choosing Acme Jet Motors."
        })
    );
    assert_eq!(
        out.text,
        "Added a public reply to ticket #35436 (now pending)"
    );
}

#[tokio::test]
async fn add_ticket_comment_as_an_internal_html_note() {
    let zd = TestZendesk::start().await;
    let mut answer = crate::helpers::fixture("comment_added");
    answer["audit"]["events"][0]["public"] = json!(false);
    zd.expect(
        zendesk("PUT", "/api/v2/tickets/35436.json").and(body_json(json!({"ticket": {
            "comment": {"html_body": "<p>Refund <b>approved</b></p>", "public": false}
        }}))),
        wiremock::ResponseTemplate::new(200).set_body_json(answer),
    )
    .await;

    let out = zd
        .ok(
            "add_ticket_comment",
            json!({"ticket_id": 35436, "body": "<p>Refund <b>approved</b></p>", "public": false, "html": true}),
        )
        .await;

    assert_eq!(out.structured["public"], false);
    assert_eq!(
        out.text,
        "Added an internal note to ticket #35436 (now pending)"
    );
}
