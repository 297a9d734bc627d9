//! The operator surface, `/admin/v1`, behind the admin token.

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

mod platforms;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/v1/platforms",
            get(platforms::list).post(platforms::create),
        )
        .route("/admin/v1/platforms/{pid}", get(platforms::show))
}
