//! GitHub's REST API through octocrab: one client per call, the error mapping, and safe
//! path building.
//!
//! Every request goes through octocrab's generic `get`/`post`/`put`/`patch` (and
//! `_get_with_headers` for the diff media type) against the configured base URL, so auth,
//! the `X-GitHub-Api-Version` header, base-path joining and GitHub's error decoding are
//! octocrab's. Responses are read as `serde_json::Value` rather than octocrab's typed
//! models: the tools keep a few fields of each object, and a typed model that does not
//! match a GitHub (Enterprise) payload field for field would fail the whole call.

use std::error::Error as _;
use std::time::{SystemTime, UNIX_EPOCH};

use assistiv_app_sdk::{AppError, CallContext, reqwest};
use octocrab::{GitHubError, Octocrab};
use serde::Serialize;
use serde_json::Value;

/// An octocrab client bound to one call's token and base URL.
pub(crate) struct Api {
    gh: Octocrab,
}

impl Api {
    /// Builds the client on the gateway's pooled `reqwest::Client`: no connection set-up,
    /// no retries (the gateway decides), `Authorization: Bearer <token>`.
    pub(crate) fn new(ctx: &CallContext) -> Result<Self, AppError> {
        let base = ctx.api_base_url.trim_end_matches('/');
        let gh = Octocrab::builder()
            .base_uri(base)
            .map_err(|_| AppError::Transport(format!("invalid GitHub API base URL `{base}`")))?
            .user_access_token(ctx.access_token.clone())
            .build_with_reqwest(ctx.http.clone())
            .map_err(|e| AppError::Transport(format!("cannot build the GitHub client: {e}")))?;
        Ok(Self { gh })
    }

    pub(crate) async fn get(&self, route: &str, query: &Query) -> Result<Value, AppError> {
        let params = (!query.0.is_empty()).then_some(&query.0);
        self.gh
            .get(route, params)
            .await
            .map_err(|e| map_error(e, "GET", route))
    }

    pub(crate) async fn post<B: Serialize>(
        &self,
        route: &str,
        body: &B,
    ) -> Result<Value, AppError> {
        self.gh
            .post(route, Some(body))
            .await
            .map_err(|e| map_error(e, "POST", route))
    }

    pub(crate) async fn put<B: Serialize>(&self, route: &str, body: &B) -> Result<Value, AppError> {
        self.gh
            .put(route, Some(body))
            .await
            .map_err(|e| map_error(e, "PUT", route))
    }

    pub(crate) async fn patch<B: Serialize>(
        &self,
        route: &str,
        body: &B,
    ) -> Result<Value, AppError> {
        self.gh
            .patch(route, Some(body))
            .await
            .map_err(|e| map_error(e, "PATCH", route))
    }

    /// GET with a custom media type whose body is text (e.g. `application/vnd.github.diff`).
    pub(crate) async fn get_text(
        &self,
        route: &str,
        accept: &'static str,
    ) -> Result<String, AppError> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(accept));
        let fail = |e| map_error(e, "GET", route);
        let response = self
            .gh
            ._get_with_headers(route, Some(headers))
            .await
            .map_err(fail)?;
        let response = octocrab::map_github_error(response).await.map_err(fail)?;
        self.gh.body_to_string(response).await.map_err(fail)
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

    /// `page` and `per_page` (clamped to GitHub's 1..=100).
    pub(crate) fn page(self, page: Option<u32>, per_page: Option<u32>) -> Self {
        self.opt("page", page.map(|p| p.max(1)))
            .opt("per_page", per_page.map(|n| n.clamp(1, 100)))
    }
}

/// `/repos/{owner}/{repo}` after checking both names against GitHub's character set, so
/// no argument can change the route (`..`, `/`, `?`, `#`).
pub(crate) fn repo_route(owner: &str, repo: &str) -> Result<String, AppError> {
    Ok(format!(
        "/repos/{}/{}",
        name(owner, "owner")?,
        name(repo, "repo")?
    ))
}

fn name<'a>(value: &'a str, field: &str) -> Result<&'a str, AppError> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(value)
    } else {
        Err(AppError::InvalidArguments(format!(
            "`{field}` must be a GitHub name (letters, digits, '-', '_', '.'), got {value:?}"
        )))
    }
}

/// Percent-encodes a slash-separated path (file path, branch name) segment by segment;
/// empty, `.` and `..` segments are refused.
pub(crate) fn encode_path(path: &str, field: &str) -> Result<String, AppError> {
    let trimmed = path.trim_matches('/');
    let mut out = String::with_capacity(trimmed.len());
    for (i, segment) in trimmed.split('/').enumerate() {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(AppError::InvalidArguments(format!(
                "`{field}` has an empty, '.' or '..' segment: {path:?}"
            )));
        }
        if i > 0 {
            out.push('/');
        }
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Ok(out)
}

/// Maps an octocrab failure to the SDK's error, `method route` naming the request.
pub(crate) fn map_error(err: octocrab::Error, method: &str, route: &str) -> AppError {
    match err {
        octocrab::Error::GitHub { source, .. } => from_github(&source, method, route),
        octocrab::Error::Json { source, .. } => AppError::Transport(format!(
            "GitHub answered {method} {route} with an unexpected body: {source}"
        )),
        octocrab::Error::Uri { .. } | octocrab::Error::UriParse { .. } => {
            AppError::InvalidArguments(format!("cannot build a URL for {method} {route}"))
        }
        other if is_timeout(&other) => AppError::Timeout,
        other => AppError::Transport(format!("{method} {route}: {other}")),
    }
}

/// Walks the source chain for a `reqwest` timeout (the gateway's client may have one).
fn is_timeout(err: &octocrab::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = current {
        if let Some(e) = e.downcast_ref::<reqwest::Error>() {
            return e.is_timeout();
        }
        if let Some(e) = e.downcast_ref::<octocrab::Error>() {
            return is_timeout(e);
        }
        current = e.source();
    }
    false
}

/// GitHub's status mapping: 401 unauthorized; 403 with `x-ratelimit-remaining: 0` or a
/// `retry-after` (secondary limit) and 429 rate limited; 404 not found; 422 invalid
/// arguments with GitHub's validation message; anything else upstream.
fn from_github(e: &GitHubError, method: &str, route: &str) -> AppError {
    let status = e.status_code.as_u16();
    let header = |name: &str| {
        e.headers
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok());
    let reset_in = e
        .rate_limit_reset
        .or_else(|| header("x-ratelimit-reset").and_then(|v| v.parse().ok()))
        .map(|reset| reset.saturating_sub(unix_now()));
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    match status {
        401 => AppError::Unauthorized,
        404 => AppError::NotFound(format!("{} ({method} {route})", e.message)),
        422 => AppError::InvalidArguments(validation_message(e)),
        429 => AppError::RateLimited {
            retry_after_secs: retry_after.or(reset_in),
        },
        403 if exhausted || retry_after.is_some() => AppError::RateLimited {
            retry_after_secs: retry_after.or(reset_in),
        },
        _ => AppError::Upstream {
            status,
            message: e.message.clone(),
        },
    }
}

/// "Validation Failed: Issue.title missing_field; ..." from GitHub's `errors` array.
fn validation_message(e: &GitHubError) -> String {
    let details: Vec<String> = e
        .errors
        .iter()
        .flatten()
        .filter_map(|err| match err {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => {
                if let Some(Value::String(m)) = o.get("message") {
                    return Some(m.clone());
                }
                let part = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default();
                let subject = match (part("resource"), part("field")) {
                    ("", f) | (f, "") => f.to_string(),
                    (r, f) => format!("{r}.{f}"),
                };
                Some(format!("{subject} {}", part("code")).trim().to_string())
            }
            _ => None,
        })
        .filter(|s| !s.is_empty())
        .collect();
    if details.is_empty() {
        e.message.clone()
    } else {
        format!("{}: {}", e.message, details.join("; "))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(
            repo_route("octo-org", "hello.world_2").unwrap(),
            "/repos/octo-org/hello.world_2"
        );
        for bad in ["", ".", "..", "a/b", "a?b", "a#b", "a b", "é"] {
            assert!(repo_route(bad, "r").is_err(), "{bad:?}");
            assert!(repo_route("o", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(encode_path("src/main.rs", "path").unwrap(), "src/main.rs");
        assert_eq!(
            encode_path("/docs/a b?.md/", "path").unwrap(),
            "docs/a%20b%3F.md"
        );
        assert_eq!(
            encode_path("feature/x#1", "branch").unwrap(),
            "feature/x%231"
        );
        assert_eq!(encode_path("ünï", "path").unwrap(), "%C3%BCn%C3%AF");
        for bad in ["", "/", "a//b", "../x", "a/./b"] {
            assert!(encode_path(bad, "path").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_clamps_pagination() {
        let q = Query::new()
            .page(Some(0), Some(500))
            .opt("state", None::<&str>);
        assert_eq!(
            q.0,
            vec![("page", "1".to_string()), ("per_page", "100".to_string())]
        );
    }
}
