//! Field pickers: the compact views of Slack's objects the tools answer with.

use serde_json::{Map, Value, json};

/// `src[key]` for each key that is present and not null or empty.
fn pick(src: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| {
            let v = &src[*k];
            let empty = v.is_null() || v.as_str().is_some_and(str::is_empty);
            (!empty).then(|| ((*k).to_owned(), v.clone()))
        })
        .collect()
}

/// The items of the array at `src[key]` through `f`.
pub(crate) fn list(src: &Value, key: &str, f: impl Fn(&Value) -> Value) -> Vec<Value> {
    src[key]
        .as_array()
        .map(|items| items.iter().map(f).collect())
        .unwrap_or_default()
}

pub(crate) fn channel(c: &Value) -> Value {
    let mut out = pick(
        c,
        &[
            "id",
            "name",
            "is_private",
            "is_archived",
            "is_member",
            "num_members",
        ],
    );
    for key in ["topic", "purpose"] {
        if let Some(text) = c[key]["value"].as_str().filter(|t| !t.is_empty()) {
            out.insert(key.to_owned(), json!(text));
        }
    }
    Value::Object(out)
}

pub(crate) fn message(m: &Value) -> Value {
    let mut out = pick(
        m,
        &[
            "ts",
            "user",
            "bot_id",
            "username",
            "subtype",
            "text",
            "thread_ts",
            "reply_count",
            "parent_user_id",
        ],
    );
    if let Some(reactions) = m["reactions"].as_array() {
        let reactions: Vec<Value> = reactions
            .iter()
            .map(|r| json!({"name": r["name"], "count": r["count"]}))
            .collect();
        out.insert("reactions".into(), json!(reactions));
    }
    Value::Object(out)
}

pub(crate) fn user(u: &Value) -> Value {
    let mut out = pick(
        u,
        &[
            "id",
            "name",
            "real_name",
            "tz",
            "deleted",
            "is_bot",
            "is_admin",
        ],
    );
    let profile = pick(&u["profile"], &["display_name", "title", "email"]);
    out.extend(profile);
    Value::Object(out)
}

pub(crate) fn profile(p: &Value) -> Value {
    Value::Object(pick(
        p,
        &[
            "real_name",
            "display_name",
            "title",
            "email",
            "phone",
            "status_text",
            "status_emoji",
            "first_name",
            "last_name",
            "image_72",
        ],
    ))
}

pub(crate) fn search_match(m: &Value) -> Value {
    let mut out = pick(m, &["ts", "user", "username", "text", "permalink"]);
    out.insert(
        "channel".into(),
        json!({"id": m["channel"]["id"], "name": m["channel"]["name"]}),
    );
    Value::Object(out)
}
