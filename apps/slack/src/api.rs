//! Slack's Web API: `GET {base}/{method}?args` for reads, `POST {base}/{method}` with a
//! JSON body for writes, the token as `Authorization: Bearer`. Every answer is checked
//! for `"ok": true`; Slack's error strings map to the gateway's codes.

use assistiv_app_sdk::secrecy::ExposeSecret;
use assistiv_app_sdk::{AppError, CallContext, reqwest};
use serde_json::Value;

/// One call's client: the gateway's pooled HTTP client, token and base URL.
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Query arguments, only those set.
#[derive(Debug, Default)]
pub(crate) struct Args(Vec<(&'static str, String)>);

impl Args {
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

    #[cfg(test)]
    pub(crate) fn pairs(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

impl Api {
    pub(crate) fn new(ctx: &CallContext) -> Self {
        Self {
            http: ctx.http.clone(),
            base: ctx.api_base_url.trim_end_matches('/').to_owned(),
            token: ctx.access_token.expose_secret().to_owned(),
        }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.base)
    }

    /// A read method with query arguments.
    pub(crate) async fn get(&self, method: &str, args: &Args) -> Result<Value, AppError> {
        let url = reqwest::Url::parse_with_params(&self.url(method), &args.0)
            .map_err(|_| AppError::Transport(format!("invalid Slack API URL {:?}", self.base)))?;
        let request = self.http.get(url).bearer_auth(&self.token);
        answer(request).await
    }

    /// A write method with a JSON body.
    pub(crate) async fn post(&self, method: &str, body: &Value) -> Result<Value, AppError> {
        let request = self
            .http
            .post(self.url(method))
            .bearer_auth(&self.token)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
        answer(request).await
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Result<Value, AppError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let bytes = response.bytes().await.map_err(transport)?;
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let error = body
        .as_ref()
        .and_then(|b| b["error"].as_str())
        .map(str::to_owned);
    match status {
        429 => {
            return Err(AppError::RateLimited {
                retry_after_secs: retry_after,
            });
        }
        200..=299 => {}
        _ => {
            return Err(match error {
                Some(error) => slack_error(
                    &error,
                    body.as_ref().unwrap_or(&Value::Null),
                    retry_after,
                    status,
                ),
                None => AppError::from_status(
                    status,
                    format!("Slack answered HTTP {status}"),
                    retry_after,
                ),
            });
        }
    }
    let Some(body) = body else {
        return Err(AppError::Transport(
            "Slack answered something that is not JSON".into(),
        ));
    };
    if body["ok"] == Value::Bool(true) {
        return Ok(body);
    }
    let error = error.unwrap_or_else(|| "unknown_error".into());
    Err(slack_error(&error, &body, retry_after, 400))
}

fn transport(e: reqwest::Error) -> AppError {
    if e.is_timeout() {
        AppError::Timeout
    } else if e.is_connect() {
        AppError::Transport("cannot reach Slack".into())
    } else {
        AppError::Transport("the request to Slack failed".into())
    }
}

/// Slack's error strings (documented per method) to the gateway's codes. Unknown
/// strings stay upstream errors carrying Slack's word, with `status` (400 for an
/// HTTP 200 `ok: false`).
pub(crate) fn slack_error(
    error: &str,
    body: &Value,
    retry_after: Option<u64>,
    status: u16,
) -> AppError {
    let denied = |hint: &str| AppError::Upstream {
        status: 403,
        message: format!("{error}: {hint}"),
    };
    match error {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            AppError::Unauthorized
        }
        "ratelimited" | "rate_limited" => AppError::RateLimited {
            retry_after_secs: retry_after,
        },
        "channel_not_found" | "user_not_found" | "users_not_found" | "message_not_found"
        | "thread_not_found" | "not_found" => AppError::NotFound(format!("Slack: {error}")),
        "not_in_channel" => {
            denied("the user is not a member of this channel; join it in Slack first")
        }
        "is_archived" | "channel_is_archived" => denied("the channel is archived"),
        "missing_scope" => denied(&format!(
            "the connection lacks the `{}` scope; connect Slack again with it",
            body["needed"].as_str().unwrap_or("needed")
        )),
        "restricted_action"
        | "restricted_action_read_only_channel"
        | "restricted_action_thread_only_channel"
        | "restricted_action_non_threadable_channel"
        | "cant_reply"
        | "no_permission"
        | "access_denied"
        | "ekm_access_denied"
        | "team_access_not_granted"
        | "not_allowed_token_type" => denied("Slack does not allow this for this user"),
        "invalid_arguments"
        | "invalid_arg_name"
        | "invalid_array_arg"
        | "invalid_charset"
        | "invalid_form_data"
        | "invalid_post_type"
        | "missing_post_type"
        | "invalid_blocks"
        | "invalid_blocks_format"
        | "msg_too_long"
        | "no_text"
        | "too_many_attachments"
        | "invalid_time"
        | "time_in_past"
        | "time_too_far"
        | "invalid_name"
        | "already_reacted"
        | "too_many_reactions"
        | "too_many_emoji"
        | "invalid_cursor"
        | "invalid_ts_latest"
        | "invalid_ts_oldest"
        | "invalid_thread_ts"
        | "cannot_reply_to_message"
        | "bad_timestamp" => {
            AppError::InvalidArguments(format!("Slack refused the arguments: {error}"))
        }
        "fatal_error" | "internal_error" | "service_unavailable" | "request_timeout" => {
            AppError::Upstream {
                status: if status >= 500 { status } else { 503 },
                message: format!("Slack failed: {error}"),
            }
        }
        other => AppError::Upstream {
            status,
            message: format!("Slack answered `{other}`"),
        },
    }
}

/// Slack's cursor for the next page (`response_metadata.next_cursor`), when there is one.
pub(crate) fn next_cursor(body: &Value) -> Option<String> {
    body["response_metadata"]["next_cursor"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
}

/// A Slack message timestamp: digits, a dot, digits (`1503435956.000247`).
pub(crate) fn check_ts(value: &str, field: &str) -> Result<(), AppError> {
    let ok = value.split_once('.').is_some_and(|(secs, micros)| {
        !secs.is_empty()
            && !micros.is_empty()
            && secs.bytes().all(|b| b.is_ascii_digit())
            && micros.bytes().all(|b| b.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        Err(AppError::InvalidArguments(format!(
            "`{field}` must be a Slack timestamp like 1503435956.000247, got {value:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn error_strings_map_to_codes() {
        let cases = [
            ("invalid_auth", "unauthorized"),
            ("token_revoked", "unauthorized"),
            ("ratelimited", "rate_limited"),
            ("channel_not_found", "not_found"),
            ("not_in_channel", "upstream_error"),
            ("missing_scope", "upstream_error"),
            ("time_in_past", "invalid_arguments"),
            ("fatal_error", "upstream_error"),
            ("something_new", "upstream_error"),
        ];
        for (error, code) in cases {
            assert_eq!(
                slack_error(error, &json!({}), None, 400).code(),
                code,
                "{error}"
            );
        }
        assert_eq!(
            slack_error("not_in_channel", &json!({}), None, 400).upstream_status(),
            Some(403)
        );
        let scope = slack_error(
            "missing_scope",
            &json!({"needed": "search:read"}),
            None,
            400,
        );
        assert!(scope.to_string().contains("search:read"), "{scope}");
        assert_eq!(
            slack_error("ratelimited", &json!({}), Some(30), 429),
            AppError::RateLimited {
                retry_after_secs: Some(30)
            }
        );
    }

    #[test]
    fn timestamps_and_cursors() {
        assert!(check_ts("1503435956.000247", "ts").is_ok());
        for bad in [
            "",
            "1503435956",
            ".1",
            "1.",
            "1.2.3",
            "a.b",
            "1503435956.000247&x=1",
        ] {
            assert!(check_ts(bad, "ts").is_err(), "{bad:?}");
        }
        assert_eq!(
            next_cursor(&json!({"response_metadata": {"next_cursor": ""}})),
            None
        );
        assert_eq!(
            next_cursor(&json!({"response_metadata": {"next_cursor": "abc"}})).as_deref(),
            Some("abc")
        );
        let args = Args::new()
            .set("a", 1)
            .opt("b", None::<u32>)
            .opt("c", Some("x"));
        assert_eq!(
            args.pairs(),
            &[("a", "1".to_string()), ("c", "x".to_string())]
        );
    }
}
