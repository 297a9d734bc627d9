//! Sending mail: a new message, or a reply to one.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::accounts::sender;
use crate::api::Api;
use crate::compact;
use crate::ids::ZohoId;
use crate::s;
use crate::schema::{str_enum, tool};

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<SendMessage>(
            "send_message",
            "Send an email",
            "Send a new email from the user's Zoho Mail account. `content` is plain text \
             unless `format` is `html`. Without `account_id` or `from_address`, the primary \
             account and its primary address (one extra request to find them).",
            ToolAnnotations::CREATE,
            compact::sent_schema(),
        ),
        tool::<ReplyToMessage>(
            "reply_to_message",
            "Reply to an email",
            "Reply to a received email, keeping it in the same thread. `to` is usually the \
             original sender (`from` in list_messages or get_message). Without `account_id` \
             or `from_address`, the primary account and its primary address (one extra \
             request to find them).",
            ToolAnnotations::CREATE,
            compact::sent_schema(),
        ),
    ]
}

str_enum!(
    /// How `content` is written (default: plaintext).
    MailFormat { Plaintext = "plaintext", Html = "html" }
);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendMessage {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// Sender address; must belong to the account (default: its primary address).
    from_address: Option<String>,
    /// Recipient addresses.
    #[schemars(length(min = 1, max = 100))]
    to: Vec<String>,
    /// Cc addresses.
    cc: Option<Vec<String>>,
    /// Bcc addresses.
    bcc: Option<Vec<String>>,
    /// Subject line.
    #[schemars(length(max = 998))]
    subject: String,
    /// The message body.
    content: String,
    format: Option<MailFormat>,
}

pub(crate) async fn send_message(api: &Api<'_>, a: SendMessage) -> Result<ToolOutput, AppError> {
    let mut body = recipients(&a.to, a.cc.as_deref(), a.bcc.as_deref())?;
    let from = a
        .from_address
        .as_deref()
        .map(|f| address(f, "from_address"))
        .transpose()?;
    let (account, from) = sender(api, a.account_id, from.map(str::to_owned)).await?;
    body.insert("fromAddress".into(), json!(from));
    body.insert("subject".into(), json!(a.subject));
    body.insert("content".into(), json!(a.content));
    body.insert(
        "mailFormat".into(),
        json!(a.format.unwrap_or(MailFormat::Plaintext)),
    );
    let data = api
        .post(
            &["accounts", &account.segment(), "messages"],
            &Value::Object(body),
        )
        .await?;
    Ok(sent_output(account, &data, "Sent"))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyToMessage {
    /// Account id from list_accounts (default: the primary account).
    account_id: Option<ZohoId>,
    /// The id of the message replied to.
    message_id: ZohoId,
    /// Sender address; must belong to the account (default: its primary address).
    from_address: Option<String>,
    /// Recipient addresses, usually the original sender.
    #[schemars(length(min = 1, max = 100))]
    to: Vec<String>,
    /// Cc addresses.
    cc: Option<Vec<String>>,
    /// Bcc addresses.
    bcc: Option<Vec<String>>,
    /// Subject line (default: Zoho's `Re:` of the original).
    #[schemars(length(max = 998))]
    subject: Option<String>,
    /// The reply's body.
    content: String,
    format: Option<MailFormat>,
}

pub(crate) async fn reply_to_message(
    api: &Api<'_>,
    a: ReplyToMessage,
) -> Result<ToolOutput, AppError> {
    let mut body = recipients(&a.to, a.cc.as_deref(), a.bcc.as_deref())?;
    let from = a
        .from_address
        .as_deref()
        .map(|f| address(f, "from_address"))
        .transpose()?;
    let (account, from) = sender(api, a.account_id, from.map(str::to_owned)).await?;
    body.insert("fromAddress".into(), json!(from));
    body.insert("action".into(), json!("reply"));
    if let Some(subject) = a.subject {
        body.insert("subject".into(), json!(subject));
    }
    body.insert("content".into(), json!(a.content));
    body.insert(
        "mailFormat".into(),
        json!(a.format.unwrap_or(MailFormat::Plaintext)),
    );
    let data = api
        .post(
            &[
                "accounts",
                &account.segment(),
                "messages",
                &a.message_id.segment(),
            ],
            &Value::Object(body),
        )
        .await?;
    Ok(sent_output(
        account,
        &data,
        &format!("Replied to message {}", a.message_id),
    ))
}

fn sent_output(account: ZohoId, data: &Value, verb: &str) -> ToolOutput {
    let mut sent = compact::sent(data);
    sent["account_id"] = json!(account.segment());
    let subject = match s(&sent["subject"]) {
        "" => String::new(),
        subject => format!(" \"{subject}\""),
    };
    let text = format!(
        "{verb}:{subject} from {} to {} (message {})",
        s(&sent["from"]),
        s(&sent["to"]),
        s(&sent["message_id"])
    );
    ToolOutput::new(sent, text)
}

/// `toAddress`, `ccAddress`, `bccAddress`: Zoho takes comma-separated lists.
fn recipients(
    to: &[String],
    cc: Option<&[String]>,
    bcc: Option<&[String]>,
) -> Result<Map<String, Value>, AppError> {
    let mut body = Map::new();
    let joined = |list: &[String], field: &str| -> Result<String, AppError> {
        let list: Vec<&str> = list
            .iter()
            .map(|a| address(a, field))
            .collect::<Result<_, _>>()?;
        Ok(list.join(","))
    };
    if to.is_empty() {
        return Err(AppError::InvalidArguments(
            "`to` needs at least one address".into(),
        ));
    }
    body.insert("toAddress".into(), json!(joined(to, "to")?));
    if let Some(cc) = cc.filter(|l| !l.is_empty()) {
        body.insert("ccAddress".into(), json!(joined(cc, "cc")?));
    }
    if let Some(bcc) = bcc.filter(|l| !l.is_empty()) {
        body.insert("bccAddress".into(), json!(joined(bcc, "bcc")?));
    }
    Ok(body)
}

/// One address, trimmed: `name@domain` or `Name <name@domain>`, no list separators.
fn address<'a>(raw: &'a str, field: &str) -> Result<&'a str, AppError> {
    let a = raw.trim();
    let ok = a.contains('@')
        && a.len() <= 320
        && !a.contains([',', ';'])
        && !a.chars().any(char::is_control);
    if ok {
        Ok(a)
    } else {
        Err(AppError::InvalidArguments(format!(
            "`{field}` has an invalid email address: {raw:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn recipients_are_checked_and_joined() {
        let body = recipients(
            &["a@x.com".into(), " Bea <b@y.com> ".into()],
            Some(&["c@z.com".into()]),
            Some(&[]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(body),
            json!({"toAddress": "a@x.com,Bea <b@y.com>", "ccAddress": "c@z.com"})
        );
        for bad in [
            "nobody",
            "a@x.com,b@y.com",
            "a@x.com;b@y.com",
            "a@x.com\r\nBcc: c@z",
        ] {
            assert!(recipients(&[bad.into()], None, None).is_err(), "{bad:?}");
        }
        assert!(recipients(&[], None, None).is_err());
    }
}
