//! The operator surface, `/admin/v1`, behind the admin token.

use crate::http::routes::{Audience, Route};

mod platforms;
mod wallets;

/// The documented operator platform and wallet routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    platforms::list,
    platforms::create,
    platforms::show,
    wallets::show,
    wallets::configure,
    wallets::topup,
    wallets::transactions,
))]
pub struct Api;

/// The operator's platform and wallet routes (apps, skills and capabilities list
/// their own operator routes).
pub fn routes() -> Vec<Route> {
    use Audience::Operator;
    const WALLET: &str = "/admin/v1/platforms/{pid}/wallet";
    vec![
        Route::get(Operator, "/admin/v1/platforms", platforms::list),
        Route::post(Operator, "/admin/v1/platforms", platforms::create),
        Route::get(Operator, "/admin/v1/platforms/{pid}", platforms::show),
        Route::get(Operator, WALLET, wallets::show),
        Route::put(Operator, WALLET, wallets::configure),
        Route::post(
            Operator,
            "/admin/v1/platforms/{pid}/wallet/topup",
            wallets::topup,
        ),
        Route::get(
            Operator,
            "/admin/v1/platforms/{pid}/wallet/transactions",
            wallets::transactions,
        ),
    ]
}
