//! Extractors whose rejections answer in the contract's error envelope.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;

use crate::error::Error;

/// `axum::Json`, rejecting with the error envelope.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path`, rejecting with the error envelope.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query`, rejecting with the error envelope.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

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

/// For optional fields where `null` means "clear": absent → `None`, `null` →
/// `Some(None)`, a value → `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A JSON body that may be left out entirely (an empty body means `T::default()`).
pub fn json_or_default<T>(body: &[u8]) -> Result<T, Error>
where
    T: serde::de::DeserializeOwned + Default,
{
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
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
