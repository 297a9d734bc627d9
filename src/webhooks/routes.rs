//! REST for webhook endpoints, one handler set for two audiences: the operator
//! under `/admin/v1/platforms/{pid}/webhooks/...` and the platform's own key
//! under `/v1/platforms/{pid}/webhooks/...` ([`PlatformOrOperator`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::deliveries::{DeliveryDetail, DeliveryQuery, DeliveryView, RecoverInput};
use super::endpoints::{CreatedEndpoint, EndpointInput, EndpointView, SecretView};
use crate::auth::PlatformOrOperator;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::response::{Created, CursorPage, Data, PageQuery, PageRequest, Paged};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

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

async fn list(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<EndpointView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let (rows, total) = state.webhooks.list(scope.platform_id, page).await?;
    Ok(page.into_page(rows, total))
}

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

async fn show(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<EndpointView>> {
    state.webhooks.get(scope.platform_id, id).await.map(Data)
}

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

async fn remove(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Value>> {
    state.webhooks.delete(scope.platform_id, id).await?;
    Ok(Data(json!({"id": id, "deleted": true})))
}

async fn reveal(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<SecretView>> {
    state.webhooks.reveal(scope.platform_id, id).await.map(Data)
}

async fn rotate(
    State(state): State<AppState>,
    scope: PlatformOrOperator,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<SecretView>> {
    state.webhooks.rotate(scope.platform_id, id).await.map(Data)
}

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
    (StatusCode::ACCEPTED, axum::Json(json!({"data": data}))).into_response()
}
