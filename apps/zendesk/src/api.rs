//! Zendesk's Support API v2 on the gateway's pooled client: URL building on the
//! account's own host, the bearer token, and the error mapping.
//!
//! Zendesk answers errors as `{"error": "RecordNotFound", "description": "Not found"}`,
//! validation failures (422) with `details` per field (`{"details": {"requester":
//! [{"description": "Requester: Email is not properly formatted", "error":
//! "InvalidValue"}]}}`), an unauthenticated call as `401 {"error": "Couldn't
//! authenticate you"}`, and rate limits as 429 with `Retry-After` in seconds.

use assistiv_app_sdk::http::send_json;
use assistiv_app_sdk::reqwest::{Method, Url};
use assistiv_app_sdk::{AppError, CallContext};
use serde_json::Value;

use crate::SUBDOMAIN_PLACEHOLDER;

/// One call's view of a Zendesk account: its base URL and the token, over `ctx.http`.
pub(crate) struct Api<'a> {
    ctx: &'a CallContext,
    base: Url,
}

impl<'a> Api<'a> {
    pub(crate) fn new(ctx: &'a CallContext) -> Result<Self, AppError> {
        let raw = ctx.api_base_url.trim_end_matches('/');
        if raw.contains(SUBDOMAIN_PLACEHOLDER) {
            return Err(AppError::Transport(format!(
                "the Zendesk API base URL `{raw}` has no subdomain: the connection must \
                 carry the account's subdomain"
            )));
        }
        let base = Url::parse(raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| AppError::Transport(format!("invalid Zendesk API base URL `{raw}`")))?;
        Ok(Self { ctx, base })
    }

    /// The agent interface's address of a resource, e.g. `agent/tickets/35436`.
    pub(crate) fn web_url(&self, path: &[&str]) -> String {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("agent").extend(path);
        }
        url.into()
    }

    /// `GET /api/v2/<path...>`; the last segment carries `.json` (`tickets/1.json`).
    pub(crate) async fn get(&self, path: &[&str], query: &Query) -> Result<Value, AppError> {
        self.send(Method::GET, path, query, None).await
    }

    pub(crate) async fn post(&self, path: &[&str], body: &Value) -> Result<Value, AppError> {
        self.send(Method::POST, path, &Query::new(), Some(body))
            .await
    }

    pub(crate) async fn put(&self, path: &[&str], body: &Value) -> Result<Value, AppError> {
        self.send(Method::PUT, path, &Query::new(), Some(body))
            .await
    }

    /// `{base}/api/v2/<segments>?<query>`, each segment percent-encoded by `url`.
    fn url(&self, path: &[&str], query: &Query) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "v2"]).extend(path);
        }
        if !query.0.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.0.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        path: &[&str],
        query: &Query,
        body: Option<&Value>,
    ) -> Result<Value, AppError> {
        let url = self.url(path, query);
        let request_name = format!("{method} {}", url.path());
        let answer = send_json(self.ctx, method, url, "Bearer", body, &request_name).await?;
        read_body(
            answer.status,
            answer.retry_after,
            &answer.body,
            &request_name,
        )
    }
}

fn read_body(
    status: u16,
    retry_after: Option<u64>,
    bytes: &[u8],
    request_name: &str,
) -> Result<Value, AppError> {
    let body: Option<Value> = serde_json::from_slice(bytes).ok();
    match body {
        Some(body) if (200..300).contains(&status) => Ok(body),
        None if (200..300).contains(&status) => Err(AppError::Transport(format!(
            "Zendesk answered {request_name} with a body that is not JSON"
        ))),
        body => Err(map_error(
            status,
            retry_after,
            body.as_ref(),
            bytes,
            request_name,
        )),
    }
}

/// 401 refused token; 404 not found; 429 rate limited; 400/422 refused arguments (with
/// Zendesk's per-field details); anything else an upstream error with Zendesk's status.
fn map_error(
    status: u16,
    retry_after: Option<u64>,
    body: Option<&Value>,
    raw: &[u8],
    request_name: &str,
) -> AppError {
    let message = body
        .map(describe)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| snippet(raw));
    let message = format!("Zendesk {status}: {message} ({request_name})");
    match status {
        401 => AppError::Unauthorized,
        404 => AppError::NotFound(message),
        429 => AppError::RateLimited {
            retry_after_secs: retry_after,
        },
        400 | 422 => AppError::InvalidArguments(message),
        _ => AppError::Upstream { status, message },
    }
}

/// "RecordInvalid: Record validation errors; Requester: Email is not properly formatted".
/// `error` is a string in most answers, `{"title", "message"}` in some.
fn describe(body: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    match &body["error"] {
        Value::String(e) => parts.push(e.clone()),
        Value::Object(e) => {
            let title = e.get("title").and_then(Value::as_str).unwrap_or_default();
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            parts.push(
                [title, message]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(": "),
            );
        }
        _ => {}
    }
    if let Some(description) = body["description"].as_str() {
        parts.push(description.to_string());
    }
    if let Some(details) = body["details"].as_object() {
        for entries in details.values() {
            for entry in entries.as_array().into_iter().flatten() {
                if let Some(d) = entry["description"].as_str() {
                    parts.push(d.to_string());
                }
            }
        }
    }
    let head: Vec<String> = parts.iter().take(2).cloned().collect();
    let mut text = head.join(": ");
    for detail in parts.iter().skip(2) {
        text.push_str("; ");
        text.push_str(detail);
    }
    text
}

/// The start of a non-JSON error body, on one line.
fn snippet(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None if line.is_empty() => "no details".to_string(),
        None => line,
    }
}

/// Query parameters, only those set.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(&'static str, String)>);

impl Query {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn set(mut self, key: &'static str, value: impl ToString) -> Self {
        self.0.push((key, value.to_string()));
        self
    }

    pub(crate) fn opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_described_with_their_details() {
        let invalid = json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {
                "requester": [{"description": "Requester: Email is not properly formatted", "error": "InvalidValue"}],
                "subject": [{"description": "Subject: cannot be blank", "error": "BlankValue"}]
            }
        });
        assert_eq!(
            describe(&invalid),
            "RecordInvalid: Record validation errors; Requester: Email is not properly \
             formatted; Subject: cannot be blank"
        );
        assert_eq!(
            describe(
                &json!({"error": {"title": "Forbidden", "message": "You do not have access"}})
            ),
            "Forbidden: You do not have access"
        );
        assert_eq!(
            describe(&json!({"error": "Couldn't authenticate you"})),
            "Couldn't authenticate you"
        );
        assert_eq!(describe(&json!([])), "");
    }

    #[test]
    fn statuses_map_to_app_errors() {
        let body = |v: Value| serde_json::to_vec(&v).unwrap_or_default();
        let not_found = read_body(
            404,
            None,
            &body(json!({"error": "RecordNotFound", "description": "Not found"})),
            "GET /api/v2/tickets/1.json",
        );
        assert_eq!(
            not_found,
            Err(AppError::NotFound(
                "Zendesk 404: RecordNotFound: Not found (GET /api/v2/tickets/1.json)".into()
            ))
        );
        assert_eq!(
            read_body(503, None, b"", "GET /x"),
            Err(AppError::Upstream {
                status: 503,
                message: "Zendesk 503: no details (GET /x)".into()
            })
        );
        assert!(matches!(
            read_body(200, None, b"<html>", "GET /x"),
            Err(AppError::Transport(_))
        ));
    }
}
