use serde_json::json;
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::helpers::{TestZendesk, json, json_status, zendesk};

#[tokio::test]
async fn search_tickets_adds_type_and_status_and_pages() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/search.json")
            .and(query_param(
                "query",
                "type:ticket printer requester:jane@acme.com status:open",
            ))
            .and(query_param("sort_by", "updated_at"))
            .and(query_param("sort_order", "desc"))
            .and(query_param("page", "2"))
            .and(query_param("per_page", "2")),
        json("search_tickets"),
    )
    .await;

    let out = zd
        .ok(
            "search_tickets",
            json!({"query": "printer requester:jane@acme.com", "status": "open",
                   "sort_by": "updated_at", "sort_order": "desc", "page": 2, "per_page": 2}),
        )
        .await;

    let base = zd.server.uri();
    assert_eq!(out.structured["count"], 1234);
    assert_eq!(out.structured["page"], 2);
    assert_eq!(out.structured["next_page"], 3);
    let tickets = out.structured["tickets"].as_array().unwrap();
    assert_eq!(
        tickets[0],
        json!({
            "id": 35436,
            "subject": "Help, my printer is on fire!",
            "status": "open",
            "priority": "high",
            "type": "incident",
            "requester_id": 20978392,
            "submitter_id": 76872,
            "assignee_id": 235323,
            "group_id": 98738,
            "organization_id": 509974,
            "tags": ["enterprise", "other_tag"],
            "channel": "web",
            "created_at": "2009-07-20T22:55:29Z",
            "updated_at": "2011-05-05T10:38:52Z",
            "url": format!("{base}/agent/tickets/35436")
        })
    );
    // Nulls and empty lists are left out.
    assert_eq!(
        tickets[1],
        json!({
            "id": 35440, "subject": "Printer jam", "status": "open", "requester_id": 20978400,
            "submitter_id": 20978400, "channel": "email", "created_at": "2011-05-06T08:01:12Z",
            "updated_at": "2011-05-06T08:01:12Z", "url": format!("{base}/agent/tickets/35440")
        })
    );
    assert!(
        out.text.starts_with("1234 tickets match `type:ticket printer requester:jane@acme.com status:open`; 2 on page 2"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn search_tickets_keeps_a_query_that_already_says_type_ticket() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("GET", "/api/v2/search.json")
            .and(query_param("query", "type:ticket tags:vip"))
            .and(query_param("page", "1"))
            .and(query_param("per_page", "25"))
            .and(query_param_is_missing("sort_by")),
        json("search_tickets"),
    )
    .await;

    zd.ok("search_tickets", json!({"query": "type:ticket tags:vip"}))
        .await;
}

#[tokio::test]
async fn get_ticket_includes_description_and_custom_fields() {
    let zd = TestZendesk::start().await;
    zd.expect(zendesk("GET", "/api/v2/tickets/35436.json"), json("ticket"))
        .await;

    let out = zd.ok("get_ticket", json!({"ticket_id": 35436})).await;

    assert_eq!(out.structured["description"], "The fire is very colorful.");
    assert_eq!(out.structured["external_id"], "ahg35h3jh");
    assert_eq!(out.structured["satisfaction"], "good");
    assert_eq!(
        out.structured["custom_fields"],
        json!([{"id": 27642, "value": "745"}, {"id": 27648, "value": "yes"}])
    );
    assert!(out.structured.get("due_at").is_none());
    assert_eq!(out.text, "#35436 [open, high] Help, my printer is on fire!");
}

#[tokio::test]
async fn create_ticket_with_a_requester_by_email() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("POST", "/api/v2/tickets.json")
            .and(wiremock::matchers::header(
                "content-type",
                "application/json",
            ))
            .and(body_json(json!({"ticket": {
                "subject": "My printer is on fire!",
                "comment": {"body": "The smoke is very colorful.", "public": true},
                "requester": {"email": "jane@acme.com", "name": "Jane Customer"},
                "priority": "urgent",
                "type": "incident",
                "tags": ["printer"]
            }}))),
        json_status(201, "ticket_created"),
    )
    .await;

    let out = zd
        .ok(
            "create_ticket",
            json!({"subject": "My printer is on fire!", "description": "The smoke is very colorful.",
                   "requester_email": "jane@acme.com", "requester_name": "Jane Customer",
                   "priority": "urgent", "type": "incident", "tags": ["printer"]}),
        )
        .await;

    assert_eq!(out.structured["id"], 35437);
    assert_eq!(out.structured["status"], "new");
    assert_eq!(out.structured["channel"], "api");
    assert_eq!(
        out.text,
        format!(
            "Created #35437 [new, urgent] My printer is on fire!: {}/agent/tickets/35437",
            zd.server.uri()
        )
    );
}

#[tokio::test]
async fn create_ticket_as_an_internal_note_for_a_known_requester() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("POST", "/api/v2/tickets.json").and(body_json(json!({"ticket": {
            "subject": "Follow up on invoice",
            "comment": {"body": "Call back on Monday.", "public": false},
            "requester_id": 20978392,
            "status": "open",
            "assignee_id": 235323,
            "group_id": 98738,
            "due_at": "2024-05-31T17:00:00Z",
            "external_id": "INV-1001"
        }}))),
        json_status(201, "ticket_created"),
    )
    .await;

    zd.ok(
        "create_ticket",
        json!({"subject": "Follow up on invoice", "description": "Call back on Monday.",
               "public": false, "requester_id": 20978392, "status": "open",
               "assignee_id": 235323, "group_id": 98738, "due_at": "2024-05-31T17:00:00Z",
               "external_id": "INV-1001"}),
    )
    .await;
}

#[tokio::test]
async fn update_ticket_puts_only_the_given_fields() {
    let zd = TestZendesk::start().await;
    zd.expect(
        zendesk("PUT", "/api/v2/tickets/35436.json").and(body_json(json!({"ticket": {
            "status": "pending",
            "priority": "urgent",
            "tags": ["enterprise", "escalated"]
        }}))),
        json("ticket_updated"),
    )
    .await;

    let out = zd
        .ok(
            "update_ticket",
            json!({"ticket_id": 35436, "status": "pending", "priority": "urgent",
                   "tags": ["enterprise", "escalated"]}),
        )
        .await;

    assert_eq!(out.structured["status"], "pending");
    assert_eq!(out.structured["tags"], json!(["enterprise", "escalated"]));
    assert_eq!(
        out.text,
        "Updated #35436 [pending, urgent] Help, my printer is on fire!"
    );

    let nothing = zd
        .call("update_ticket", json!({"ticket_id": 35436}))
        .await
        .unwrap_err();
    assert_eq!(nothing.code(), "invalid_arguments");
}
