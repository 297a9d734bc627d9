//! Changing messages in place through `PUT /api/accounts/{accountId}/updatemessage`:
//! read state and folder.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::account_id;
use crate::api::Api;
use crate::ids::ZohoId;
use crate::schema::{array, boolean, object, string, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<MarkRead>(
            "mark_read",
            "Mark messages read",
            "Mark one or more messages as read, or as unread with `read: false`. Without \
             `account_id`, the primary account (one extra request to find it).",
            ToolAnnotations::UPDATE,
            object(
                &["account_id", "message_ids", "read"],
                json!({"account_id": string(), "message_ids": array(string()), "read": boolean()}),
            ),
        ),
        tool::<MoveMessage>(
            "move_message",
            "Move messages to a folder",
            "Move one or more messages to another folder (a `folder_id` from list_folders; \
             moving to Trash deletes softly). Without `account_id`, the primary account (one \
             extra request to find it).",
            ToolAnnotations::UPDATE,
            object(
                &["account_id", "message_ids", "destination_folder_id"],
                json!({
                    "account_id": string(),
                    "message_ids": array(string()),
                    "destination_folder_id": string(),
                }),
            ),
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MarkRead {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// Ids of the messages to mark.
    #[schemars(length(min = 1, max = 100))]
    message_ids: Vec<ZohoId>,
    /// `true` (default) marks them read, `false` unread.
    read: Option<bool>,
}

pub(crate) async fn mark_read(api: &Api<'_>, a: MarkRead) -> Result<ToolOutput, AppError> {
    need_ids(&a.message_ids)?;
    let account = account_id(api, a.account_id).await?;
    let read = a.read.unwrap_or(true);
    let mode = if read { "markAsRead" } else { "markAsUnread" };
    api.put(
        &["accounts", &account.segment(), "updatemessage"],
        &json!({"mode": mode, "messageId": a.message_ids}),
    )
    .await?;
    let state = if read { "read" } else { "unread" };
    let text = format!("Marked {} message(s) {state}", a.message_ids.len());
    Ok(ToolOutput::new(
        json!({"account_id": account.segment(), "message_ids": segments(&a.message_ids), "read": read}),
        text,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveMessage {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// Ids of the messages to move.
    #[schemars(length(min = 1, max = 100))]
    message_ids: Vec<ZohoId>,
    /// The folder to move them to, from list_folders.
    destination_folder_id: ZohoId,
}

pub(crate) async fn move_message(api: &Api<'_>, a: MoveMessage) -> Result<ToolOutput, AppError> {
    need_ids(&a.message_ids)?;
    let account = account_id(api, a.account_id).await?;
    api.put(
        &["accounts", &account.segment(), "updatemessage"],
        &json!({
            "mode": "moveMessage",
            "messageId": a.message_ids,
            "destfolderId": a.destination_folder_id,
        }),
    )
    .await?;
    let text = format!(
        "Moved {} message(s) to folder {}",
        a.message_ids.len(),
        a.destination_folder_id
    );
    Ok(ToolOutput::new(
        json!({
            "account_id": account.segment(),
            "message_ids": segments(&a.message_ids),
            "destination_folder_id": a.destination_folder_id.segment(),
        }),
        text,
    ))
}

fn need_ids(ids: &[ZohoId]) -> Result<(), AppError> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(AppError::InvalidArguments(
            "`message_ids` takes 1 to 100 ids".into(),
        ));
    }
    Ok(())
}

fn segments(ids: &[ZohoId]) -> Vec<String> {
    ids.iter().map(|id| id.segment()).collect()
}
