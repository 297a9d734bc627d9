//! NUL (U+0000) in text: PostgreSQL refuses it where SQLite stores it, so it is
//! refused at every edge, on both databases alike, before anything is written.

use serde_json::Value;

pub const NUL_REFUSED: &str = "text must not contain NUL (U+0000) characters";

/// Where in `value` the first string or key holding U+0000 is (`metadata.note`,
/// `files[2].path`; empty for the value itself), if anywhere.
pub fn nul_path(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item).map(|rest| join(&format!("[{i}]"), &rest))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let name = key.replace('\0', "\\u0000");
            if key.contains('\0') {
                return Some(name);
            }
            nul_path(item).map(|rest| join(&name, &rest))
        }),
        _ => None,
    }
}

fn join(head: &str, rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        format!("{head}{rest}")
    } else {
        format!("{head}.{rest}")
    }
}
