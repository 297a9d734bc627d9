//! One authorized JSON request on the gateway's pooled client, for apps that speak
//! plain REST: the token in `Authorization` (marked sensitive, never logged), the
//! JSON body, and what an app needs to map the answer (status, `Retry-After`, bytes).

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::{AppError, CallContext};

/// An upstream answer before the app reads it.
pub struct RawResponse {
    pub status: u16,
    /// `Retry-After` in seconds (an HTTP date is ignored).
    pub retry_after: Option<u64>,
    pub body: Vec<u8>,
}

/// Sends `body` (if any) as JSON to `url` with `Authorization: {scheme} {token}`.
/// `request_name` (e.g. `GET /api/v2/tickets/1.json`) names the call in errors.
pub async fn send_json(
    ctx: &CallContext,
    method: Method,
    url: Url,
    scheme: &str,
    body: Option<&Value>,
    request_name: &str,
) -> Result<RawResponse, AppError> {
    let mut auth = HeaderValue::from_str(&format!("{scheme} {}", ctx.access_token.expose_secret()))
        .map_err(|_| AppError::Transport("the access token is not a valid header value".into()))?;
    auth.set_sensitive(true);
    let mut request = ctx
        .http
        .request(method, url)
        .header(AUTHORIZATION, auth)
        .header(ACCEPT, "application/json");
    if let Some(body) = body {
        let bytes =
            serde_json::to_vec(body).map_err(|e| AppError::InvalidArguments(e.to_string()))?;
        request = request.header(CONTENT_TYPE, "application/json").body(bytes);
    }
    let response = request
        .send()
        .await
        .map_err(|e| transport(&e, request_name))?;
    let status = response.status().as_u16();
    let retry_after = retry_after_secs(response.headers());
    let body = response
        .bytes()
        .await
        .map_err(|e| transport(&e, request_name))?;
    Ok(RawResponse {
        status,
        retry_after,
        body: body.to_vec(),
    })
}

/// A request that never got an answer: a timeout, or a transport failure.
pub fn transport(err: &reqwest::Error, request_name: &str) -> AppError {
    if err.is_timeout() {
        AppError::Timeout
    } else {
        AppError::Transport(format!("{request_name}: {err}"))
    }
}

/// `Retry-After` in seconds; an HTTP date is ignored.
pub fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}
