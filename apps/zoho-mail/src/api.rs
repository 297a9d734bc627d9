//! Zoho Mail's REST API on the gateway's pooled client: URL building, the
//! `Zoho-oauthtoken` header, the `{"status": {...}, "data": ...}` envelope and the error
//! mapping.
//!
//! Zoho answers errors as `{"status": {"code", "description"}, "data": {"errorCode",
//! "moreInfo"?}}`, e.g. `401 {"data": {"errorCode": "INVALID_OAUTHTOKEN"}, "status":
//! {"code": 401, "description": "Invalid Access"}}`. The update endpoints
//! (`/updatemessage`) answer success without `data`.

use assistiv_app_sdk::http::send_json;
use assistiv_app_sdk::reqwest::{Method, Url};
use assistiv_app_sdk::{AppError, CallContext};
use serde_json::Value;

/// One call's view of Zoho Mail: the base URL and the token, over `ctx.http`.
pub(crate) struct Api<'a> {
    ctx: &'a CallContext,
    base: Url,
}

impl<'a> Api<'a> {
    pub(crate) fn new(ctx: &'a CallContext) -> Result<Self, AppError> {
        let base = Url::parse(ctx.api_base_url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| {
                AppError::Transport(format!(
                    "invalid Zoho Mail API base URL `{}`",
                    ctx.api_base_url
                ))
            })?;
        Ok(Self { ctx, base })
    }

    /// `GET /api/<path...>`; answers the envelope's `data`.
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

    /// `{base}/api/<segments>?<query>`, each segment percent-encoded by `url`.
    fn url(&self, path: &[&str], query: &Query) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("api").extend(path);
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
        let answer = send_json(
            self.ctx,
            method,
            url,
            "Zoho-oauthtoken",
            body,
            &request_name,
        )
        .await?;
        read_envelope(
            answer.status,
            answer.retry_after,
            &answer.body,
            &request_name,
        )
    }
}

/// The envelope's `data` on success, the mapped error otherwise. A 2xx whose envelope
/// reports an error code counts as that error.
fn read_envelope(
    http_status: u16,
    retry_after: Option<u64>,
    bytes: &[u8],
    request_name: &str,
) -> Result<Value, AppError> {
    let body: Option<Value> = serde_json::from_slice(bytes).ok();
    let envelope_status = body
        .as_ref()
        .and_then(|b| b["status"]["code"].as_u64())
        .and_then(|c| u16::try_from(c).ok());
    let status = match envelope_status {
        Some(code) if (200..300).contains(&http_status) && code >= 400 => code,
        _ => http_status,
    };
    match body {
        Some(mut body) if (200..300).contains(&status) => Ok(body["data"].take()),
        None if (200..300).contains(&status) => Err(AppError::Transport(format!(
            "Zoho Mail answered {request_name} with a body that is not JSON"
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

/// Zoho's failure signals: `INVALID_OAUTHTOKEN` (whatever the status) and 401 mean the
/// token is refused; 404 not found; 429 rate limited; 400/422 refused arguments;
/// anything else an upstream error with Zoho's status.
fn map_error(
    status: u16,
    retry_after: Option<u64>,
    body: Option<&Value>,
    raw: &[u8],
    request_name: &str,
) -> AppError {
    let error_code = body.and_then(|b| {
        b["data"]["errorCode"]
            .as_str()
            .or_else(|| b["data"]["error"].as_str())
    });
    if status == 401 || error_code == Some("INVALID_OAUTHTOKEN") {
        return AppError::Unauthorized;
    }
    let detail = body
        .and_then(|b| {
            b["data"]["moreInfo"]
                .as_str()
                .or_else(|| b["status"]["description"].as_str())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| snippet(raw));
    let message = match error_code {
        Some(code) => format!("Zoho Mail {status} {code}: {detail} ({request_name})"),
        None => format!("Zoho Mail {status}: {detail} ({request_name})"),
    };
    match status {
        404 => AppError::NotFound(message),
        429 => AppError::RateLimited {
            retry_after_secs: retry_after,
        },
        400 | 422 => AppError::InvalidArguments(message),
        _ => AppError::Upstream { status, message },
    }
}

/// The start of a non-JSON error body (a proxy's HTML page, say), on one line.
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
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn success_answers_data_or_null() {
        let ok = json!({"status": {"code": 200, "description": "success"}, "data": [1]});
        assert_eq!(
            read_envelope(200, None, &bytes(&ok), "GET /api/x").unwrap(),
            json!([1])
        );
        let no_data = json!({"status": {"code": 200, "description": "success"}});
        assert_eq!(
            read_envelope(200, None, &bytes(&no_data), "PUT /api/x").unwrap(),
            Value::Null
        );
    }

    #[test]
    fn an_error_code_inside_a_200_envelope_is_an_error() {
        let body = json!({"status": {"code": 500, "description": "Internal Error"},
                          "data": {"moreInfo": "Internal Error"}});
        assert_eq!(
            read_envelope(200, None, &bytes(&body), "PUT /api/x").unwrap_err(),
            AppError::Upstream {
                status: 500,
                message: "Zoho Mail 500: Internal Error (PUT /api/x)".into()
            }
        );
    }

    #[test]
    fn invalid_oauthtoken_is_unauthorized_whatever_the_status() {
        let body = json!({"data": {"errorCode": "INVALID_OAUTHTOKEN"},
                          "status": {"code": 400, "description": "Invalid Input"}});
        assert_eq!(
            read_envelope(400, None, &bytes(&body), "GET /api/accounts").unwrap_err(),
            AppError::Unauthorized
        );
    }

    #[test]
    fn non_json_bodies() {
        assert!(matches!(
            read_envelope(200, None, b"<html>", "GET /api/x"),
            Err(AppError::Transport(_))
        ));
        assert_eq!(
            read_envelope(502, None, b"<html>\n  Bad   gateway</html>", "GET /api/x").unwrap_err(),
            AppError::Upstream {
                status: 502,
                message: "Zoho Mail 502: <html> Bad gateway</html> (GET /api/x)".into()
            }
        );
        assert_eq!(snippet(&[b'a'; 300]).len(), 203);
    }
}
