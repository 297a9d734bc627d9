//! `/docs`: the API reference page, rendered in the browser by Redoc from
//! `/openapi.json`. The Redoc bundle (npm `redoc`, MIT, see
//! `assets/redoc/LICENSE`) is compiled into the binary and served here, so the
//! page needs no network beyond this gateway.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

/// The page's path.
pub const PAGE: &str = "/docs";
/// The bundle's path: versioned, so it can be cached for good.
pub const SCRIPT: &str = "/docs/redoc-2.5.2.standalone.js";

static BUNDLE: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

const HTML: &str = concat!(
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<title>Assistiv API reference</title>\n</head>\n<body>\n",
    "<redoc spec-url=\"/openapi.json\" hide-download-button=\"false\"></redoc>\n",
    "<script src=\"/docs/redoc-2.5.2.standalone.js\"></script>\n",
    "</body>\n</html>\n"
);

/// The reference page.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "meta",
    responses((status = 200, description = "The API reference page", content_type = "text/html", body = String)),
)]
pub async fn page() -> Html<&'static str> {
    Html(HTML)
}

/// The Redoc bundle the page loads.
#[utoipa::path(
    get,
    path = "/docs/redoc-2.5.2.standalone.js",
    tag = "meta",
    responses((status = 200, description = "Redoc's standalone bundle", content_type = "text/javascript", body = String)),
)]
pub async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        BUNDLE,
    )
        .into_response()
}
