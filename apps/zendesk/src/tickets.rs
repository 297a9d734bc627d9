//! Ticket tools: search, get, create, update.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api::{Api, Query};
use crate::compact;
use crate::s;
use crate::schema::{array, integer, object, str_enum, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<SearchTickets>(
            "search_tickets",
            "Search tickets",
            "Search tickets with Zendesk's search syntax: words plus `field:value` terms, \
             e.g. `printer fire`, `requester:jane@acme.com`, `assignee:me`, `tags:vip`, \
             `priority:urgent`, `created>2024-01-31`, `updated<1hour`. `type:ticket` is \
             added. Pages with `page`/`per_page` (Zendesk returns at most 1,000 results \
             in all); `next_page` is set when more follow.",
            ToolAnnotations::READ,
            object(
                &["count", "page", "tickets"],
                json!({
                    "count": {"type": "integer", "description": "Matches in all"},
                    "page": integer(),
                    "next_page": integer(),
                    "tickets": array(compact::ticket_schema()),
                }),
            ),
        ),
        tool::<TicketRef>(
            "get_ticket",
            "Get a ticket",
            "Get one ticket: subject, description (its first comment), status, priority, \
             type, requester, assignee, group, tags, custom field values and a link to it. \
             The conversation itself is in list_ticket_comments.",
            ToolAnnotations::READ,
            compact::ticket_schema(),
        ),
        tool::<CreateTicket>(
            "create_ticket",
            "Create a ticket",
            "Open a new ticket. `description` becomes its first comment. The requester is \
             `requester_id` of an existing user, or `requester_email` (+ \
             `requester_name`), which Zendesk matches to a user or creates; without \
             either, the connected agent is the requester.",
            ToolAnnotations::CREATE,
            compact::ticket_schema(),
        ),
        tool::<UpdateTicket>(
            "update_ticket",
            "Update a ticket",
            "Change a ticket's subject, status, priority, type, assignee, group, tags or due \
             date. Only the given fields change; `tags` replaces the current list. To reply \
             or add a note, use add_ticket_comment.",
            ToolAnnotations::UPDATE,
            compact::ticket_schema(),
        ),
    ]
}

str_enum!(
    /// Ticket status.
    TicketStatus { New = "new", Open = "open", Pending = "pending", Hold = "hold", Solved = "solved", Closed = "closed" }
);

str_enum!(
    /// New status (`closed` is Zendesk's to set, after `solved`).
    NewStatus { New = "new", Open = "open", Pending = "pending", Hold = "hold", Solved = "solved" }
);

str_enum!(
    /// Ticket priority.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

str_enum!(
    /// Ticket type (`task` tickets may have a `due_at`).
    TicketType { Problem = "problem", Incident = "incident", Question = "question", Task = "task" }
);

str_enum!(
    /// Sort field (default: relevance).
    TicketSort {
        CreatedAt = "created_at",
        UpdatedAt = "updated_at",
        Priority = "priority",
        Status = "status",
        TicketType = "ticket_type",
    }
);

str_enum!(
    /// Sort direction (default: desc).
    SortOrder { Asc = "asc", Desc = "desc" }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchTickets {
    /// Search terms in Zendesk's search syntax.
    #[schemars(length(min = 1, max = 1000))]
    query: String,
    /// Only tickets with this status.
    status: Option<TicketStatus>,
    sort_by: Option<TicketSort>,
    sort_order: Option<SortOrder>,
    /// Page number, from 1.
    #[schemars(range(min = 1, max = 1000))]
    page: Option<u32>,
    /// Results per page (1-100, default 25).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn search_tickets(
    api: &Api<'_>,
    a: SearchTickets,
) -> Result<ToolOutput, AppError> {
    let terms = a.query.trim();
    if terms.is_empty() {
        return Err(AppError::InvalidArguments("`query` is empty".into()));
    }
    let mut q = if terms.to_ascii_lowercase().contains("type:ticket") {
        terms.to_string()
    } else {
        format!("type:ticket {terms}")
    };
    if let Some(status) = a.status {
        q.push_str(&format!(" status:{status}"));
    }
    let page = a.page.unwrap_or(1).max(1);
    let query = Query::new()
        .set("query", &q)
        .opt("sort_by", a.sort_by)
        .opt("sort_order", a.sort_order)
        .set("page", page)
        .set("per_page", a.per_page.unwrap_or(25).clamp(1, 100));
    let found = api.get(&["search.json"], &query).await?;
    let tickets: Vec<Value> = found["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["result_type"].as_str().is_none_or(|t| t == "ticket"))
        .map(|t| compact::ticket(api, t, false))
        .collect();
    let count = found["count"].as_u64().unwrap_or(tickets.len() as u64);
    let mut text = format!(
        "{count} tickets match `{q}`; {} on page {page}",
        tickets.len()
    );
    for t in tickets.iter().take(5) {
        text.push_str(&format!(
            "\n- #{} [{}] {}",
            t["id"],
            s(&t["status"]),
            s(&t["subject"])
        ));
    }
    let mut structured = json!({"count": count, "page": page, "tickets": tickets});
    if !found["next_page"].is_null() {
        structured["next_page"] = json!(page + 1);
    }
    Ok(ToolOutput::new(structured, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketRef {
    /// Ticket number.
    #[schemars(range(min = 1))]
    ticket_id: u64,
}

pub(crate) async fn get_ticket(api: &Api<'_>, a: TicketRef) -> Result<ToolOutput, AppError> {
    let found = api
        .get(&["tickets", &json_id(a.ticket_id)], &Query::new())
        .await?;
    let ticket = compact::ticket(api, &found["ticket"], true);
    let text = summary(&ticket);
    Ok(ToolOutput::new(ticket, text))
}

/// "#35436 [open, high] Help, my printer is on fire!".
fn summary(ticket: &Value) -> String {
    let state = [s(&ticket["status"]), s(&ticket["priority"])]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    format!("#{} [{state}] {}", ticket["id"], s(&ticket["subject"]))
}

/// `{id}.json`, the last path segment Zendesk expects.
pub(crate) fn json_id(id: u64) -> String {
    format!("{id}.json")
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTicket {
    /// Short summary of the request.
    #[schemars(length(min = 1, max = 500))]
    subject: String,
    /// The first comment: the request in full.
    #[serde(skip_serializing)]
    #[schemars(length(min = 1))]
    description: String,
    /// Whether that first comment is public (default true); false makes it an internal note.
    #[serde(skip_serializing)]
    public: Option<bool>,
    /// Id of an existing user who asks (see search_users).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    requester_id: Option<u64>,
    /// Email of who asks; Zendesk finds or creates that user.
    #[serde(skip_serializing)]
    requester_email: Option<String>,
    /// Name for a requester created from `requester_email`.
    #[serde(skip_serializing)]
    requester_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<Priority>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ticket_type: Option<TicketType>,
    /// Initial status (default: new, or open when assigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<NewStatus>,
    /// Agent to assign (see search_users).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    assignee_id: Option<u64>,
    /// Group to assign.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    group_id: Option<u64>,
    /// Tags to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    /// Due date of a `task` ticket, ISO 8601, e.g. `2024-05-31T17:00:00Z`.
    #[serde(skip_serializing_if = "Option::is_none")]
    due_at: Option<String>,
    /// Your own reference for the ticket (e.g. an order number).
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
}

pub(crate) async fn create_ticket(api: &Api<'_>, a: CreateTicket) -> Result<ToolOutput, AppError> {
    let mut ticket = fields(&a)?;
    ticket.insert(
        "comment".into(),
        json!({"body": a.description, "public": a.public.unwrap_or(true)}),
    );
    match (&a.requester_id, &a.requester_email, &a.requester_name) {
        (Some(_), Some(_), _) => {
            return Err(AppError::InvalidArguments(
                "give `requester_id` or `requester_email`, not both".into(),
            ));
        }
        (_, None, Some(_)) => {
            return Err(AppError::InvalidArguments(
                "`requester_name` needs `requester_email`".into(),
            ));
        }
        (_, Some(email), name) => {
            if !email.contains('@') {
                return Err(AppError::InvalidArguments(format!(
                    "`requester_email` is not an email address: {email:?}"
                )));
            }
            let mut requester = json!({"email": email.trim()});
            if let Some(name) = name {
                requester["name"] = json!(name);
            }
            ticket.insert("requester".into(), requester);
        }
        _ => {}
    }
    let created = api
        .post(&["tickets.json"], &json!({ "ticket": ticket }))
        .await?;
    let ticket = compact::ticket(api, &created["ticket"], true);
    let text = format!("Created {}: {}", summary(&ticket), s(&ticket["url"]));
    Ok(ToolOutput::new(ticket, text))
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTicket {
    /// Ticket number.
    #[serde(skip_serializing)]
    #[schemars(range(min = 1))]
    ticket_id: u64,
    /// New subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<NewStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<Priority>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ticket_type: Option<TicketType>,
    /// Agent to assign (see search_users or get_me).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    assignee_id: Option<u64>,
    /// Group to assign.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    group_id: Option<u64>,
    /// The complete new list of tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    /// Due date of a `task` ticket, ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    due_at: Option<String>,
}

pub(crate) async fn update_ticket(api: &Api<'_>, a: UpdateTicket) -> Result<ToolOutput, AppError> {
    let changes = fields(&a)?;
    if changes.is_empty() {
        return Err(AppError::InvalidArguments(
            "nothing to update: give at least one of subject, status, priority, type, \
             assignee_id, group_id, tags, due_at"
                .into(),
        ));
    }
    let updated = api
        .put(
            &["tickets", &json_id(a.ticket_id)],
            &json!({ "ticket": changes }),
        )
        .await?;
    let ticket = compact::ticket(api, &updated["ticket"], true);
    let text = format!("Updated {}", summary(&ticket));
    Ok(ToolOutput::new(ticket, text))
}

/// The ticket fields an argument struct serializes to.
fn fields<T: Serialize>(args: &T) -> Result<Map<String, Value>, AppError> {
    match serde_json::to_value(args) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(AppError::InvalidArguments(e.to_string())),
    }
}
