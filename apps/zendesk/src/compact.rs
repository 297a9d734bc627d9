//! Compact views of Zendesk objects: the fields a model needs, not the whole payload.
//! Absent, null and empty fields are left out; indexing a `Value` never panics.

use serde_json::{Map, Value, json};

use crate::api::Api;
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

/// A non-empty array as is; an empty one or anything else as absent.
fn non_empty(v: &Value) -> Value {
    match v.as_array() {
        Some(items) if !items.is_empty() => v.clone(),
        _ => Value::Null,
    }
}

/// A ticket. `full` adds the description (its first comment) and custom field values.
pub(crate) fn ticket(api: &Api<'_>, v: &Value, full: bool) -> Value {
    let url = v["id"].as_u64().map_or(Value::Null, |id| {
        json!(api.web_url(&["tickets", &id.to_string()]))
    });
    let mut out = obj([
        ("id", v["id"].clone()),
        ("subject", v["subject"].clone()),
        ("status", v["status"].clone()),
        ("priority", v["priority"].clone()),
        ("type", v["type"].clone()),
        ("requester_id", v["requester_id"].clone()),
        ("submitter_id", v["submitter_id"].clone()),
        ("assignee_id", v["assignee_id"].clone()),
        ("group_id", v["group_id"].clone()),
        ("organization_id", v["organization_id"].clone()),
        ("tags", non_empty(&v["tags"])),
        ("channel", v["via"]["channel"].clone()),
        ("created_at", v["created_at"].clone()),
        ("updated_at", v["updated_at"].clone()),
        ("due_at", v["due_at"].clone()),
        ("url", url),
    ]);
    if full && let Value::Object(out) = &mut out {
        let custom: Vec<Value> = list(&v["custom_fields"], |f| {
            if f["value"].is_null() {
                Value::Null
            } else {
                json!({"id": f["id"], "value": f["value"]})
            }
        })
        .into_iter()
        .filter(|f| !f.is_null())
        .collect();
        let satisfaction = match v["satisfaction_rating"]["score"].as_str() {
            None | Some("unoffered") => Value::Null,
            Some(score) => json!(score),
        };
        let more = obj([
            ("description", v["description"].clone()),
            ("external_id", v["external_id"].clone()),
            ("custom_fields", non_empty(&json!(custom))),
            ("satisfaction", satisfaction),
        ]);
        if let Value::Object(more) = more {
            out.extend(more);
        }
    }
    out
}

pub(crate) fn ticket_schema() -> Value {
    object(
        &["id"],
        json!({
            "id": integer(),
            "subject": string(),
            "status": string(),
            "priority": string(),
            "type": string(),
            "requester_id": integer(),
            "submitter_id": integer(),
            "assignee_id": integer(),
            "group_id": integer(),
            "organization_id": integer(),
            "tags": array(string()),
            "channel": string(),
            "created_at": string(),
            "updated_at": string(),
            "due_at": string(),
            "url": {"type": "string", "description": "The ticket in Zendesk's agent interface"},
            "description": string(),
            "external_id": string(),
            "custom_fields": array(object(&["id"], json!({"id": integer()}))),
            "satisfaction": string(),
        }),
    )
}

pub(crate) fn comment(v: &Value) -> Value {
    let attachments = list(&v["attachments"], |a| {
        obj([
            ("file_name", a["file_name"].clone()),
            ("content_type", a["content_type"].clone()),
            ("size", a["size"].clone()),
            ("url", a["content_url"].clone()),
        ])
    });
    let body = match &v["plain_body"] {
        Value::String(plain) => json!(plain),
        _ => v["body"].clone(),
    };
    obj([
        ("id", v["id"].clone()),
        ("author_id", v["author_id"].clone()),
        ("public", v["public"].clone()),
        ("body", body),
        ("created_at", v["created_at"].clone()),
        ("channel", v["via"]["channel"].clone()),
        ("attachments", non_empty(&json!(attachments))),
    ])
}

pub(crate) fn comment_schema() -> Value {
    object(
        &["public"],
        json!({
            "id": integer(),
            "author_id": integer(),
            "public": {"type": "boolean", "description": "false for an internal note"},
            "body": string(),
            "created_at": string(),
            "channel": string(),
            "attachments": array(object(&[], json!({
                "file_name": string(), "content_type": string(), "size": integer(), "url": string()
            }))),
        }),
    )
}

pub(crate) fn user(api: &Api<'_>, v: &Value) -> Value {
    let url = v["id"].as_u64().map_or(Value::Null, |id| {
        json!(api.web_url(&["users", &id.to_string()]))
    });
    obj([
        ("id", v["id"].clone()),
        ("name", v["name"].clone()),
        ("email", v["email"].clone()),
        ("role", v["role"].clone()),
        ("phone", v["phone"].clone()),
        ("organization_id", v["organization_id"].clone()),
        ("time_zone", v["time_zone"].clone()),
        ("locale", v["locale"].clone()),
        ("active", v["active"].clone()),
        ("suspended", v["suspended"].clone()),
        ("verified", v["verified"].clone()),
        ("tags", non_empty(&v["tags"])),
        ("external_id", v["external_id"].clone()),
        ("created_at", v["created_at"].clone()),
        ("last_login_at", v["last_login_at"].clone()),
        ("url", url),
    ])
}

pub(crate) fn user_schema() -> Value {
    object(
        &["id"],
        json!({
            "id": integer(),
            "name": string(),
            "email": string(),
            "role": {"type": "string", "description": "end-user, agent or admin"},
            "phone": string(),
            "organization_id": integer(),
            "time_zone": string(),
            "locale": string(),
            "active": boolean(),
            "suspended": boolean(),
            "verified": boolean(),
            "tags": array(string()),
            "external_id": string(),
            "created_at": string(),
            "last_login_at": string(),
            "url": string(),
        }),
    )
}
