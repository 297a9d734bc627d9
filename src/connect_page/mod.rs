//! The hosted connect page, for platforms without a UI of their own. The platform
//! mints a short-lived, single-use link for an end user
//! (`POST /v1/platforms/{pid}/end-users/{euid}/connect-links`); opening it swaps the
//! link for a session cookie (`HttpOnly`, `SameSite=Lax`, path `/connect`) and shows the
//! platform's activated apps with Connect / Disconnect forms. Forms carry a per-session
//! CSRF token; the OAuth flow returns to the page with the result. No API key is ever in
//! a URL, and no script runs on the page.

pub mod html;
pub mod links;
pub mod store;

use std::collections::BTreeMap;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::apps::ConnectField;
use crate::auth::PlatformScope;
use crate::error::Result;
use crate::http::error_response::Enveloped;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::response::Created;
use crate::http::routes::{Audience, Route};
use crate::oauth::flow::{ConnectInput, ReturnTo};
use crate::state::AppState;
use html::Banner;
use links::{ConnectLink, PageSession};

const COOKIE: &str = "assistiv_connect";

/// The documented connect-page routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(mint, show, connect, disconnect))]
pub struct Api;

/// The platform's minting route and the browser's page.
pub fn routes() -> Vec<Route> {
    use Audience::{Platform, Public};
    vec![
        Route::post(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/connect-links",
            mint,
        ),
        Route::get(Public, "/connect", show),
        Route::post(Public, "/connect/apps/{app}/connect", connect),
        Route::post(Public, "/connect/apps/{app}/disconnect", disconnect),
    ]
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users/{euid}/connect-links",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 201, description = "A single-use link to the hosted connect page (15 minutes)", body = crate::http::response::DataBody<ConnectLink>), crate::openapi::errors::KeyErrors),
)]
async fn mint(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): ApiPath<(String, Uuid)>,
) -> Result<Created<ConnectLink>> {
    links::mint(&state, scope.platform_id, euid)
        .await
        .map(Created)
}

/// An HTML answer: uncached, unframeable, no referrer, no script, no plugin.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    // The page is already an answer for people: keep it out of the JSON error envelope.
    response.extensions_mut().insert(Enveloped);
    response
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn expired() -> Response {
    html(
        StatusCode::UNAUTHORIZED,
        html::message_page(
            "This link has expired",
            "Connect links work once and for a short time. Ask for a new one where you got this one.",
        ),
    )
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The session behind the request's cookie, with the cookie itself.
async fn page_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(PageSession, String)>> {
    let Some(cookie) = cookie_value(headers) else {
        return Ok(None);
    };
    Ok(links::session(state, &cookie)
        .await?
        .map(|session| (session, cookie)))
}

#[derive(Deserialize)]
struct ShowParams {
    /// The link token, on first use only.
    t: Option<String>,
    app: Option<String>,
    status: Option<String>,
    error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/connect",
    tag = "apps",
    params(("t" = Option<String>, Query, description = "The link token, on first use"), ("app" = Option<String>, Query), ("status" = Option<String>, Query), ("error" = Option<String>, Query)),
    responses((status = 200, description = "The connect page (with a session cookie)", content_type = "text/html", body = String), (status = 303, description = "The link became a session cookie: the page without the token"), (status = 401, description = "The link or the session has expired", content_type = "text/html", body = String), crate::openapi::errors::PublicErrors),
)]
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<ShowParams>,
) -> Result<Response> {
    if let Some(token) = params.t {
        // First use: the link becomes a session cookie, and the token leaves the URL.
        let Some(session) = links::open(&state, &token).await? else {
            return Ok(expired());
        };
        let secure = if state.oauth.public_url().starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{COOKIE}={session}; Path=/connect; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            links::SESSION_TTL_MS / 1000
        );
        let mut response = see_other("/connect");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return Ok(response);
    }
    let Some((session, cookie)) = page_session(&state, &headers).await? else {
        return Ok(expired());
    };
    let banner = banner(&state, &params);
    render(&state, session, &cookie, banner.as_ref(), StatusCode::OK).await
}

/// The result of a round trip, from the landing URL's query.
fn banner(state: &AppState, params: &ShowParams) -> Option<Banner> {
    let app = params.app.as_deref()?;
    let name = state.apps.get(app)?.display_name();
    Some(match params.status.as_deref() {
        Some("connected") => Banner {
            ok: true,
            text: format!("{name} is connected."),
        },
        Some("disconnected") => Banner {
            ok: true,
            text: format!("{name} is disconnected."),
        },
        _ => Banner {
            ok: false,
            text: format!(
                "{name} could not be connected ({}). You can try again.",
                params.error.as_deref().unwrap_or("error")
            ),
        },
    })
}

async fn render(
    state: &AppState,
    session: PageSession,
    cookie: &str,
    banner: Option<&Banner>,
    status: StatusCode,
) -> Result<Response> {
    let apps = state
        .oauth
        .my_apps(session.platform_id, session.end_user_id)
        .await?;
    let fields_of = |slug: &str| -> &'static [ConnectField] {
        state
            .apps
            .get(slug)
            .map(|app| app.connect_fields())
            .unwrap_or(&[])
    };
    let csrf = links::csrf_token(state, cookie);
    Ok(html(
        status,
        html::apps_page(&apps, fields_of, &csrf, banner),
    ))
}

/// A form post: the session, checked against the form's CSRF token, and the other
/// fields (connect settings).
async fn form_session(
    state: &AppState,
    headers: &HeaderMap,
    mut form: BTreeMap<String, String>,
) -> Result<Option<(PageSession, String, BTreeMap<String, String>)>> {
    let Some((session, cookie)) = page_session(state, headers).await? else {
        return Ok(None);
    };
    let csrf = form.remove("csrf").unwrap_or_default();
    links::check_csrf(state, &cookie, &csrf)?;
    Ok(Some((session, cookie, form)))
}

/// The page's own form posts answer people, not programs: any refusal (a forged CSRF
/// token, an unknown app, a failure) is an HTML page with the same status.
fn as_page(result: Result<Response>) -> Response {
    result.unwrap_or_else(|err| {
        let title = if err.kind() == crate::error::ErrorKind::Forbidden {
            "This form has expired"
        } else {
            "Something went wrong"
        };
        html(
            crate::http::error_response::status(&err),
            html::message_page(title, err.message()),
        )
    })
}

#[utoipa::path(
    post,
    path = "/connect/apps/{app}/connect",
    tag = "apps",
    params(("app" = String, Path, description = "The app's slug")),
    request_body(content = inline(std::collections::BTreeMap<String, String>), content_type = "application/x-www-form-urlencoded", description = "`csrf` and the app's connect fields"),
    responses((status = 303, description = "To the provider's authorization page"), (status = 400, description = "A value the user can fix, the page again saying why; or a malformed form", content_type = "text/html", body = String), (status = 401, description = "The page session has expired", content_type = "text/html", body = String), (status = 403, description = "The form has expired (CSRF token)", content_type = "text/html", body = String), (status = 404, description = "Unknown or inactive app", content_type = "text/html", body = String), (status = 415, description = "The body is not a form", body = crate::openapi::errors::ErrorEnvelope)),
)]
async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(app): ApiPath<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    as_page(connect_form(&state, &headers, &app, form).await)
}

async fn connect_form(
    state: &AppState,
    headers: &HeaderMap,
    app: &str,
    form: BTreeMap<String, String>,
) -> Result<Response> {
    let Some((session, cookie, settings)) = form_session(state, headers, form).await? else {
        return Ok(expired());
    };
    let input = ConnectInput { settings };
    let begun = state
        .oauth
        .begin(
            session.platform_id,
            session.end_user_id,
            app,
            &input,
            ReturnTo::ConnectPage,
        )
        .await;
    match begun {
        Ok(authorization) => Ok(see_other(&authorization.authorize_url)),
        // A value the user can fix (a malformed subdomain): the page again, saying why.
        Err(err) if err.kind() == crate::error::ErrorKind::BadRequest => {
            let banner = Banner {
                ok: false,
                text: err.message().to_owned(),
            };
            render(
                state,
                session,
                &cookie,
                Some(&banner),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => Err(err),
    }
}

#[utoipa::path(
    post,
    path = "/connect/apps/{app}/disconnect",
    tag = "apps",
    params(("app" = String, Path, description = "The app's slug")),
    request_body(content = inline(std::collections::BTreeMap<String, String>), content_type = "application/x-www-form-urlencoded", description = "`csrf` and the app's connect fields"),
    responses((status = 303, description = "Back to the page, the app disconnected"), (status = 400, description = "A value the user can fix, the page again saying why; or a malformed form", content_type = "text/html", body = String), (status = 401, description = "The page session has expired", content_type = "text/html", body = String), (status = 403, description = "The form has expired (CSRF token)", content_type = "text/html", body = String), (status = 404, description = "Unknown or inactive app", content_type = "text/html", body = String), (status = 415, description = "The body is not a form", body = crate::openapi::errors::ErrorEnvelope)),
)]
async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(app): ApiPath<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    as_page(disconnect_form(&state, &headers, &app, form).await)
}

async fn disconnect_form(
    state: &AppState,
    headers: &HeaderMap,
    app: &str,
    form: BTreeMap<String, String>,
) -> Result<Response> {
    let Some((session, _, _)) = form_session(state, headers, form).await? else {
        return Ok(expired());
    };
    state
        .oauth
        .disconnect(session.platform_id, session.end_user_id, app)
        .await?;
    let location = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("app", app)
        .append_pair("status", "disconnected")
        .finish();
    Ok(see_other(&format!("/connect?{location}")))
}

/// The signed `/oauth/start` link's form, for an app that needs values first; after
/// refused values, the form again (400) saying why.
pub fn start_form(
    app_name: &str,
    fields: &[ConnectField],
    link_token: &str,
    error: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        html::start_form_page(app_name, fields, link_token, error),
    )
}
