//! Compact views of Zoho Mail objects: the fields a model needs, with Zoho's loose types
//! made regular. Zoho answers the same field as a number in one endpoint and a string in
//! another (`"messageId": 9000000019029` / `"1709876190693100009"`, `"hasAttachment": 0`
//! / `"0"`), flags read state as `"0"`/`"1"` or `"unread"`/`"read"`, times as epoch
//! milliseconds, and escapes addresses as HTML (`&lt;a@b.c&gt;`). Here ids are strings,
//! flags booleans, times RFC 3339 UTC. Absent and null fields are left out; indexing a
//! `Value` never panics.

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value, json};

use crate::ids::ZohoId;
use crate::schema::{array, boolean, integer, object, string};

/// An object of the given pairs, without the null ones.
pub(crate) fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<String, Value>>(),
    )
}

/// The items of a JSON array (empty for anything else), mapped.
pub(crate) fn list(src: &Value, f: impl Fn(&Value) -> Value) -> Vec<Value> {
    src.as_array()
        .map(|items| items.iter().map(f).collect())
        .unwrap_or_default()
}

/// An id as a string of digits.
pub(crate) fn id(v: &Value) -> Value {
    ZohoId::from_value(v).map_or(Value::Null, |id| json!(id.segment()))
}

/// `0`/`1`, `"0"`/`"1"`, `"true"`/`"false"` or a boolean, as a boolean.
fn flag(v: &Value) -> Value {
    match v {
        Value::Bool(b) => json!(b),
        Value::Number(n) => json!(n.as_i64() != Some(0)),
        Value::String(s) => match s.as_str() {
            "1" | "true" => json!(true),
            "0" | "false" => json!(false),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

fn int(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_i64().map_or(Value::Null, |n| json!(n)),
        Value::String(s) => s.parse::<i64>().map_or(Value::Null, |n| json!(n)),
        _ => Value::Null,
    }
}

/// Epoch milliseconds (number or string) as RFC 3339 UTC.
pub(crate) fn time(v: &Value) -> Value {
    let millis = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    millis
        .filter(|ms| *ms > 0)
        .and_then(DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(SecondsFormat::Secs, true))
        })
}

/// Text with Zoho's HTML escaping undone; "Not Provided" and "" read as absent.
fn text(v: &Value) -> Value {
    match v.as_str() {
        None | Some("" | "Not Provided") => Value::Null,
        Some(s) => json!(unescape(s)),
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Unread from `status`: `"0"`/`0`/`"unread"` is unread, `"1"`/`1`/`"read"` read.
fn unread(v: &Value) -> Value {
    match v {
        Value::String(s) if s == "unread" => json!(true),
        Value::String(s) if s == "read" => json!(false),
        other => match flag(other) {
            Value::Bool(read) => json!(!read),
            _ => Value::Null,
        },
    }
}

pub(crate) fn account(v: &Value) -> Value {
    let addresses = list(&v["emailAddress"], |a| a["mailId"].clone());
    let send_from = list(&v["sendMailDetails"], |d| d["fromAddress"].clone());
    obj([
        ("account_id", id(&v["accountId"])),
        ("display_name", v["displayName"].clone()),
        (
            "email",
            primary_address(v).map_or(Value::Null, |a| json!(a)),
        ),
        ("mailbox_address", v["mailboxAddress"].clone()),
        ("addresses", non_empty(addresses)),
        ("send_from_addresses", non_empty(send_from)),
        ("is_primary", flag(&v["isDefaultAccount"])),
        ("status", v["mailboxStatus"].clone()),
    ])
}

/// The address the account sends from by default.
pub(crate) fn primary_address(account: &Value) -> Option<&str> {
    let primary_alias = account["emailAddress"].as_array().and_then(|all| {
        all.iter()
            .find(|a| a["isPrimary"] == true)
            .and_then(|a| a["mailId"].as_str())
    });
    [
        account["primaryEmailAddress"].as_str(),
        primary_alias,
        account["mailboxAddress"].as_str(),
    ]
    .into_iter()
    .flatten()
    .find(|a| !a.is_empty())
}

fn non_empty(items: Vec<Value>) -> Value {
    let items: Vec<Value> = items.into_iter().filter(|v| !v.is_null()).collect();
    if items.is_empty() {
        Value::Null
    } else {
        json!(items)
    }
}

pub(crate) fn account_schema() -> Value {
    object(
        &["account_id"],
        json!({
            "account_id": string(),
            "display_name": string(),
            "email": string(),
            "mailbox_address": string(),
            "addresses": array(string()),
            "send_from_addresses": array(string()),
            "is_primary": boolean(),
            "status": string(),
        }),
    )
}

pub(crate) fn folder(v: &Value) -> Value {
    obj([
        ("folder_id", id(&v["folderId"])),
        ("name", v["folderName"].clone()),
        ("path", v["path"].clone()),
        ("type", v["folderType"].clone()),
    ])
}

pub(crate) fn folder_schema() -> Value {
    object(
        &["folder_id"],
        json!({"folder_id": string(), "name": string(), "path": string(), "type": string()}),
    )
}

/// A message as listed, searched or detailed.
pub(crate) fn message(v: &Value) -> Value {
    let received = match &v["receivedTime"] {
        Value::Null => &v["receivedtime"],
        t => t,
    };
    let flag_name = match &v["flagid"] {
        Value::String(s) if s == "flag_not_set" => Value::Null,
        Value::String(s) => json!(s),
        Value::Number(n) => json!(n.to_string()),
        _ => Value::Null,
    };
    obj([
        ("message_id", id(&v["messageId"])),
        ("folder_id", id(&v["folderId"])),
        ("thread_id", id(&v["threadId"])),
        ("subject", v["subject"].clone()),
        ("summary", text(&v["summary"])),
        ("from", text(&v["fromAddress"])),
        ("sender", text(&v["sender"])),
        ("to", text(&v["toAddress"])),
        ("cc", text(&v["ccAddress"])),
        ("received_at", time(received)),
        ("sent_at", time(&v["sentDateInGMT"])),
        ("unread", unread(&v["status"])),
        ("has_attachment", flag(&v["hasAttachment"])),
        ("flag", flag_name),
        ("priority", int(&v["priority"])),
    ])
}

pub(crate) fn message_schema() -> Value {
    object(
        &["message_id"],
        json!({
            "message_id": string(),
            "folder_id": string(),
            "thread_id": string(),
            "subject": string(),
            "summary": string(),
            "from": string(),
            "sender": string(),
            "to": string(),
            "cc": string(),
            "received_at": string(),
            "sent_at": string(),
            "unread": boolean(),
            "has_attachment": boolean(),
            "flag": string(),
            "priority": integer(),
        }),
    )
}

/// What Zoho answers for a sent message or reply.
pub(crate) fn sent(v: &Value) -> Value {
    obj([
        ("message_id", id(&v["messageId"])),
        ("mail_id", v["mailId"].clone()),
        ("from", v["fromAddress"].clone()),
        ("to", v["toAddress"].clone()),
        ("cc", v["ccAddress"].clone()),
        ("subject", v["subject"].clone()),
    ])
}

pub(crate) fn sent_schema() -> Value {
    object(
        &["account_id"],
        json!({
            "account_id": string(),
            "message_id": string(),
            "mail_id": {"type": "string", "description": "The RFC 5322 Message-ID header"},
            "from": string(),
            "to": string(),
            "cc": string(),
            "subject": string(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_types_are_made_regular() {
        let listed = json!({"messageId": 9000000019029_u64, "hasAttachment": 0, "status": "read",
            "flagid": 2, "priority": 3, "receivedtime": 1425388373920_u64,
            "toAddress": "&quot;Paula&quot;&lt;paula@zylker.com&gt;", "ccAddress": "Not Provided"});
        assert_eq!(
            message(&listed),
            json!({"message_id": "9000000019029", "has_attachment": false, "unread": false,
                   "flag": "2", "priority": 3, "received_at": "2015-03-03T13:12:53Z",
                   "to": "\"Paula\"<paula@zylker.com>"})
        );
        let detailed = json!({"messageId": "1709876190693100009", "hasAttachment": "1",
            "status": "0", "flagid": "flag_not_set", "priority": "3", "sentDateInGMT": "1709856390000"});
        assert_eq!(
            message(&detailed),
            json!({"message_id": "1709876190693100009", "has_attachment": true, "unread": true,
                   "priority": 3, "sent_at": "2024-03-08T00:06:30Z"})
        );
    }

    #[test]
    fn missing_fields_are_left_out_and_never_panic() {
        assert_eq!(message(&json!("x")), json!({}));
        assert_eq!(account(&Value::Null), json!({}));
        assert_eq!(time(&json!("soon")), Value::Null);
        assert!(list(&json!({}), folder).is_empty());
    }

    #[test]
    fn the_primary_address_prefers_the_primary_email() {
        let a = json!({"primaryEmailAddress": "", "mailboxAddress": "m@z.com",
            "emailAddress": [{"mailId": "alias@z.com", "isPrimary": false}, {"mailId": "p@z.com", "isPrimary": true}]});
        assert_eq!(primary_address(&a), Some("p@z.com"));
        assert_eq!(
            primary_address(&json!({"mailboxAddress": "m@z.com"})),
            Some("m@z.com")
        );
        assert_eq!(primary_address(&json!({})), None);
    }
}
