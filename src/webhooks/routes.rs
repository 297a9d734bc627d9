//! REST for webhook endpoints, one handler set for two audiences: the operator
//! under `/admin/v1/platforms/{pid}/webhooks/...` and the platform's own key
//! under `/v1/platforms/{pid}/webhooks/...` ([`PlatformOrOperator`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::deliveries::{DeliveryDetail, DeliveryQuery, DeliveryView, RecoverInput, Recovered};
use super::endpoints::{CreatedEndpoint, EndpointInput, EndpointView, SecretView};
use crate::auth::PlatformOrOperator;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::response::{Created, CursorPage, Data, DataBody, PageQuery, PageRequest, Paged};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EndpointDeleted)]
pub struct Deleted {
    id: Uuid,
    deleted: bool,
}

/// The documented webhook routes: written once under `/v1/platforms/{pid}`, and
/// each also served under `/admin/v1/platforms/{pid}` for the operator.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list, create, show, update, remove, reveal, rotate, deliveries, delivery, replay, recover,
        send_test,
    ),
    modifiers(&OperatorTwins)
)]
pub struct Api;

/// Adds each platform-key path again under the operator's prefix, with the admin
/// token as its security and without the end-user rate limit (not under `/v1`).
struct OperatorTwins;

impl utoipa::Modify for OperatorTwins {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;
        let twins: Vec<_> = openapi
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let admin = path.replacen("/v1/", "/admin/v1/", 1);
                let mut item = item.clone();
                for operation in operations(&mut item) {
                    operation.security = Some(vec![SecurityRequirement::new(
                        crate::openapi::ADMIN_TOKEN,
                        Vec::<String>::new(),
                    )]);
                    operation.responses.responses.remove("429");
                    operation.operation_id = operation
                        .operation_id
                        .as_ref()
                        .map(|id| format!("admin_{id}"));
                }
                (admin, item)
            })
            .collect();
        openapi.paths.paths.extend(twins);
    }
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Each route twice: for the operator and for the platform's key.
macro_rules! both_audiences {
    ($(($method:ident, $path:literal, $handler:expr)),* $(,)?) => {
        vec![
            $(
                Route::$method(
                    Audience::Operator,
                    concat!("/admin/v1/platforms/{pid}/webhooks", $path),
                    $handler,
                ),
                Route::$method(
                    Audience::Platform,
                    concat!("/v1/platforms/{pid}/webhooks", $path),
                    $handler,
                ),
            )*
        ]
    };
}

pub fn routes() -> Vec<Route> {
    both_audiences![
        (get, "/endpoints", list),
        (post, "/endpoints", create),
        (get, "/endpoints/{endpoint_id}", show),
        (patch, "/endpoints/{endpoint_id}", update),
        (delete, "/endpoints/{endpoint_id}", remove),
        (get, "/endpoints/{endpoint_id}/secret", reveal),
        (post, "/endpoints/{endpoint_id}/secret/rotate", rotate),
        (get, "/endpoints/{endpoint_id}/deliveries", deliveries),
        (
            get,
            "/endpoints/{endpoint_id}/deliveries/{delivery_id}",
            delivery
        ),
        (
            post,
            "/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
            replay
        ),
        (post, "/endpoints/{endpoint_id}/recover", recover),
        (post, "/endpoints/{endpoint_id}/test", send_test),
    ]
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/webhooks/endpoints",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), PageQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's webhook endpoints", body = crate::http::response::Paged<EndpointView>), crate::openapi::errors::KeyErrors),
)]
async fn list(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<EndpointView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let (rows, total) = state.webhooks.list(scope.platform_id, page).await?;
    Ok(page.into_page(rows, total))
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/webhooks/endpoints",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = EndpointInput,
    security(("platform_key" = [])),
    responses((status = 201, description = "The endpoint with its signing secret (`whsec_...`)", body = crate::http::response::DataBody<CreatedEndpoint>), crate::openapi::errors::KeyBodyErrors),
)]
async fn create(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiJson(input): ApiJson<EndpointInput>,
) -> Result<Created<CreatedEndpoint>> {
    state
        .webhooks
        .create(scope.platform_id, input)
        .await
        .map(Created)
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The endpoint", body = crate::http::response::DataBody<EndpointView>), crate::openapi::errors::KeyErrors),
)]
async fn show(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<EndpointView>> {
    state.webhooks.get(scope.platform_id, id).await.map(Data)
}

#[utoipa::path(
    patch,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    request_body = EndpointInput,
    security(("platform_key" = [])),
    responses((status = 200, description = "The endpoint as changed", body = crate::http::response::DataBody<EndpointView>), crate::openapi::errors::KeyBodyErrors),
)]
async fn update(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> Result<Data<EndpointView>> {
    state
        .webhooks
        .update(scope.platform_id, id, input)
        .await
        .map(Data)
}

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The endpoint is deleted", body = crate::http::response::DataBody<Deleted>), crate::openapi::errors::KeyErrors),
)]
async fn remove(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Deleted>> {
    state.webhooks.delete(scope.platform_id, id).await?;
    Ok(Data(Deleted { id, deleted: true }))
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/secret",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The signing secret (and the previous one while it still signs)", body = crate::http::response::DataBody<SecretView>), crate::openapi::errors::KeyErrors),
)]
async fn reveal(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<SecretView>> {
    state.webhooks.reveal(scope.platform_id, id).await.map(Data)
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/secret/rotate",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "A new secret; the old one signs too for 24 hours", body = crate::http::response::DataBody<SecretView>), crate::openapi::errors::KeyErrors),
)]
async fn rotate(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<SecretView>> {
    state.webhooks.rotate(scope.platform_id, id).await.map(Data)
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/deliveries",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id"), DeliveryQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The endpoint's deliveries, newest first", body = crate::http::response::CursorPage<DeliveryView>), crate::openapi::errors::KeyErrors),
)]
async fn deliveries(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<CursorPage<DeliveryView>> {
    state
        .webhooks
        .deliveries(scope.platform_id, id, &query)
        .await
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id"), ("delivery_id" = Uuid, Path, description = "The delivery id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The delivery with its payload and attempts", body = crate::http::response::DataBody<DeliveryDetail>), crate::openapi::errors::KeyErrors),
)]
async fn delivery(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, endpoint, id)): ApiPath<(String, Uuid, Uuid)>,
) -> Result<Data<DeliveryDetail>> {
    state
        .webhooks
        .delivery(scope.platform_id, endpoint, id)
        .await
        .map(Data)
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id"), ("delivery_id" = Uuid, Path, description = "The delivery id")),
    security(("platform_key" = [])),
    responses((status = 202, description = "The same message is queued again", body = crate::http::response::DataBody<DeliveryView>), crate::openapi::errors::KeyErrors),
)]
async fn replay(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, endpoint, id)): ApiPath<(String, Uuid, Uuid)>,
) -> Result<Response> {
    let view = state
        .webhooks
        .replay(scope.platform_id, endpoint, id)
        .await?;
    Ok(accepted(view))
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/recover",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    request_body = RecoverInput,
    security(("platform_key" = [])),
    responses((status = 202, description = "Every event since then that the endpoint wants is queued again", body = crate::http::response::DataBody<Recovered>), crate::openapi::errors::KeyBodyErrors),
)]
async fn recover(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
    ApiJson(input): ApiJson<RecoverInput>,
) -> Result<Response> {
    let queued = state
        .webhooks
        .recover(scope.platform_id, id, input.since)
        .await?;
    Ok(accepted(queued))
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/webhooks/endpoints/{endpoint_id}/test",
    tag = "webhooks",
    params(("pid" = Uuid, Path, description = "The platform id"), ("endpoint_id" = Uuid, Path, description = "The endpoint id")),
    security(("platform_key" = [])),
    responses((status = 202, description = "A signed `webhook.test` event is queued", body = crate::http::response::DataBody<DeliveryView>), crate::openapi::errors::KeyErrors),
)]
async fn send_test(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Response> {
    let view = state.webhooks.send_test(scope.platform_id, id).await?;
    Ok(accepted(view))
}

/// `202 {"data": ...}`: queued, the worker sends it.
fn accepted(data: impl serde::Serialize) -> Response {
    (StatusCode::ACCEPTED, axum::Json(DataBody { data })).into_response()
}
