//! The operator surface, `/admin/v1`, behind the admin token.

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

mod platforms;
mod wallets;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/v1/platforms",
            get(platforms::list).post(platforms::create),
        )
        .route("/admin/v1/platforms/{pid}", get(platforms::show))
        .route(
            "/admin/v1/platforms/{pid}/wallet",
            get(wallets::show).put(wallets::configure),
        )
        .route(
            "/admin/v1/platforms/{pid}/wallet/topup",
            post(wallets::topup),
        )
        .route(
            "/admin/v1/platforms/{pid}/wallet/transactions",
            get(wallets::transactions),
        )
        .merge(crate::oauth::routes::admin())
}
