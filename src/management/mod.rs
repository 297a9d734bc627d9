//! The management plane: `/v1/me` and `/v1/platforms/{pid}/...`. Handlers parse
//! and answer; the tenancy services decide.

use crate::http::routes::{Audience, Route};

mod agents;
mod api_keys;
pub mod budgets;
mod end_users;
mod logs;
mod me;
mod me_money;
mod platforms;
mod rate_limits;

/// The documented management and self-service routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    me::show,
    me_money::budget,
    me_money::transactions,
    me_money::rate_limits,
    logs::mine,
    logs::platform,
    platforms::show,
    platforms::update,
    api_keys::list,
    api_keys::create,
    api_keys::revoke,
    api_keys::list_end_user,
    api_keys::revoke_end_user,
    end_users::list,
    end_users::create,
    end_users::show,
    end_users::update,
    end_users::remove,
    budgets::show,
    budgets::create,
    budgets::update,
    budgets::remove,
    budgets::topup,
    budgets::debit,
    budgets::suspend,
    budgets::unsuspend,
    budgets::transactions,
    agents::list,
    agents::create,
    agents::show,
    agents::update,
    agents::remove,
    rate_limits::show_platform,
    rate_limits::put_platform,
    rate_limits::show_end_user,
    rate_limits::put_end_user,
    rate_limits::delete_end_user,
))]
pub struct Api;

/// The management and self-service routes (`/v1/me`, `/v1/platforms/{pid}/...`).
pub fn routes() -> Vec<Route> {
    use Audience::{AnyKey, EndUser, Platform};
    vec![
        Route::get(AnyKey, "/v1/me", me::show),
        Route::get(EndUser, "/v1/me/budget", me_money::budget),
        Route::get(
            EndUser,
            "/v1/me/budget/transactions",
            me_money::transactions,
        ),
        Route::get(EndUser, "/v1/me/rate-limits", me_money::rate_limits),
        Route::get(EndUser, "/v1/me/logs", logs::mine),
        Route::get(Platform, "/v1/platforms/{pid}", platforms::show),
        Route::patch(Platform, "/v1/platforms/{pid}", platforms::update),
        Route::get(Platform, "/v1/platforms/{pid}/api-keys", api_keys::list),
        Route::post(Platform, "/v1/platforms/{pid}/api-keys", api_keys::create),
        Route::delete(
            Platform,
            "/v1/platforms/{pid}/api-keys/{key_id}",
            api_keys::revoke,
        ),
        Route::get(Platform, "/v1/platforms/{pid}/end-users", end_users::list),
        Route::post(Platform, "/v1/platforms/{pid}/end-users", end_users::create),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}",
            end_users::show,
        ),
        Route::patch(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}",
            end_users::update,
        ),
        Route::delete(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}",
            end_users::remove,
        ),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/api-keys",
            api_keys::list_end_user,
        ),
        Route::delete(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/api-keys/{key_id}",
            api_keys::revoke_end_user,
        ),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget",
            budgets::show,
        ),
        Route::post(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget",
            budgets::create,
        ),
        Route::patch(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget",
            budgets::update,
        ),
        Route::delete(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget",
            budgets::remove,
        ),
        Route::post(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget/topup",
            budgets::topup,
        ),
        Route::post(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget/debit",
            budgets::debit,
        ),
        Route::post(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget/suspend",
            budgets::suspend,
        ),
        Route::post(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget/unsuspend",
            budgets::unsuspend,
        ),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/budget/transactions",
            budgets::transactions,
        ),
        Route::get(Platform, "/v1/platforms/{pid}/logs", logs::platform),
        Route::get(Platform, "/v1/platforms/{pid}/agents", agents::list),
        Route::post(Platform, "/v1/platforms/{pid}/agents", agents::create),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/agents/{agent_id}",
            agents::show,
        ),
        Route::patch(
            Platform,
            "/v1/platforms/{pid}/agents/{agent_id}",
            agents::update,
        ),
        Route::delete(
            Platform,
            "/v1/platforms/{pid}/agents/{agent_id}",
            agents::remove,
        ),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/rate-limits",
            rate_limits::show_platform,
        ),
        Route::put(
            Platform,
            "/v1/platforms/{pid}/rate-limits",
            rate_limits::put_platform,
        ),
        Route::get(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
            rate_limits::show_end_user,
        ),
        Route::put(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
            rate_limits::put_end_user,
        ),
        Route::delete(
            Platform,
            "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
            rate_limits::delete_end_user,
        ),
    ]
}
