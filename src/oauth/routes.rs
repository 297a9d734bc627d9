//! HTTP handlers of the broker: operator activation, platform and end-user views,
//! and the browser's `/oauth/start` and `/oauth/callback`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::activations::{ActivateInput, ActivationView, Deactivated};
use super::flow::{
    Authorization, CallbackParams, ConnectInput, ConnectionView, MyAppView, PlatformAppView,
    ReturnTo,
};
use crate::auth::{Admin, EndUserKey, PlatformScope};
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, json_or_default};
use crate::http::response::{Created, Data};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

/// The documented broker routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_activations,
    show_activation,
    activate,
    deactivate,
    platform_apps,
    list_connections,
    show_connection,
    delete_connection,
    my_apps,
    connect,
    disconnect,
    start,
    callback,
))]
pub struct Api;

/// The operator's activations, platforms' and end users' views of apps and
/// connections, and the browser's `/oauth/start` and `/oauth/callback` (no key, ever).
pub fn routes() -> Vec<Route> {
    use Audience::{EndUser, Operator, Platform, Public};
    const APP: &str = "/admin/v1/platforms/{pid}/apps/{app}";
    const CONNECTION: &str = "/v1/platforms/{pid}/end-users/{euid}/connections/{app}";
    vec![
        Route::get(Operator, "/admin/v1/platforms/{pid}/apps", list_activations),
        Route::get(Operator, APP, show_activation),
        Route::put(Operator, APP, activate),
        Route::delete(Operator, APP, deactivate),
        Route::get(Platform, "/v1/platforms/{pid}/mcp/apps", platform_apps),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/connections",
            list_connections,
        ),
        Route::get(Platform, CONNECTION, show_connection),
        Route::delete(Platform, CONNECTION, delete_connection),
        Route::get(EndUser, "/v1/me/apps", my_apps),
        Route::post(EndUser, "/v1/me/apps/{app}/connect", connect),
        Route::delete(EndUser, "/v1/me/apps/{app}", disconnect),
        Route::get(Public, "/oauth/start", start),
        Route::get(Public, "/oauth/callback", callback),
    ]
}

#[derive(Serialize, utoipa::ToSchema)]
struct Removed {
    app: String,
    deleted: bool,
}

#[utoipa::path(
    put,
    path = "/admin/v1/platforms/{pid}/apps/{app}",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    request_body = ActivateInput,
    security(("admin_token" = [])),
    responses((status = 201, description = "The app is activated", body = crate::http::response::DataBody<ActivationView>), (status = 200, description = "The activation is updated", body = crate::http::response::DataBody<ActivationView>), crate::openapi::errors::AdminBodyErrors),
)]
async fn activate(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, app)): ApiPath<(Uuid, String)>,
    ApiJson(input): ApiJson<ActivateInput>,
) -> Result<Response> {
    let (view, created) = state.oauth.activate(pid, &app, input).await?;
    Ok(if created {
        Created(view).into_response()
    } else {
        Data(view).into_response()
    })
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/apps/{app}",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The activation (never the client secret)", body = crate::http::response::DataBody<ActivationView>), crate::openapi::errors::AdminErrors),
)]
async fn show_activation(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, app)): ApiPath<(Uuid, String)>,
) -> Result<Data<ActivationView>> {
    state.oauth.activation_view(pid, &app).await.map(Data)
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/apps",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The platform's app activations", body = crate::http::response::DataBody<Vec<ActivationView>>), crate::openapi::errors::AdminErrors),
)]
async fn list_activations(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Data<Vec<ActivationView>>> {
    state.oauth.activation_views(pid).await.map(Data)
}

#[utoipa::path(
    delete,
    path = "/admin/v1/platforms/{pid}/apps/{app}",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The app is deactivated and its connections removed", body = crate::http::response::DataBody<Deactivated>), crate::openapi::errors::AdminErrors),
)]
async fn deactivate(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, app)): ApiPath<(Uuid, String)>,
) -> Result<Data<Deactivated>> {
    state.oauth.deactivate(pid, &app).await.map(Data)
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/mcp/apps",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's activated apps, for a connect UI", body = crate::http::response::DataBody<Vec<PlatformAppView>>), crate::openapi::errors::KeyErrors),
)]
async fn platform_apps(
    State(state): State<AppState>,
    scope: PlatformScope,
) -> Result<Data<Vec<PlatformAppView>>> {
    state.oauth.platform_apps(scope.platform_id).await.map(Data)
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}/connections",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user's connections", body = crate::http::response::DataBody<Vec<ConnectionView>>), crate::openapi::errors::KeyErrors),
)]
async fn list_connections(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): ApiPath<(String, Uuid)>,
) -> Result<Data<Vec<ConnectionView>>> {
    state
        .oauth
        .connections(scope.platform_id, euid)
        .await
        .map(Data)
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}/connections/{app}",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), ("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The connection", body = crate::http::response::DataBody<ConnectionView>), crate::openapi::errors::KeyErrors),
)]
async fn show_connection(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid, app)): ApiPath<(String, Uuid, String)>,
) -> Result<Data<ConnectionView>> {
    state
        .oauth
        .connection(scope.platform_id, euid, &app)
        .await
        .map(Data)
}

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/end-users/{euid}/connections/{app}",
    tag = "apps",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), ("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The connection is removed (and its token revoked)", body = crate::http::response::DataBody<Removed>), crate::openapi::errors::KeyErrors),
)]
async fn delete_connection(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid, app)): ApiPath<(String, Uuid, String)>,
) -> Result<Data<Removed>> {
    state
        .oauth
        .disconnect(scope.platform_id, euid, &app)
        .await?;
    Ok(Data(Removed { app, deleted: true }))
}

#[utoipa::path(
    get,
    path = "/v1/me/apps",
    tag = "apps",
    security(("end_user_key" = [])),
    responses((status = 200, description = "The platform's activated apps with this end user's connection state", body = crate::http::response::DataBody<Vec<MyAppView>>), crate::openapi::errors::KeyErrors),
)]
async fn my_apps(State(state): State<AppState>, key: EndUserKey) -> Result<Data<Vec<MyAppView>>> {
    state
        .oauth
        .my_apps(key.ctx.platform_id, key.end_user_id)
        .await
        .map(Data)
}

#[utoipa::path(
    post,
    path = "/v1/me/apps/{app}/connect",
    tag = "apps",
    params(("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    request_body = Option<ConnectInput>,
    security(("end_user_key" = [])),
    responses((status = 200, description = "The provider's authorization URL to send the user to", body = crate::http::response::DataBody<Authorization>), crate::openapi::errors::KeyBodyErrors),
)]
async fn connect(
    State(state): State<AppState>,
    key: EndUserKey,
    ApiPath(app): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Data<Authorization>> {
    // The body is optional: `{"settings": {...}}` for apps with connect fields.
    let input: ConnectInput = json_or_default(&body)?;
    state
        .oauth
        .begin(
            key.ctx.platform_id,
            key.end_user_id,
            &app,
            &input,
            ReturnTo::Platform,
        )
        .await
        .map(Data)
}

#[utoipa::path(
    delete,
    path = "/v1/me/apps/{app}",
    tag = "apps",
    params(("app" = String, Path, description = "The app's slug (`github`, `slack`, ...)")),
    security(("end_user_key" = [])),
    responses((status = 200, description = "The connection is removed (and its token revoked)", body = crate::http::response::DataBody<Removed>), crate::openapi::errors::KeyErrors),
)]
async fn disconnect(
    State(state): State<AppState>,
    key: EndUserKey,
    ApiPath(app): ApiPath<String>,
) -> Result<Data<Removed>> {
    state
        .oauth
        .disconnect(key.ctx.platform_id, key.end_user_id, &app)
        .await?;
    Ok(Data(Removed { app, deleted: true }))
}

#[derive(Deserialize)]
struct StartParams {
    t: Option<String>,
    /// Connect-field values from the start page's form.
    #[serde(flatten)]
    settings: std::collections::BTreeMap<String, String>,
}

/// A signed start link: straight to the provider, or first a small form asking for
/// the app's connect fields (a Zendesk subdomain).
#[utoipa::path(
    get,
    path = "/oauth/start",
    tag = "apps",
    params(("t" = String, Query, description = "The signed connect link token")),
    responses((status = 302, description = "Redirect to the provider's authorization page"), (status = 200, description = "A form asking for the app's connect fields", content_type = "text/html", body = String), crate::openapi::errors::PublicErrors),
)]
async fn start(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<StartParams>,
) -> Result<Response> {
    let token = params
        .t
        .ok_or_else(|| Error::bad_request("missing connect link token"))?;
    let app = state.oauth.link_app(&token)?;
    let fields = app.connect_fields();
    if !fields.is_empty() && params.settings.is_empty() {
        return Ok(crate::connect_page::start_form(
            app.display_name(),
            fields,
            &token,
            None,
        ));
    }
    let input = ConnectInput {
        settings: params.settings,
    };
    match state.oauth.begin_from_link(&token, &input).await {
        Ok(url) => found(&url),
        // Values the user typed into the form (a malformed subdomain): the form again.
        Err(err) if !fields.is_empty() && err.kind() == crate::error::ErrorKind::BadRequest => {
            Ok(crate::connect_page::start_form(
                app.display_name(),
                fields,
                &token,
                Some(err.message()),
            ))
        }
        Err(err) => Err(err),
    }
}

#[utoipa::path(
    get,
    path = "/oauth/callback",
    tag = "apps",
    params(("code" = Option<String>, Query, description = "The authorization code"), ("state" = Option<String>, Query, description = "The state this gateway issued"), ("error" = Option<String>, Query, description = "The provider's refusal")),
    responses((status = 302, description = "Back to the platform or the connect page, the outcome in the query"), crate::openapi::errors::PublicErrors),
)]
async fn callback(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<Response> {
    let url = state.oauth.callback(params).await?;
    found(&url)
}

/// 302 to `url`, uncached, without leaking this URL as a referrer.
pub(crate) fn found(url: &str) -> Result<Response> {
    let location =
        HeaderValue::from_str(url).map_err(|_| Error::internal("unencodable redirect"))?;
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
