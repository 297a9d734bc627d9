//! HTTP surface of the catalog. Platforms (`sk-plat_*`): `POST /v1/skills` (the
//! zip itself as the body, a private skill), `GET /v1/skills`, `GET`/`DELETE
//! /v1/skills/{id}`, `GET /v1/skills/{id}/reviews`. The operator: the same under
//! `/admin/v1/skills` for public skills. Upload routes accept bodies up to
//! `ASSISTIV_MAX_SKILL_ZIP_BYTES` instead of the global limit.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::catalog::{Change, Owner, SkillView, Source};
use super::reviews::{Review, Scorecard};
use super::store::Listing;
use crate::auth::{Admin, PlatformKey};
use crate::error::{Error, Result};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::response::{Data, DataBody, PageRequest, Paged};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

/// Platforms' private skills and the operator's public ones; uploads take bodies
/// up to `ASSISTIV_MAX_SKILL_ZIP_BYTES` instead of the global limit.
pub fn routes(state: &AppState) -> Vec<Route> {
    use Audience::{Operator, Platform};
    let upload_limit = DefaultBodyLimit::max(state.config.max_skill_zip_bytes);
    vec![
        Route::get(Platform, "/v1/skills", list),
        Route::post(Platform, "/v1/skills", upload).layer(upload_limit),
        Route::get(Platform, "/v1/skills/{id}", show),
        Route::delete(Platform, "/v1/skills/{id}", remove),
        Route::get(Platform, "/v1/skills/{id}/reviews", reviews),
        Route::get(Operator, "/admin/v1/skills", admin_list),
        Route::post(Operator, "/admin/v1/skills", admin_upload).layer(upload_limit),
        Route::get(Operator, "/admin/v1/skills/{id}", admin_show),
        Route::delete(Operator, "/admin/v1/skills/{id}", admin_remove),
        Route::get(Operator, "/admin/v1/skills/{id}/reviews", admin_reviews),
    ]
}

/// A skill folder, zipped (the documented upload body).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SkillZip(pub Vec<u8>);

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SkillDeleted)]
pub struct Deleted {
    id: Uuid,
    deleted: bool,
}

/// The documented skill routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    upload,
    show,
    remove,
    reviews,
    admin_list,
    admin_upload,
    admin_show,
    admin_remove,
    admin_reviews,
))]
pub struct Api;

/// The body of an upload: a zip, said so by its content type.
fn zip_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/zip")
        && !mime.eq_ignore_ascii_case("application/x-zip-compressed")
    {
        return Err(Error::unsupported_media_type(
            "send the skill folder zipped, with Content-Type: application/zip",
        ));
    }
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::payload_too_large(
            "the zip is over the skill upload cap (ASSISTIV_MAX_SKILL_ZIP_BYTES)",
        ),
        _ => Error::bad_request(rejection.body_text()),
    })?;
    if body.is_empty() {
        return Err(Error::bad_request("the body is empty: send the zip"));
    }
    Ok(body)
}

#[derive(Serialize, utoipa::ToSchema)]
struct Published {
    change: Change,
    #[serde(flatten)]
    skill: SkillView,
}

/// 201 for a new skill, 200 for a new version or the same folder again.
fn published((skill, change): (SkillView, Change)) -> Response {
    let status = match change {
        Change::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    (
        status,
        axum::Json(DataBody {
            data: Published { change, skill },
        }),
    )
        .into_response()
}

#[utoipa::path(
    post,
    path = "/v1/skills",
    tag = "skills",
    request_body(content = SkillZip, content_type = "application/zip", description = "The skill folder, zipped (SKILL.md at its root)"),
    security(("platform_key" = [])),
    responses((status = 201, description = "A new private skill", body = crate::http::response::DataBody<Published>), (status = 200, description = "A new version, or the same folder again", body = crate::http::response::DataBody<Published>), (status = 409, description = "The skill name is taken by another owner, or a concurrent upload", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::KeyBodyErrors),
)]
async fn upload(
    State(state): State<AppState>,
    PlatformKey(key): PlatformKey,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let zip = zip_body(&headers, body)?;
    state
        .skills
        .publish_zip(zip, Owner::Platform(key.platform_id), Source::Platform)
        .await
        .map(published)
}

#[utoipa::path(
    post,
    path = "/admin/v1/skills",
    tag = "skills",
    request_body(content = SkillZip, content_type = "application/zip", description = "The skill folder, zipped (SKILL.md at its root)"),
    security(("admin_token" = [])),
    responses((status = 201, description = "A new public skill", body = crate::http::response::DataBody<Published>), (status = 200, description = "A new version, or the same folder again", body = crate::http::response::DataBody<Published>), (status = 409, description = "The skill name is taken by another owner, or a concurrent upload", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::AdminBodyErrors),
)]
async fn admin_upload(
    State(state): State<AppState>,
    _: Admin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let zip = zip_body(&headers, body)?;
    state
        .skills
        .publish_zip(zip, Owner::Public, Source::Operator)
        .await
        .map(published)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    page: Option<u32>,
    limit: Option<u32>,
    /// `all` (default), `private` or `public`.
    visibility: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/skills",
    tag = "skills",
    params(ListQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "Skills this platform sees: its private ones and the public ones", body = crate::http::response::Paged<SkillView>), crate::openapi::errors::KeyErrors),
)]
async fn list(
    State(state): State<AppState>,
    PlatformKey(key): PlatformKey,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Paged<SkillView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let listing = match query.visibility.as_deref().unwrap_or("all") {
        "all" => Listing::VisibleTo(key.platform_id),
        "private" => Listing::PrivateOf(key.platform_id),
        "public" => Listing::Public,
        other => {
            return Err(Error::bad_request(format!(
                "visibility must be all, private or public (not '{other}')"
            )));
        }
    };
    let (skills, total) = state
        .skills
        .list(listing, i64::from(page.limit), page.offset())
        .await?;
    Ok(page.into_page(skills, total))
}

#[utoipa::path(
    get,
    path = "/v1/skills/{id}",
    tag = "skills",
    params(("id" = Uuid, Path, description = "The skill id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The skill", body = crate::http::response::DataBody<SkillView>), crate::openapi::errors::KeyErrors),
)]
async fn show(
    State(state): State<AppState>,
    PlatformKey(key): PlatformKey,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Data<SkillView>> {
    let row = state.skills.visible(key.platform_id, id).await?;
    Ok(Data(row.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/skills/{id}",
    tag = "skills",
    params(("id" = Uuid, Path, description = "The skill id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The private skill is deleted", body = crate::http::response::DataBody<Deleted>), crate::openapi::errors::KeyErrors),
)]
async fn remove(
    State(state): State<AppState>,
    PlatformKey(key): PlatformKey,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Data<Deleted>> {
    state.skills.delete_private(key.platform_id, id).await?;
    Ok(Data(Deleted { id, deleted: true }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    page: Option<u32>,
    limit: Option<u32>,
}

/// A page of reviews and the scorecard of the skill's current version.
#[derive(Serialize, utoipa::ToSchema)]
struct ReviewPage {
    data: Vec<Review>,
    total: i64,
    page: u32,
    limit: u32,
    scorecard: Scorecard,
}

impl IntoResponse for ReviewPage {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

/// The reviews this platform's end users wrote (others' stay private to their
/// platforms), beside the scorecard over everyone's.
#[utoipa::path(
    get,
    path = "/v1/skills/{id}/reviews",
    tag = "skills",
    params(("id" = Uuid, Path, description = "The skill id"), PageParams),
    security(("platform_key" = [])),
    responses((status = 200, description = "This platform's end users' reviews and the scorecard over everyone's", body = ReviewPage), crate::openapi::errors::KeyErrors),
)]
async fn reviews(
    State(state): State<AppState>,
    PlatformKey(key): PlatformKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageParams>,
) -> Result<ReviewPage> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let skill = state.skills.visible(key.platform_id, id).await?;
    let (data, total) = state
        .skills
        .reviews(
            id,
            Some(key.platform_id),
            i64::from(page.limit),
            page.offset(),
        )
        .await?;
    Ok(ReviewPage {
        data,
        total,
        page: page.page,
        limit: page.limit,
        scorecard: skill.totals.into(),
    })
}

#[utoipa::path(
    get,
    path = "/admin/v1/skills",
    tag = "skills",
    params(ListQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "Public skills, or every skill", body = crate::http::response::Paged<SkillView>), crate::openapi::errors::AdminErrors),
)]
async fn admin_list(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Paged<SkillView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let listing = match query.visibility.as_deref().unwrap_or("public") {
        "public" => Listing::Public,
        "all" => Listing::All,
        other => {
            return Err(Error::bad_request(format!(
                "visibility must be public or all (not '{other}')"
            )));
        }
    };
    let (skills, total) = state
        .skills
        .list(listing, i64::from(page.limit), page.offset())
        .await?;
    Ok(page.into_page(skills, total))
}

#[utoipa::path(
    get,
    path = "/admin/v1/skills/{id}",
    tag = "skills",
    params(("id" = Uuid, Path, description = "The skill id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The skill", body = crate::http::response::DataBody<SkillView>), crate::openapi::errors::AdminErrors),
)]
async fn admin_show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Data<SkillView>> {
    state.skills.get_any(id).await.map(Data)
}

#[utoipa::path(
    delete,
    path = "/admin/v1/skills/{id}",
    tag = "skills",
    params(("id" = Uuid, Path, description = "The skill id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The skill is deleted", body = crate::http::response::DataBody<Deleted>), crate::openapi::errors::AdminErrors),
)]
async fn admin_remove(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Data<Deleted>> {
    state.skills.delete_any(id).await?;
    Ok(Data(Deleted { id, deleted: true }))
}

#[utoipa::path(
    get,
    path = "/admin/v1/skills/{id}/reviews",
    tag = "skills",
    params(("id" = Uuid, Path, description = "The skill id"), PageParams),
    security(("admin_token" = [])),
    responses((status = 200, description = "Every review and the scorecard", body = ReviewPage), crate::openapi::errors::AdminErrors),
)]
async fn admin_reviews(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageParams>,
) -> Result<ReviewPage> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let skill = state.skills.get_any(id).await?;
    let (data, total) = state
        .skills
        .reviews(id, None, i64::from(page.limit), page.offset())
        .await?;
    Ok(ReviewPage {
        data,
        total,
        page: page.page,
        limit: page.limit,
        scorecard: skill.reviews,
    })
}
