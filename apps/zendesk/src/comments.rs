//! A ticket's conversation: list its comments, add a public reply or an internal note.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, Query};
use crate::compact::{self, list, obj};
use crate::s;
use crate::schema::{array, boolean, integer, object, string, tool};
use crate::tickets::{NewStatus, SortOrder, json_id};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<ListTicketComments>(
            "list_ticket_comments",
            "List ticket comments",
            "List a ticket's conversation, oldest first: public replies and internal notes \
             (`public: false`), with author ids, plain-text bodies and attachments. Pages \
             by cursor: pass `after_cursor` from the previous page while `has_more` is true.",
            ToolAnnotations::READ,
            object(
                &["ticket_id", "comments", "has_more"],
                json!({
                    "ticket_id": integer(),
                    "comments": array(compact::comment_schema()),
                    "has_more": boolean(),
                    "after_cursor": string(),
                }),
            ),
        ),
        tool::<AddTicketComment>(
            "add_ticket_comment",
            "Comment on a ticket",
            "Add a comment to a ticket as the connected agent: a public reply (`public: \
             true`, emailed to the requester and CCs) or an internal note only agents see \
             (`public: false`). Optionally set the ticket's status in the same change, e.g. \
             `pending` after asking the requester something, `solved` with the answer.",
            ToolAnnotations::CREATE,
            object(
                &["ticket_id", "public"],
                json!({
                    "ticket_id": integer(),
                    "status": string(),
                    "public": boolean(),
                    "comment_id": integer(),
                    "author_id": integer(),
                    "body": string(),
                }),
            ),
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListTicketComments {
    /// Ticket number.
    #[schemars(range(min = 1))]
    ticket_id: u64,
    /// `desc` for newest first (default: asc).
    sort_order: Option<SortOrder>,
    /// Comments per page (1-100, default 25).
    #[schemars(range(min = 1, max = 100))]
    page_size: Option<u32>,
    /// `after_cursor` of the previous page.
    #[schemars(length(min = 1, max = 500))]
    after_cursor: Option<String>,
}

pub(crate) async fn list_ticket_comments(
    api: &Api<'_>,
    a: ListTicketComments,
) -> Result<ToolOutput, AppError> {
    let query = Query::new()
        .set("page[size]", a.page_size.unwrap_or(25).clamp(1, 100))
        .opt("page[after]", a.after_cursor.as_ref())
        .opt("sort_order", a.sort_order);
    let page = api
        .get(
            &["tickets", &a.ticket_id.to_string(), "comments.json"],
            &query,
        )
        .await?;
    let comments = list(&page["comments"], compact::comment);
    let has_more = page["meta"]["has_more"].as_bool().unwrap_or(false);
    let mut text = format!("{} comments on ticket #{}", comments.len(), a.ticket_id);
    for c in comments.iter().take(5) {
        let kind = if c["public"] == false {
            "note"
        } else {
            "reply"
        };
        let body: String = s(&c["body"]).chars().take(120).collect();
        text.push_str(&format!(
            "\n- {} {kind} by {}: {}",
            s(&c["created_at"]),
            c["author_id"],
            body.replace('\n', " ")
        ));
    }
    if has_more {
        text.push_str("\nMore comments follow: pass after_cursor");
    }
    let mut structured = json!({
        "ticket_id": a.ticket_id,
        "comments": comments,
        "has_more": has_more,
    });
    if has_more && let Some(cursor) = page["meta"]["after_cursor"].as_str() {
        structured["after_cursor"] = json!(cursor);
    }
    Ok(ToolOutput::new(structured, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddTicketComment {
    /// Ticket number.
    #[schemars(range(min = 1))]
    ticket_id: u64,
    /// The comment text.
    #[schemars(length(min = 1, max = 65536))]
    body: String,
    /// true: a public reply the requester receives; false: an internal note.
    public: bool,
    /// `body` is HTML (sent as `html_body`) rather than plain text.
    html: Option<bool>,
    /// Set the ticket's status in the same change.
    status: Option<NewStatus>,
}

pub(crate) async fn add_ticket_comment(
    api: &Api<'_>,
    a: AddTicketComment,
) -> Result<ToolOutput, AppError> {
    if a.body.trim().is_empty() {
        return Err(AppError::InvalidArguments("`body` is empty".into()));
    }
    let body_field = if a.html.unwrap_or(false) {
        "html_body"
    } else {
        "body"
    };
    let mut ticket = json!({"comment": {body_field: a.body, "public": a.public}});
    if let Some(status) = a.status {
        ticket["status"] = json!(status);
    }
    let updated = api
        .put(
            &["tickets", &json_id(a.ticket_id)],
            &json!({ "ticket": ticket }),
        )
        .await?;
    // The new comment is the `Comment` event of the update's audit.
    let event = updated["audit"]["events"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["type"] == "Comment"))
        .cloned()
        .unwrap_or(Value::Null);
    let public = event["public"].as_bool().unwrap_or(a.public);
    let structured = obj([
        ("ticket_id", json!(a.ticket_id)),
        ("status", updated["ticket"]["status"].clone()),
        ("public", json!(public)),
        ("comment_id", event["id"].clone()),
        ("author_id", event["author_id"].clone()),
        ("body", event["body"].clone()),
    ]);
    let kind = if public {
        "a public reply"
    } else {
        "an internal note"
    };
    let text = match s(&structured["status"]) {
        "" => format!("Added {kind} to ticket #{}", a.ticket_id),
        status => format!("Added {kind} to ticket #{} (now {status})", a.ticket_id),
    };
    Ok(ToolOutput::new(structured, text))
}
