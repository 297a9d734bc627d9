//! Accounts and folders, and which account a call acts on when none is given.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, Query};
use crate::compact::{self, list};
use crate::ids::ZohoId;
use crate::s;
use crate::schema::{array, object, string, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<ListAccounts>(
            "list_accounts",
            "List mail accounts",
            "List the user's Zoho Mail accounts with their `account_id`, addresses and which \
             one is primary. Other tools act on the primary account unless given an \
             `account_id` from here.",
            ToolAnnotations::READ,
            object(
                &["accounts"],
                json!({"accounts": array(compact::account_schema())}),
            ),
        ),
        tool::<ListFolders>(
            "list_folders",
            "List folders",
            "List the folders of a mail account (Inbox, Drafts, Sent, Spam, Trash and the \
             user's own) with their `folder_id`, which list_messages, get_message and \
             move_message take. Without `account_id`, the primary account (one extra \
             request to find it).",
            ToolAnnotations::READ,
            object(
                &["account_id", "folders"],
                json!({"account_id": string(), "folders": array(compact::folder_schema())}),
            ),
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListAccounts {}

pub(crate) async fn list_accounts(api: &Api<'_>, _: ListAccounts) -> Result<ToolOutput, AppError> {
    let accounts = list(&fetch_accounts(api).await?, compact::account);
    let names: Vec<String> = accounts
        .iter()
        .map(|a| {
            let email = s(&a["email"]);
            if a["is_primary"] == true {
                format!("{email} (primary)")
            } else {
                email.to_string()
            }
        })
        .collect();
    let text = format!(
        "{} Zoho Mail account(s): {}",
        accounts.len(),
        names.join(", ")
    );
    Ok(ToolOutput::new(json!({ "accounts": accounts }), text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListFolders {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
}

pub(crate) async fn list_folders(api: &Api<'_>, a: ListFolders) -> Result<ToolOutput, AppError> {
    let account = account_id(api, a.account_id).await?;
    let data = api
        .get(&["accounts", &account.segment(), "folders"], &Query::new())
        .await?;
    let folders = list(&data, compact::folder);
    let names: Vec<&str> = folders.iter().map(|f| s(&f["name"])).collect();
    let text = format!("{} folders: {}", folders.len(), names.join(", "));
    Ok(ToolOutput::new(
        json!({"account_id": account.segment(), "folders": folders}),
        text,
    ))
}

async fn fetch_accounts(api: &Api<'_>) -> Result<Value, AppError> {
    api.get(&["accounts"], &Query::new()).await
}

/// The account a call acts on: the one given, or the user's primary account.
pub(crate) async fn account_id(api: &Api<'_>, given: Option<ZohoId>) -> Result<ZohoId, AppError> {
    match given {
        Some(id) => Ok(id),
        None => Ok(find_account(api, None).await?.0),
    }
}

/// The account a message is sent from and its sender address: both as given, or looked
/// up (one request) where missing.
pub(crate) async fn sender(
    api: &Api<'_>,
    given: Option<ZohoId>,
    from: Option<String>,
) -> Result<(ZohoId, String), AppError> {
    match (given, from) {
        (Some(id), Some(from)) => Ok((id, from)),
        (given, from) => {
            let (id, account) = find_account(api, given).await?;
            let from = match from {
                Some(from) => from,
                None => compact::primary_address(&account)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        AppError::InvalidArguments(format!(
                            "account {id} has no sender address: give `from_address`"
                        ))
                    })?,
            };
            Ok((id, from))
        }
    }
}

/// The account with id `given`, or the primary one (`isDefaultAccount`, else the first).
async fn find_account(api: &Api<'_>, given: Option<ZohoId>) -> Result<(ZohoId, Value), AppError> {
    let accounts = fetch_accounts(api).await?;
    let accounts = accounts.as_array().map(Vec::as_slice).unwrap_or_default();
    let id_of = |a: &Value| ZohoId::from_value(&a["accountId"]);
    let found = match given {
        Some(wanted) => accounts.iter().find(|a| id_of(a) == Some(wanted)),
        None => accounts
            .iter()
            .find(|a| a["isDefaultAccount"] == true)
            .or_else(|| accounts.first()),
    };
    let account = found.ok_or_else(|| {
        AppError::NotFound(match given {
            Some(id) => format!("no Zoho Mail account {id} for this user (see list_accounts)"),
            None => "this Zoho user has no mail account".to_string(),
        })
    })?;
    let id = id_of(account).ok_or_else(|| {
        AppError::Transport("Zoho Mail answered an account without an accountId".into())
    })?;
    Ok((id, account.clone()))
}
