//! The management plane: `/v1/me` and `/v1/platforms/{pid}/...`. Handlers parse
//! and answer; the tenancy services decide.

use axum::Router;
use axum::routing::{delete, get};

use crate::state::AppState;

mod api_keys;
mod end_users;
mod me;
mod platforms;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me::show))
        .route(
            "/v1/platforms/{pid}",
            get(platforms::show).patch(platforms::update),
        )
        .route(
            "/v1/platforms/{pid}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/v1/platforms/{pid}/api-keys/{key_id}",
            delete(api_keys::revoke),
        )
        .route(
            "/v1/platforms/{pid}/end-users",
            get(end_users::list).post(end_users::create),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}",
            get(end_users::show)
                .patch(end_users::update)
                .delete(end_users::remove),
        )
}
