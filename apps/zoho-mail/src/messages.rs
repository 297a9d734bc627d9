//! Reading mail: list a folder, search, read one message.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::account_id;
use crate::api::{Api, Query};
use crate::compact::{self, list};
use crate::ids::ZohoId;
use crate::s;
use crate::schema::{array, integer, object, str_enum, string, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<ListMessages>(
            "list_messages",
            "List messages",
            "List messages of a folder (or of the whole mailbox without `folder_id`), newest \
             first, with sender, recipients, subject, a short summary and read state. Pages \
             with `start` and `limit`; `next_start` is set when more may follow. Without \
             `account_id`, the primary account (one extra request to find it).",
            ToolAnnotations::READ,
            page_schema(),
        ),
        tool::<SearchMessages>(
            "search_messages",
            "Search messages",
            "Search the mailbox with Zoho Mail's search syntax: `parameter:value` terms \
             joined with `::` (all must match) or `::or:` (any), e.g. \
             `subject:invoice::sender:billing@acme.com`, `entire:\"quarterly report\"`, \
             `to:paula@zylker.com`, `has:attachment`; parameters include entire, content, \
             sender, to, cc, subject, fileName. `newMails` lists unread mail. Pages with \
             `start` and `limit`. Without `account_id`, the primary account (one extra \
             request to find it).",
            ToolAnnotations::READ,
            page_schema(),
        ),
        tool::<GetMessage>(
            "get_message",
            "Read a message",
            "Read one message: its headers (from, to, cc, subject, dates, read state) and its \
             content (HTML as Zoho stores it). Needs the `folder_id` and `message_id` from \
             list_messages or search_messages. Without `account_id`, the primary account \
             (one extra request to find it).",
            ToolAnnotations::READ,
            {
                let mut schema = compact::message_schema();
                schema["required"] = json!(["account_id", "message_id", "content"]);
                schema["properties"]["account_id"] = string();
                schema["properties"]["content"] = string();
                schema
            },
        ),
    ]
}

fn page_schema() -> Value {
    object(
        &["account_id", "messages", "start"],
        json!({
            "account_id": string(),
            "messages": array(compact::message_schema()),
            "start": integer(),
            "next_start": {"type": "integer", "description": "Pass as `start` for the next page"},
        }),
    )
}

str_enum!(
    /// Which messages by read state (default: all).
    ReadFilter { All = "all", Read = "read", Unread = "unread" }
);

str_enum!(
    /// Sort field (default: date).
    SortBy { Date = "date", MessageId = "messageId", Size = "size" }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListMessages {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// Folder id from list_folders, e.g. the Inbox's (default: all folders).
    folder_id: Option<ZohoId>,
    status: Option<ReadFilter>,
    sort_by: Option<SortBy>,
    /// Oldest first instead of newest first.
    ascending: Option<bool>,
    /// Position of the first message to return, from 1 (default 1).
    #[schemars(range(min = 1))]
    start: Option<u32>,
    /// How many messages to return (1-200, default 10).
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u32>,
}

pub(crate) async fn list_messages(api: &Api<'_>, a: ListMessages) -> Result<ToolOutput, AppError> {
    let account = account_id(api, a.account_id).await?;
    let start = a.start.unwrap_or(1).max(1);
    let limit = a.limit.unwrap_or(10).clamp(1, 200);
    let query = Query::new()
        .opt("folderId", a.folder_id)
        .opt("status", a.status)
        .opt("sortBy", a.sort_by)
        .opt("sortorder", a.ascending)
        .set("start", start)
        .set("limit", limit)
        .set("includeto", true);
    let data = api
        .get(
            &["accounts", &account.segment(), "messages", "view"],
            &query,
        )
        .await?;
    let where_ = match a.folder_id {
        Some(folder) => format!("folder {folder}"),
        None => "the mailbox".to_string(),
    };
    Ok(page(account, &data, start, limit, &where_))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchMessages {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// Zoho Mail search key, e.g. `subject:invoice::sender:billing@acme.com`.
    #[schemars(length(min = 1, max = 1000))]
    query: String,
    /// Position of the first message to return, from 1 (default 1).
    #[schemars(range(min = 1))]
    start: Option<u32>,
    /// How many messages to return (1-200, default 10).
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u32>,
}

pub(crate) async fn search_messages(
    api: &Api<'_>,
    a: SearchMessages,
) -> Result<ToolOutput, AppError> {
    if a.query.trim().is_empty() {
        return Err(AppError::InvalidArguments("`query` is empty".into()));
    }
    let account = account_id(api, a.account_id).await?;
    let start = a.start.unwrap_or(1).max(1);
    let limit = a.limit.unwrap_or(10).clamp(1, 200);
    let query = Query::new()
        .set("searchKey", a.query.trim())
        .set("start", start)
        .set("limit", limit)
        .set("includeto", true);
    let data = api
        .get(
            &["accounts", &account.segment(), "messages", "search"],
            &query,
        )
        .await?;
    Ok(page(
        account,
        &data,
        start,
        limit,
        &format!("the search `{}`", a.query.trim()),
    ))
}

/// A page of messages; `next_start` when the page came back full.
fn page(account: ZohoId, data: &Value, start: u32, limit: u32, where_: &str) -> ToolOutput {
    let messages = list(data, compact::message);
    let count = u32::try_from(messages.len()).unwrap_or(u32::MAX);
    let next_start = (count >= limit).then(|| start.saturating_add(count));
    let mut text = format!("{} messages from {where_}", messages.len());
    for m in messages.iter().take(5) {
        text.push_str(&format!(
            "\n- {} | {} | {}",
            s(&m["received_at"]),
            s(&m["from"]),
            s(&m["subject"])
        ));
    }
    if let Some(next) = next_start {
        text.push_str(&format!("\nMore may follow: start={next}"));
    }
    let mut structured = json!({
        "account_id": account.segment(),
        "messages": messages,
        "start": start,
    });
    if let Some(next) = next_start {
        structured["next_start"] = json!(next);
    }
    ToolOutput::new(structured, text)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetMessage {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// The message's folder id (`folder_id` in list_messages results).
    folder_id: ZohoId,
    /// The message id (`message_id` in list_messages results).
    message_id: ZohoId,
}

pub(crate) async fn get_message(api: &Api<'_>, a: GetMessage) -> Result<ToolOutput, AppError> {
    let account = account_id(api, a.account_id).await?;
    let (account_seg, folder_seg, message_seg) = (
        account.segment(),
        a.folder_id.segment(),
        a.message_id.segment(),
    );
    let base = [
        "accounts",
        account_seg.as_str(),
        "folders",
        folder_seg.as_str(),
        "messages",
        message_seg.as_str(),
    ];
    let details_path = [&base[..], &["details"]].concat();
    let content_path = [&base[..], &["content"]].concat();
    let no_query = Query::new();
    let (details, content) = tokio::join!(
        api.get(&details_path, &no_query),
        api.get(&content_path, &no_query)
    );
    let (details, content) = (details?, content?);
    let mut message = compact::message(&details);
    message["account_id"] = json!(account_seg);
    message["message_id"] = json!(message_seg);
    let body = s(&content["content"]).to_string();
    let text = format!(
        "From: {}\nTo: {}\nSubject: {}\nDate: {}\n\n{body}",
        s(&message["from"]),
        s(&message["to"]),
        s(&message["subject"]),
        s(&message["received_at"])
    );
    message["content"] = json!(body);
    Ok(ToolOutput::new(message, text))
}
