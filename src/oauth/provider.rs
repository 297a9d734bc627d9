//! Talking to a provider's OAuth endpoints: code exchange and refresh through the
//! `oauth2` crate (over the apps' pooled `reqwest` client), RFC 7009 revocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use assistiv_app_sdk::reqwest;
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

/// Sends one oauth2 request with `client`, noting the status in `status`. GitHub
/// answers token errors with 200 and `{"error": ...}`: that becomes a 400 so the
/// `oauth2` crate reads it as the error response it is.
async fn send(
    client: reqwest::Client,
    status: Arc<AtomicU16>,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(format!("token endpoint unreachable: {}", without_url(&e))))?;
    let mut code = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| HttpError(format!("reading the token response: {}", without_url(&e))))?;
    if code.is_success()
        && serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .is_some_and(|v| v.get("error").is_some_and(|e| e.is_string()))
    {
        code = reqwest::StatusCode::BAD_REQUEST;
    }
    status.store(code.as_u16(), Ordering::Relaxed);
    let mut builder = oauth2::http::Response::builder().status(code.as_u16());
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder
        .body(bytes.to_vec())
        .map_err(|e| HttpError(e.to_string()))
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

fn token_set(response: &oauth2::basic::BasicTokenResponse) -> TokenSet {
    TokenSet {
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
    credentials: &ClientCredentials<'_>,
    redirect_uri: &str,
    code: &str,
    pkce_verifier: Option<&SecretString>,
) -> Result<TokenSet, ProviderError> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| ProviderError::Failed("the redirect URL is invalid".into()))?;
    let client = token_client(credentials)?.set_redirect_uri(redirect);
    let status = Arc::new(AtomicU16::new(0));
    let http_fn = |request| send(http.clone(), status.clone(), request);
    let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if let Some(verifier) = pkce_verifier {
        request =
            request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()));
    }
    let result = request.request_async(&http_fn).await;
    result
        .map(|r| token_set(&r))
        .map_err(|e| classify(e, status.load(Ordering::Relaxed)))
}

/// Uses a refresh token.
pub async fn refresh(
    http: &reqwest::Client,
    credentials: &ClientCredentials<'_>,
    refresh_token: &SecretString,
) -> Result<TokenSet, ProviderError> {
    let client = token_client(credentials)?;
    let status = Arc::new(AtomicU16::new(0));
    let http_fn = |request| send(http.clone(), status.clone(), request);
    let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
    let result = client
        .exchange_refresh_token(&token)
        .request_async(&http_fn)
        .await;
    result
        .map(|r| token_set(&r))
        .map_err(|e| classify(e, status.load(Ordering::Relaxed)))
}

/// RFC 7009 revocation (form POST with the client credentials). The `oauth2` crate
/// insists on https revocation URLs; configured URLs are the operator's choice (a
/// local provider in tests), so this request is built here.
pub async fn revoke(
    http: &reqwest::Client,
    revoke_url: &str,
    client_id: &str,
    client_secret: &SecretString,
    token: &SecretString,
    hint: &str,
) -> Result<(), String> {
    let form = [
        ("token", token.expose_secret()),
        ("token_type_hint", hint),
        ("client_id", client_id),
        ("client_secret", client_secret.expose_secret()),
    ];
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let response = http
        .post(revoke_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| without_url(&e))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status().as_u16()))
    }
}

fn urlencode(value: &str) -> String {
    oauth2::url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
