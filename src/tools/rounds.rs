//! Multi round-trip tool calls (the `2026-07-28` revision's `input_required`):
//! a source may answer a call with questions for the user (elicitations) instead
//! of a result, and the client retries the same call with the answers and the
//! `requestState` it was given. The state is the gateway's memory between rounds,
//! held by the client: it is sealed with the master key (AES-256-GCM) and bound to
//! the end user, the tool and a digest of the arguments, with an expiry, so it
//! cannot be read, altered, replayed by another user or moved to another call.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema, InputRequest,
    InputRequests,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ToolCaller;
use crate::oauth::vault::Vault;

/// How long a question may wait for its answer.
pub const STATE_TTL_MS: i64 = 30 * 60 * 1000;
/// A sealed state longer than this is refused before any decryption.
const MAX_STATE_LEN: usize = 16 * 1024;

/// What this round of a call brings: which kinds of question the client can put
/// to its user, its answers to the last round's questions, and the state the
/// gateway gave it then (opened and checked).
#[derive(Debug, Clone, Default)]
pub struct Rounds {
    /// The client declared form elicitation.
    pub form: bool,
    /// The client declared URL elicitation.
    pub url: bool,
    pub responses: BTreeMap<String, Value>,
    /// The previous round's state; `None` on a first round.
    pub state: Option<Value>,
}

impl Rounds {
    /// A caller that cannot answer questions (older revisions, the Responses API).
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether the client can put any question to its user.
    pub fn can_ask(&self) -> bool {
        self.form || self.url
    }

    /// The user's answer to the question asked under `key`, if any.
    pub fn answer(&self, key: &str) -> Option<Answer> {
        let response = self.responses.get(key)?;
        let action: ElicitationAction =
            serde_json::from_value(response.get("action")?.clone()).ok()?;
        Some(match action {
            ElicitationAction::Accept => Answer::Accepted(
                response
                    .get("content")
                    .cloned()
                    .unwrap_or(Value::Object(Default::default())),
            ),
            _ => Answer::Refused,
        })
    }

    /// The previous round's state as `T`, when there was one of that shape.
    pub fn state_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.state
            .as_ref()
            .and_then(|s| serde_json::from_value(s.clone()).ok())
    }
}

/// A user's answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Accepted, with the form's content (`{}` for a URL or a yes/no question).
    Accepted(Value),
    /// Declined or cancelled.
    Refused,
}

/// Questions for the user, and what the source needs to remember until the answers come.
#[derive(Debug, Clone)]
pub struct Ask {
    pub requests: InputRequests,
    pub state: Value,
}

impl Ask {
    pub fn new(state: impl Serialize) -> Self {
        Self {
            requests: InputRequests::new(),
            state: serde_json::to_value(state).unwrap_or(Value::Null),
        }
    }

    /// Adds a form question.
    pub fn form(mut self, key: &str, message: String, schema: ElicitationSchema) -> Self {
        self.requests.insert(
            key.to_owned(),
            InputRequest::Elicitation(ElicitRequest::new(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema: schema,
                },
            )),
        );
        self
    }

    /// Adds a URL the user should open.
    pub fn url(mut self, key: &str, message: String, url: String) -> Self {
        self.requests.insert(
            key.to_owned(),
            InputRequest::Elicitation(ElicitRequest::new(
                ElicitRequestParams::UrlElicitationParams {
                    meta: None,
                    message,
                    url,
                    // 2026-07-28 has no elicitation ids: rmcp leaves an empty one out.
                    elicitation_id: String::new(),
                },
            )),
        );
        self
    }
}

/// What a source answers a round with.
#[derive(Debug)]
pub enum Step {
    Complete(rmcp::model::CallToolResult),
    Ask(Ask),
}

/// A `requestState` that does not open for this call.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error(
        "requestState was not issued by this gateway for this end user and this call \
         (forged, altered, another user's, or for other arguments); call again without it"
    )]
    Invalid,
    #[error("requestState has expired; call again without it")]
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// Expiry, epoch milliseconds.
    exp: i64,
    state: Value,
}

/// What a state is bound to (the vault's associated data): the end user, the
/// tool and the arguments.
pub fn binding(caller: &ToolCaller, tool: &str, arguments: &Value) -> String {
    let mut digest = Sha256::new();
    canonical(arguments, &mut digest);
    format!(
        "request_state:{}:{}:{tool}:{}",
        caller.platform_id,
        caller.end_user_id,
        hex::encode(digest.finalize())
    )
}

/// Feeds `value` to the digest with object keys sorted, so the same arguments
/// in another key order bind the same.
fn canonical(value: &Value, digest: &mut Sha256) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            digest.update(b"{");
            for key in keys {
                digest.update(serde_json::to_string(key).unwrap_or_default().as_bytes());
                digest.update(b":");
                canonical(&map[key], digest);
                digest.update(b",");
            }
            digest.update(b"}");
        }
        Value::Array(items) => {
            digest.update(b"[");
            for item in items {
                canonical(item, digest);
                digest.update(b",");
            }
            digest.update(b"]");
        }
        other => digest.update(other.to_string().as_bytes()),
    }
}

/// Seals `state` for the call `binding` names.
pub fn seal(
    vault: &Vault,
    binding: &str,
    state: Value,
    now_ms: i64,
) -> Result<String, crate::error::Error> {
    let plain = serde_json::to_vec(&Sealed {
        exp: now_ms + STATE_TTL_MS,
        state,
    })
    .map_err(crate::error::Error::internal)?;
    let sealed = vault
        .seal_bytes(&plain, binding)
        .map_err(|_| crate::error::Error::internal("sealing requestState"))?;
    Ok(B64.encode(sealed))
}

/// Opens a state [`seal`] made for the call `binding` names.
pub fn open(vault: &Vault, binding: &str, sealed: &str, now_ms: i64) -> Result<Value, StateError> {
    if sealed.len() > MAX_STATE_LEN {
        return Err(StateError::Invalid);
    }
    let bytes = B64.decode(sealed).map_err(|_| StateError::Invalid)?;
    let plain = vault
        .open_bytes(&bytes, binding)
        .map_err(|_| StateError::Invalid)?;
    let opened: Sealed = serde_json::from_slice(&plain).map_err(|_| StateError::Invalid)?;
    if opened.exp <= now_ms {
        return Err(StateError::Expired);
    }
    Ok(opened.state)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::tools::ToolScope;

    fn caller(end_user_id: Uuid) -> ToolCaller {
        ToolCaller {
            key: crate::auth::cache::AuthContext {
                key_id: Uuid::nil(),
                kind: crate::auth::KeyKind::EndUser,
                platform_id: Uuid::nil(),
                end_user_id: Some(end_user_id),
                key_prefix: "sk-eu_test".into(),
            },
            platform_id: Uuid::nil(),
            end_user_id,
            scope: ToolScope::All,
            request_id: "r".into(),
            over_rate_limit: None,
        }
    }

    #[test]
    fn a_state_opens_only_for_its_user_tool_and_arguments_until_it_expires() {
        let vault = Vault::new(&[7u8; 32]);
        let alice = caller(Uuid::now_v7());
        let args = json!({"b": 1, "a": [1, {"y": 2, "x": 3}]});
        let bound = binding(&alice, "t", &args);
        let sealed = seal(&vault, &bound, json!({"step": 1}), 0).unwrap();
        let reordered = json!({"a": [1, {"x": 3, "y": 2}], "b": 1});
        assert_eq!(
            open(&vault, &binding(&alice, "t", &reordered), &sealed, 1).unwrap(),
            json!({"step": 1})
        );
        let bob = caller(Uuid::now_v7());
        for other in [
            binding(&bob, "t", &args),
            binding(&alice, "u", &args),
            binding(&alice, "t", &json!({"b": 2})),
        ] {
            assert_eq!(open(&vault, &other, &sealed, 1), Err(StateError::Invalid));
        }
        assert_eq!(
            open(&vault, &bound, &sealed, STATE_TTL_MS),
            Err(StateError::Expired)
        );
        assert_eq!(
            open(&Vault::new(&[8u8; 32]), &bound, &sealed, 1),
            Err(StateError::Invalid)
        );
        for forged in ["", "abc", "!!!", &"A".repeat(MAX_STATE_LEN + 1)] {
            assert_eq!(open(&vault, &bound, forged, 1), Err(StateError::Invalid));
        }
    }
}
