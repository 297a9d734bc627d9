//! Writing: post, reply in a thread, schedule, react.

use assistiv_app_sdk::schema::tool_spec;
use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, check_ts};
use crate::compact;

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool_spec::<PostMessage>(
            "post_message",
            "Post a message",
            "Post a message to a channel as the user (Slack mrkdwn formatting).",
            ToolAnnotations::CREATE,
        ),
        tool_spec::<ReplyToThread>(
            "reply_to_thread",
            "Reply in a thread",
            "Reply to a message's thread as the user; `reply_broadcast` also shows the reply \
             in the channel.",
            ToolAnnotations::CREATE,
        ),
        tool_spec::<AddReaction>(
            "add_reaction",
            "Add a reaction",
            "Add an emoji reaction (e.g. `thumbsup`) to a message as the user.",
            ToolAnnotations::CREATE,
        ),
        tool_spec::<ScheduleMessage>(
            "schedule_message",
            "Schedule a message",
            "Schedule a message (or thread reply) to be posted at `post_at`, a Unix time in \
             seconds up to 120 days ahead.",
            ToolAnnotations::CREATE,
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostMessage {
    /// Channel id, e.g. `C012AB3CD`.
    #[schemars(length(min = 1, max = 64))]
    channel: String,
    /// Message text (Slack mrkdwn).
    #[schemars(length(min = 1, max = 40000))]
    text: String,
    /// Unfurl links to text-based content (Slack's default: false for users).
    unfurl_links: Option<bool>,
}

fn posted(body: &Value, what: &str) -> ToolOutput {
    let structured = json!({
        "channel": body["channel"],
        "ts": body["ts"],
        "message": compact::message(&body["message"]),
    });
    let text = format!(
        "{what} in {} at {}",
        body["channel"].as_str().unwrap_or_default(),
        body["ts"].as_str().unwrap_or_default()
    );
    ToolOutput::new(structured, text)
}

pub(crate) async fn post_message(api: &Api, a: PostMessage) -> Result<ToolOutput, AppError> {
    let mut request = json!({"channel": a.channel, "text": a.text});
    if let Some(unfurl) = a.unfurl_links {
        request["unfurl_links"] = json!(unfurl);
    }
    let body = api.post("chat.postMessage", &request).await?;
    Ok(posted(&body, "Posted"))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyToThread {
    /// Channel id of the thread.
    #[schemars(length(min = 1, max = 64))]
    channel: String,
    /// The parent message's `ts`.
    thread_ts: String,
    /// Reply text (Slack mrkdwn).
    #[schemars(length(min = 1, max = 40000))]
    text: String,
    /// Also show the reply in the channel.
    reply_broadcast: Option<bool>,
}

pub(crate) async fn reply_to_thread(api: &Api, a: ReplyToThread) -> Result<ToolOutput, AppError> {
    check_ts(&a.thread_ts, "thread_ts")?;
    let request = json!({
        "channel": a.channel,
        "thread_ts": a.thread_ts,
        "text": a.text,
        "reply_broadcast": a.reply_broadcast.unwrap_or(false),
    });
    let body = api.post("chat.postMessage", &request).await?;
    Ok(posted(&body, "Replied"))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddReaction {
    /// Channel id of the message.
    #[schemars(length(min = 1, max = 64))]
    channel: String,
    /// The message's `ts`.
    timestamp: String,
    /// Emoji name without colons, e.g. `thumbsup` (colons are stripped).
    #[schemars(length(min = 1, max = 100))]
    name: String,
}

pub(crate) async fn add_reaction(api: &Api, a: AddReaction) -> Result<ToolOutput, AppError> {
    check_ts(&a.timestamp, "timestamp")?;
    let name = a.name.trim_matches(':');
    if name.is_empty() {
        return Err(AppError::InvalidArguments("`name` is empty".into()));
    }
    let request = json!({"channel": a.channel, "timestamp": a.timestamp, "name": name});
    api.post("reactions.add", &request).await?;
    Ok(ToolOutput::new(
        json!({"channel": a.channel, "timestamp": a.timestamp, "name": name, "added": true}),
        format!(":{name}: added to {} in {}", a.timestamp, a.channel),
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleMessage {
    /// Channel id, e.g. `C012AB3CD`.
    #[schemars(length(min = 1, max = 64))]
    channel: String,
    /// Message text (Slack mrkdwn).
    #[schemars(length(min = 1, max = 40000))]
    text: String,
    /// When to post: Unix time in seconds.
    #[schemars(range(min = 1))]
    post_at: i64,
    /// Post as a reply in this thread.
    thread_ts: Option<String>,
}

pub(crate) async fn schedule_message(
    api: &Api,
    a: ScheduleMessage,
) -> Result<ToolOutput, AppError> {
    let mut request = json!({"channel": a.channel, "text": a.text, "post_at": a.post_at});
    if let Some(thread_ts) = &a.thread_ts {
        check_ts(thread_ts, "thread_ts")?;
        request["thread_ts"] = json!(thread_ts);
    }
    let body = api.post("chat.scheduleMessage", &request).await?;
    // Slack documents `post_at` as a string in this answer; keep a number.
    let post_at = body["post_at"]
        .as_i64()
        .or_else(|| body["post_at"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(a.post_at);
    let id = body["scheduled_message_id"].as_str().unwrap_or_default();
    Ok(ToolOutput::new(
        json!({"scheduled_message_id": id, "channel": body["channel"], "post_at": post_at}),
        format!("Scheduled {id} in {} for {post_at}", a.channel),
    ))
}
