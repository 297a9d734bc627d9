//! `GET /v1/me`: which key this is.

use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Caller, KeyKind};
use crate::http::response::Data;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Identity {
    key_kind: &'static str,
    key_id: Uuid,
    key_prefix: String,
    platform_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_user_id: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "self-service",
    security(("platform_key" = []), ("end_user_key" = [])),
    responses((status = 200, description = "Which key this is", body = crate::http::response::DataBody<Identity>), crate::openapi::errors::KeyErrors),
)]
pub async fn show(Caller(ctx): Caller) -> Data<Identity> {
    Data(Identity {
        key_kind: match ctx.kind {
            KeyKind::Platform => "platform",
            KeyKind::EndUser => "end_user",
        },
        key_id: ctx.key_id,
        key_prefix: ctx.key_prefix,
        platform_id: ctx.platform_id,
        end_user_id: ctx.end_user_id,
    })
}
