//! The management plane: `/v1/me` and `/v1/platforms/{pid}/...`. Handlers parse
//! and answer; the tenancy services decide.

use axum::Router;
use axum::routing::{delete, get, post};

use crate::http::end_user_limits;
use crate::state::AppState;

mod agents;
mod api_keys;
pub mod budgets;
mod end_users;
mod logs;
mod me;
mod me_money;
mod platforms;
mod rate_limits;

pub fn router(state: AppState) -> Router<AppState> {
    // Self-service routes: what end-user keys call, under their rate limits.
    let me = Router::new()
        .route("/v1/me", get(me::show))
        .route("/v1/me/budget", get(me_money::budget))
        .route("/v1/me/budget/transactions", get(me_money::transactions))
        .route("/v1/me/rate-limits", get(me_money::rate_limits))
        .route("/v1/me/logs", get(logs::mine))
        .merge(crate::oauth::routes::me())
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            end_user_limits::enforce,
        ));
    Router::new()
        .merge(me)
        .merge(crate::oauth::routes::platform())
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
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/api-keys",
            get(api_keys::list_end_user),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/api-keys/{key_id}",
            delete(api_keys::revoke_end_user),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/budget",
            get(budgets::show)
                .post(budgets::create)
                .patch(budgets::update)
                .delete(budgets::remove),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/budget/topup",
            post(budgets::topup),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/budget/debit",
            post(budgets::debit),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/budget/suspend",
            post(budgets::suspend),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/budget/unsuspend",
            post(budgets::unsuspend),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/budget/transactions",
            get(budgets::transactions),
        )
        .route("/v1/platforms/{pid}/logs", get(logs::platform))
        .route(
            "/v1/platforms/{pid}/agents",
            get(agents::list).post(agents::create),
        )
        .route(
            "/v1/platforms/{pid}/agents/{agent_id}",
            get(agents::show)
                .patch(agents::update)
                .delete(agents::remove),
        )
        .route(
            "/v1/platforms/{pid}/rate-limits",
            get(rate_limits::show_platform).put(rate_limits::put_platform),
        )
        .route(
            "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
            get(rate_limits::show_end_user)
                .put(rate_limits::put_end_user)
                .delete(rate_limits::delete_end_user),
        )
}
