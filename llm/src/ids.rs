//! Ids and timestamps of translated answers.

use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh `chatcmpl-...` id.
pub fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh `call_...` tool-call id.
pub fn tool_call_id() -> String {
    format!("call_{}", uuid::Uuid::new_v4().simple())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
