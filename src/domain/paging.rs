//! Paging, as services answer it and edges render it: page/limit lists
//! (`{"data", "total", "page", "limit"}`) and cursor pages for logs and ledgers.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `{"data": [...], "total", "page", "limit"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub data: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub limit: u32,
}

pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 100;

/// `?page=&limit=` as sent by the client.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CursorPage<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}
