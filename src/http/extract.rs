//! Extractors whose rejections answer in the contract's error envelope, and the
//! one place where text carrying NUL (U+0000) is refused: PostgreSQL cannot store
//! it (TEXT refuses the byte, JSONB the escape), so it is a 400 on both databases
//! before anything runs.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;

/// The refusal of text holding U+0000, wherever it came from.
pub use crate::domain::nul::{NUL_REFUSED, nul_path};

/// `axum::Json` (same content-type rule and body limit), rejecting with the error
/// envelope and refusing NUL in any string or key.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path`, rejecting with the error envelope (and NUL).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query`, rejecting with the error envelope (and NUL).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        if !is_json_content_type(request.headers()) {
            return Err(Error::unsupported_media_type(
                "expected a request body with Content-Type: application/json",
            ));
        }
        let body = Bytes::from_request(request, state).await?;
        refuse_nul_in_json(&body)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&body)?;
        Ok(Self(value))
    }
}

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        // Path parameters are percent-decoded: `%00` is the only way NUL gets in.
        if parts.uri.path().contains("%00") {
            return Err(Error::bad_request(format!("{NUL_REFUSED} (in the path)")));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        if let Some(query) = parts.uri.query() {
            refuse_nul_in_query(query)?;
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// axum's rule: `application/json` or any `application/*+json`.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime_guess::mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        })
}

/// 400 when JSON text holds U+0000. Raw NUL bytes are not valid JSON (the parser
/// refuses them), so only the escape `\u0000` needs finding: one pass over the
/// bytes, before parsing; the field is named only on the refusal path.
pub fn refuse_nul_in_json(json: &[u8]) -> Result<(), Error> {
    if !has_escaped_nul(json) {
        return Ok(());
    }
    let at = serde_json::from_slice::<Value>(json)
        .ok()
        .and_then(|value| nul_path(&value));
    Err(match at {
        Some(path) if !path.is_empty() => Error::bad_request(format!("{NUL_REFUSED} (at {path})")),
        _ => Error::bad_request(NUL_REFUSED),
    })
}

/// Whether JSON text spells U+0000 as an escape. Escapes are read pairwise so an
/// escaped backslash followed by `u0000` (the six characters `\u0000`) is not one.
fn has_escaped_nul(json: &[u8]) -> bool {
    let mut rest = json;
    while let Some(at) = rest.iter().position(|&b| b == b'\\') {
        let escape = &rest[at..];
        if escape.starts_with(b"\\u0000") {
            return true;
        }
        rest = escape.get(2..).unwrap_or_default();
    }
    false
}

/// 400 when a query parameter decodes to text holding U+0000 (`%00`), naming it.
fn refuse_nul_in_query(query: &str) -> Result<(), Error> {
    if !query.contains("%00") {
        return Ok(());
    }
    let name = query
        .split('&')
        .find(|pair| pair.contains("%00"))
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .unwrap_or_default();
    Err(Error::bad_request(format!(
        "{NUL_REFUSED} (in the query parameter '{name}')"
    )))
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Error::payload_too_large(text),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::unsupported_media_type(
                "expected a request body with Content-Type: application/json",
            ),
            _ => Error::bad_request(text),
        }
    }
}

impl From<BytesRejection> for Error {
    fn from(rejection: BytesRejection) -> Self {
        let text = rejection.body_text();
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Error::payload_too_large(text),
            _ => Error::bad_request(text),
        }
    }
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Error::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::bad_request(rejection.body_text())
    }
}

/// A JSON body that may be left out entirely (an empty body means `T::default()`).
pub fn json_or_default<T>(body: &[u8]) -> Result<T, Error>
where
    T: serde::de::DeserializeOwned + Default,
{
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    refuse_nul_in_json(body)?;
    serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
}

/// A JSON body plus its `Idempotency-Key`, for money-moving POSTs. The request
/// digest covers the method, the path and the (canonicalised) body, so reusing a
/// key for another request is detected.
pub struct IdempotentJson<T> {
    pub body: T,
    pub idempotency: Option<crate::billing::idempotency::IdempotentRequest>,
}

impl<S, T> FromRequest<S> for IdempotentJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Error> {
        use sha2::{Digest, Sha256};
        let key = request
            .headers()
            .get("idempotency-key")
            .map(|v| {
                v.to_str()
                    .map_err(|_| Error::bad_request("Idempotency-Key must be printable ASCII"))
                    .and_then(crate::billing::idempotency::IdempotentRequest::parse_key)
            })
            .transpose()?;
        let line = format!("{} {}", request.method(), request.uri().path());
        let ApiJson(value) = ApiJson::<serde_json::Value>::from_request(request, state).await?;
        let idempotency = key.map(|key| {
            let digest = Sha256::digest(format!("{line}\n{value}").as_bytes());
            crate::billing::idempotency::IdempotentRequest {
                key,
                request_hash: hex::encode(digest),
            }
        });
        let body = serde_json::from_value(value)
            .map_err(|e| Error::bad_request(format!("invalid request body: {e}")))?;
        Ok(Self { body, idempotency })
    }
}

/// A response replayed from, or stored for, an idempotent request.
pub fn idempotent_response(
    status: u16,
    body: serde_json::Value,
    replayed: bool,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(body)).into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn the_nul_escape_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(has_escaped_nul(br#"{"a": "x\u0000y"}"#));
        assert!(has_escaped_nul(br#"{"a\u0000": 1}"#));
        assert!(has_escaped_nul(br#"["\\\u0000"]"#), "\\\\ then the escape");
        assert!(
            !has_escaped_nul(br#"{"a": "\\u0000"}"#),
            "the six characters \\u0000"
        );
        assert!(!has_escaped_nul(br#"{"a": "\u0001 \n \\"}"#));
        assert!(!has_escaped_nul(br#"{"a": "trailing \"#));
    }

    #[test]
    fn the_refusal_names_where_the_nul_is() {
        let path = |v: Value| nul_path(&v);
        assert_eq!(
            path(json!({"metadata": {"k": "a\0"}})).unwrap(),
            "metadata.k"
        );
        assert_eq!(
            path(json!({"files": [{}, {"path": "\0"}]})).unwrap(),
            "files[1].path"
        );
        assert_eq!(path(json!([["\0"]])).unwrap(), "[0][0]");
        assert_eq!(path(json!({"a\0b": 1})).unwrap(), "a\\u0000b");
        assert_eq!(path(json!({"a": "no nul", "b": [1, null]})), None);

        let err = refuse_nul_in_json(br#"{"config": {"x": ["\u0000"]}}"#).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::BadRequest);
        assert_eq!(
            err.message(),
            "text must not contain NUL (U+0000) characters (at config.x[0])"
        );
        refuse_nul_in_json(br#"{"ok": "\\u0000"}"#).unwrap();
    }

    #[test]
    fn a_query_parameter_decoding_to_nul_is_named() {
        refuse_nul_in_query("a=1&b=%30").unwrap();
        let err = refuse_nul_in_query("a=1&external_id=x%00y").unwrap_err();
        assert!(
            err.message()
                .ends_with("(in the query parameter 'external_id')")
        );
    }
}
