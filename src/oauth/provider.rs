//! Talking to a provider's OAuth endpoints: code exchange and refresh through the
//! `oauth2` crate (over the apps' pooled `reqwest` client), with the app's own token
//! response shape normalized first, and revocation in the provider's style.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assistiv_app_sdk::{App, Revocation, reqwest};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, HttpRequest, HttpResponse,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

/// Tokens as the provider issued them.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<Duration>,
    /// Granted scopes, space-joined, when the provider said.
    pub scopes: Option<String>,
    /// The whole (normalized) answer, for the app's `token_details`.
    pub raw: serde_json::Value,
}

#[derive(Debug)]
pub enum ProviderError {
    /// The provider refused the grant (OAuth error, 400 or 401): the code or refresh
    /// token is dead. Carries the OAuth error code.
    Refused(String),
    /// No usable answer (transport, 5xx, unreadable body).
    Failed(String),
}

/// The client credentials of one activation.
pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub token_url: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// One token request's context: the app whose answer shape applies, and what the
/// answer was (status, normalized JSON) once it came.
#[derive(Clone)]
struct Exchange {
    client: reqwest::Client,
    app: Arc<dyn App>,
    status: Arc<AtomicU16>,
    body: Arc<Mutex<Option<serde_json::Value>>>,
}

impl Exchange {
    fn new(client: &reqwest::Client, app: &Arc<dyn App>) -> Self {
        Self {
            client: client.clone(),
            app: Arc::clone(app),
            status: Arc::new(AtomicU16::new(0)),
            body: Arc::new(Mutex::new(None)),
        }
    }

    fn status(&self) -> u16 {
        self.status.load(Ordering::Relaxed)
    }

    fn body(&self) -> serde_json::Value {
        self.body
            .lock()
            .map(|b| b.clone().unwrap_or_default())
            .unwrap_or_default()
    }
}

/// Sends one oauth2 request, noting the status and the normalized body. The app first
/// rewrites its answer into RFC 6749's shape (Slack's `authed_user`); then an answer
/// with a string `error` (GitHub, Slack and Zoho send those with HTTP 200) becomes a
/// 400 so the `oauth2` crate reads it as the error response it is.
async fn send(exchange: Exchange, request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = exchange
        .client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(format!("token endpoint unreachable: {}", without_url(&e))))?;
    let mut code = response.status();
    let headers = response.headers().clone();
    let mut bytes = response
        .bytes()
        .await
        .map_err(|e| HttpError(format!("reading the token response: {}", without_url(&e))))?
        .to_vec();
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        let json = exchange.app.normalize_token_response(json);
        if code.is_success() && json.get("error").is_some_and(|e| e.is_string()) {
            code = reqwest::StatusCode::BAD_REQUEST;
        }
        bytes = serde_json::to_vec(&json).map_err(|e| HttpError(e.to_string()))?;
        if let Ok(mut slot) = exchange.body.lock() {
            *slot = Some(json);
        }
    }
    exchange.status.store(code.as_u16(), Ordering::Relaxed);
    let mut builder = oauth2::http::Response::builder().status(code.as_u16());
    for (name, value) in &headers {
        // The body may have been rewritten: its old length no longer holds.
        if name != reqwest::header::CONTENT_LENGTH {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    builder.body(bytes).map_err(|e| HttpError(e.to_string()))
}

/// A reqwest error's description without its URL (which may carry query values).
fn without_url(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

fn token_client(
    credentials: &ClientCredentials<'_>,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    ProviderError,
> {
    let token_url = TokenUrl::new(credentials.token_url.to_owned())
        .map_err(|_| ProviderError::Failed("the token URL is invalid".into()))?;
    Ok(
        BasicClient::new(ClientId::new(credentials.client_id.to_owned()))
            .set_client_secret(ClientSecret::new(
                credentials.client_secret.expose_secret().to_owned(),
            ))
            // client_id and client_secret in the form body, as GitHub documents.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url),
    )
}

fn classify<T: oauth2::ErrorResponse>(
    err: RequestTokenError<HttpError, T>,
    status: u16,
) -> ProviderError {
    match err {
        RequestTokenError::ServerResponse(response) => {
            let code = serde_json::to_value(&response)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str().map(str::to_owned)))
                .unwrap_or_else(|| "invalid_grant".into());
            ProviderError::Refused(code)
        }
        _ if status == 400 || status == 401 => ProviderError::Refused(format!("http_{status}")),
        RequestTokenError::Request(e) => ProviderError::Failed(e.to_string()),
        RequestTokenError::Parse(_, _) => {
            ProviderError::Failed(format!("unreadable token response (HTTP {status})"))
        }
        RequestTokenError::Other(_) => {
            ProviderError::Failed(format!("token endpoint answered HTTP {status}"))
        }
    }
}

fn token_set(response: &oauth2::basic::BasicTokenResponse, raw: serde_json::Value) -> TokenSet {
    TokenSet {
        raw,
        access_token: SecretString::from(response.access_token().secret().to_owned()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().to_owned())),
        expires_in: response.expires_in(),
        scopes: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    }
}

/// Exchanges an authorization code (with its PKCE verifier, when one was sent).
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &Arc<dyn App>,
    credentials: &ClientCredentials<'_>,
    redirect_uri: &str,
    code: &str,
    pkce_verifier: Option<&SecretString>,
) -> Result<TokenSet, ProviderError> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| ProviderError::Failed("the redirect URL is invalid".into()))?;
    let client = token_client(credentials)?.set_redirect_uri(redirect);
    let exchange = Exchange::new(http, app);
    let http_fn = |request| send(exchange.clone(), request);
    let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if let Some(verifier) = pkce_verifier {
        request =
            request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()));
    }
    let result = request.request_async(&http_fn).await;
    result
        .map(|r| token_set(&r, exchange.body()))
        .map_err(|e| classify(e, exchange.status()))
}

/// Uses a refresh token.
pub async fn refresh(
    http: &reqwest::Client,
    app: &Arc<dyn App>,
    credentials: &ClientCredentials<'_>,
    refresh_token: &SecretString,
) -> Result<TokenSet, ProviderError> {
    let client = token_client(credentials)?;
    let exchange = Exchange::new(http, app);
    let http_fn = |request| send(exchange.clone(), request);
    let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
    let result = client
        .exchange_refresh_token(&token)
        .request_async(&http_fn)
        .await;
    result
        .map(|r| token_set(&r, exchange.body()))
        .map_err(|e| classify(e, exchange.status()))
}

/// The tokens of a connection being removed, and who asks.
pub struct RevokeRequest<'a> {
    pub revoke_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub access_token: &'a SecretString,
    pub refresh_token: Option<&'a SecretString>,
}

/// Revokes a connection's tokens in the provider's style. The `oauth2` crate insists
/// on https revocation URLs; configured URLs are the operator's choice (a local
/// provider in tests), so these requests are built here.
pub async fn revoke(
    http: &reqwest::Client,
    style: Revocation,
    request: &RevokeRequest<'_>,
) -> Result<(), String> {
    match style {
        Revocation::Rfc7009 => {
            let mut result =
                revoke_rfc7009(http, request, request.access_token, "access_token").await;
            if let Some(refresh) = request.refresh_token {
                result = result.and(revoke_rfc7009(http, request, refresh, "refresh_token").await);
            }
            result
        }
        Revocation::BearerPost => {
            let sent = http
                .post(request.revoke_url)
                .bearer_auth(request.access_token.expose_secret())
                .header("accept", "application/json");
            answered(sent).await
        }
        Revocation::BearerDelete => {
            let sent = http
                .delete(request.revoke_url)
                .bearer_auth(request.access_token.expose_secret());
            answered(sent).await
        }
        Revocation::BasicAuthJsonDelete => {
            let body = serde_json::json!({"access_token": request.access_token.expose_secret()});
            let sent = http
                .delete(request.revoke_url)
                .basic_auth(
                    request.client_id,
                    Some(request.client_secret.expose_secret()),
                )
                .header("accept", "application/vnd.github+json")
                .header("content-type", "application/json")
                .body(body.to_string());
            answered(sent).await
        }
        Revocation::RefreshTokenQuery => {
            let token = request.refresh_token.unwrap_or(request.access_token);
            let mut url = oauth2::url::Url::parse(request.revoke_url)
                .map_err(|_| "invalid revoke URL".to_owned())?;
            url.query_pairs_mut()
                .append_pair("token", token.expose_secret());
            answered(http.post(url.as_str())).await
        }
    }
}

async fn revoke_rfc7009(
    http: &reqwest::Client,
    request: &RevokeRequest<'_>,
    token: &SecretString,
    hint: &str,
) -> Result<(), String> {
    let form = [
        ("token", token.expose_secret()),
        ("token_type_hint", hint),
        ("client_id", request.client_id),
        ("client_secret", request.client_secret.expose_secret()),
    ];
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let sent = http
        .post(request.revoke_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body);
    answered(sent).await
}

/// Success is a 2xx whose JSON body (if any) says neither `"ok": false` nor `"error"`.
async fn answered(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|e| without_url(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let bytes = response.bytes().await.map_err(|e| without_url(&e))?;
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(json) if json.get("ok") == Some(&serde_json::Value::Bool(false)) => Err(format!(
            "refused: {}",
            json.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("ok: false")
        )),
        Ok(json) if json.get("error").is_some_and(|e| e.is_string()) => Err(format!(
            "refused: {}",
            json["error"].as_str().unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

fn urlencode(value: &str) -> String {
    oauth2::url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
