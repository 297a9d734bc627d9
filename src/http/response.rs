//! The management plane's response shapes: `{"data": ...}` and page/limit lists.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::domain::paging::{
    CursorPage, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, PageQuery, PageRequest, Paged,
};

/// `{"data": T}` with status 200.
pub struct Data<T>(pub T);

/// `{"data": T}` with status 201.
pub struct Created<T>(pub T);

/// The body of [`Data`] and [`Created`] (what the contract documents).
#[derive(Serialize, utoipa::ToSchema)]
pub struct DataBody<T> {
    pub data: T,
}

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        Json(DataBody { data: self.0 }).into_response()
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(DataBody { data: self.0 })).into_response()
    }
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

impl<T: Serialize> IntoResponse for CursorPage<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}
