//! The management plane's response shapes: `{"data": ...}` and page/limit lists.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `{"data": T}` with status 200.
pub struct Data<T>(pub T);

/// `{"data": T}` with status 201.
pub struct Created<T>(pub T);

#[derive(Serialize)]
struct DataBody<T> {
    data: T,
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

/// `{"data": [...], "total", "page", "limit"}`.
#[derive(Serialize)]
pub struct Paged<T> {
    pub data: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub limit: u32,
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 100;

/// `?page=&limit=` as sent by the client.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn parse(page: Option<u32>, limit: Option<u32>) -> Result<Self, Error> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if page == 0 {
            return Err(Error::bad_request("page starts at 1"));
        }
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(Error::bad_request(format!(
                "limit must be between 1 and {MAX_PAGE_LIMIT}"
            )));
        }
        Ok(Self { page, limit })
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }

    pub fn into_page<T>(self, data: Vec<T>, total: i64) -> Paged<T> {
        Paged {
            data,
            total,
            page: self.page,
            limit: self.limit,
        }
    }
}

/// `{"data": [...], "next_cursor": ...}` for logs and ledgers.
#[derive(Debug, Serialize)]
pub struct CursorPage<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: Serialize> IntoResponse for CursorPage<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}
