//! Reading: channels, channel history, thread replies, message search.

use assistiv_app_sdk::schema::tool_spec;
use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, Args, check_ts, next_cursor};
use crate::compact::{self, list};
use crate::str_enum;

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool_spec::<ListChannels>(
            "list_channels",
            "List channels",
            "List the workspace's conversations the user can see (public channels by default), \
             with topic, purpose and whether the user is a member. Pages with `cursor`: pass the \
             previous answer's `next_cursor`.",
            ToolAnnotations::READ,
        ),
        tool_spec::<ChannelHistory>(
            "get_channel_history",
            "Read a channel",
            "Read a channel's recent messages, newest first, optionally between `oldest` and \
             `latest` timestamps. Thread parents carry `thread_ts` and `reply_count`; read the \
             replies with get_thread_replies. Pages with `cursor`.",
            ToolAnnotations::READ,
        ),
        tool_spec::<ThreadReplies>(
            "get_thread_replies",
            "Read a thread",
            "Read a thread: its parent message then the replies, oldest first. Pages with \
             `cursor`.",
            ToolAnnotations::READ,
        ),
        tool_spec::<SearchMessages>(
            "search_messages",
            "Search messages",
            "Search the messages the user can see with Slack's search syntax (e.g. \
             `deploy in:#ops from:@jane after:2024-01-31`). Pages by number.",
            ToolAnnotations::READ,
        ),
    ]
}

str_enum!(
    /// A kind of conversation.
    ChannelType {
        PublicChannel = "public_channel",
        PrivateChannel = "private_channel",
        Mpim = "mpim",
        Im = "im"
    }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListChannels {
    /// Kinds of conversation to list (default: public channels).
    #[schemars(length(min = 1))]
    types: Option<Vec<ChannelType>>,
    /// Leave archived channels out (default true).
    exclude_archived: Option<bool>,
    /// Channels per page (1-1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    #[schemars(length(min = 1))]
    cursor: Option<String>,
}

pub(crate) async fn list_channels(api: &Api, a: ListChannels) -> Result<ToolOutput, AppError> {
    let types = a
        .types
        .map(|t| t.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","));
    let args = Args::new()
        .set("types", types.as_deref().unwrap_or("public_channel"))
        .set("exclude_archived", a.exclude_archived.unwrap_or(true))
        .set("limit", a.limit.unwrap_or(100))
        .opt("cursor", a.cursor);
    let body = api.get("conversations.list", &args).await?;
    let channels = list(&body, "channels", compact::channel);
    let next = next_cursor(&body);
    let text = format!("{} channels{}", channels.len(), more(&next));
    Ok(ToolOutput::new(
        json!({"channels": channels, "next_cursor": next}),
        text,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelHistory {
    /// Channel id, e.g. `C012AB3CD`.
    #[schemars(length(min = 1, max = 64))]
    channel: String,
    /// Messages per page (1-999, default 20).
    #[schemars(range(min = 1, max = 999))]
    limit: Option<u32>,
    /// Only messages after this timestamp, e.g. `1503435956.000247`.
    oldest: Option<String>,
    /// Only messages before this timestamp.
    latest: Option<String>,
    /// Include messages exactly at `oldest` or `latest`.
    inclusive: Option<bool>,
    /// `next_cursor` from the previous page.
    #[schemars(length(min = 1))]
    cursor: Option<String>,
}

pub(crate) async fn get_channel_history(
    api: &Api,
    a: ChannelHistory,
) -> Result<ToolOutput, AppError> {
    for (value, field) in [(&a.oldest, "oldest"), (&a.latest, "latest")] {
        if let Some(ts) = value {
            check_ts(ts, field)?;
        }
    }
    let args = Args::new()
        .set("channel", &a.channel)
        .set("limit", a.limit.unwrap_or(20))
        .opt("oldest", a.oldest)
        .opt("latest", a.latest)
        .opt("inclusive", a.inclusive)
        .opt("cursor", a.cursor);
    let body = api.get("conversations.history", &args).await?;
    let messages = list(&body, "messages", compact::message);
    let next = next_cursor(&body);
    let text = format!(
        "{} messages in {}{}",
        messages.len(),
        a.channel,
        more(&next)
    );
    Ok(ToolOutput::new(
        json!({"messages": messages, "has_more": body["has_more"].as_bool().unwrap_or(false), "next_cursor": next}),
        text,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThreadReplies {
    /// Channel id of the thread.
    #[schemars(length(min = 1, max = 64))]
    channel: String,
    /// The parent message's `ts` (its `thread_ts`).
    thread_ts: String,
    /// Messages per page (1-1000, default 50).
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    #[schemars(length(min = 1))]
    cursor: Option<String>,
}

pub(crate) async fn get_thread_replies(
    api: &Api,
    a: ThreadReplies,
) -> Result<ToolOutput, AppError> {
    check_ts(&a.thread_ts, "thread_ts")?;
    let args = Args::new()
        .set("channel", &a.channel)
        .set("ts", &a.thread_ts)
        .set("limit", a.limit.unwrap_or(50))
        .opt("cursor", a.cursor);
    let body = api.get("conversations.replies", &args).await?;
    let messages = list(&body, "messages", compact::message);
    let next = next_cursor(&body);
    let text = format!(
        "{} messages in thread {}{}",
        messages.len(),
        a.thread_ts,
        more(&next)
    );
    Ok(ToolOutput::new(
        json!({"messages": messages, "has_more": body["has_more"].as_bool().unwrap_or(false), "next_cursor": next}),
        text,
    ))
}

str_enum!(
    /// Result order (default: score).
    SearchSort { Score = "score", Timestamp = "timestamp" }
);

str_enum!(
    /// Sort direction (default: desc).
    SortDir { Asc = "asc", Desc = "desc" }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchMessages {
    /// Search query, with Slack's modifiers (`in:#channel`, `from:@user`, `after:date`).
    #[schemars(length(min = 1, max = 1000))]
    query: String,
    /// Results per page (1-100, default 20).
    #[schemars(range(min = 1, max = 100))]
    count: Option<u32>,
    /// Page number, from 1.
    #[schemars(range(min = 1, max = 100))]
    page: Option<u32>,
    sort: Option<SearchSort>,
    sort_dir: Option<SortDir>,
}

pub(crate) async fn search_messages(api: &Api, a: SearchMessages) -> Result<ToolOutput, AppError> {
    let args = Args::new()
        .set("query", &a.query)
        .set("count", a.count.unwrap_or(20))
        .opt("page", a.page)
        .opt("sort", a.sort.map(SearchSort::as_str))
        .opt("sort_dir", a.sort_dir.map(SortDir::as_str));
    let body = api.get("search.messages", &args).await?;
    let found = &body["messages"];
    let matches = list(found, "matches", compact::search_match);
    let total = found["total"].as_u64().unwrap_or(matches.len() as u64);
    let text = format!("{total} messages match {:?}", a.query);
    Ok(ToolOutput::new(
        json!({
            "total": total,
            "page": found["paging"]["page"],
            "pages": found["paging"]["pages"],
            "matches": matches,
        }),
        text,
    ))
}

/// ", more with next_cursor" when there is a next page.
pub(crate) fn more(next: &Option<String>) -> &'static str {
    if next.is_some() {
        " (more: pass next_cursor as cursor)"
    } else {
        ""
    }
}
