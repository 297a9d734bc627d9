//! The one route table. Every REST route is a [`Route`] (method, path, who may
//! call it, handler) listed by its feature; [`router`] assembles them, so what is
//! served is exactly what [`table`] lists. Every route under `/v1/` — the API an
//! end-user key can reach — gets the end-user RPM/RPD limit by construction (the
//! layer counts end-user keys and lets other keys through untouched); a new plane
//! added to the table is limited without anyone remembering to. MCP counts its
//! requests at its own JSON-RPC-aware edge.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use tokio_util::sync::CancellationToken;

use super::end_user_limits;
use crate::state::AppState;

/// Who a route is for (documentation, and what the contract tests walk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// No key: health, the OAuth callback, the connect page.
    Public,
    /// The operator's admin token (`/admin/v1`).
    Operator,
    /// A platform key (`sk-plat_*`).
    Platform,
    /// An end-user key (`sk-eu_*`).
    EndUser,
    /// Either key kind.
    AnyKey,
}

/// One method on one path.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub audience: Audience,
    handler: MethodRouter<AppState>,
}

macro_rules! route_constructor {
    ($name:ident, $method:ident) => {
        pub fn $name<H, T>(audience: Audience, path: &'static str, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            Self {
                method: Method::$method,
                path,
                audience,
                handler: axum::routing::$name(handler),
            }
        }
    };
}

impl Route {
    route_constructor!(get, GET);
    route_constructor!(post, POST);
    route_constructor!(put, PUT);
    route_constructor!(patch, PATCH);
    route_constructor!(delete, DELETE);

    /// The same route with a layer on its handler alone (a body limit, say).
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<axum::extract::Request, Error = std::convert::Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.handler = self.handler.layer(layer);
        self
    }

    /// Whether this route is in the API an end-user key can reach (and is
    /// therefore under the end-user limits).
    pub fn is_end_user_reachable(&self) -> bool {
        self.path.starts_with("/v1/")
    }
}

/// Every REST route the gateway serves, feature by feature.
pub fn table(state: &AppState) -> Vec<Route> {
    let mut routes = vec![
        Route::get(Audience::Public, "/healthz", crate::health::healthz),
        Route::get(Audience::Public, "/readyz", crate::health::readyz),
    ];
    routes.extend(crate::openapi::routes());
    routes.extend(crate::management::routes());
    routes.extend(crate::oauth::routes::routes());
    routes.extend(crate::connect_page::routes());
    routes.extend(crate::admin::routes());
    routes.extend(crate::skills::routes::routes(state));
    routes.extend(crate::capabilities::routes::routes());
    routes.extend(crate::capabilities::admin::routes());
    routes.extend(crate::webhooks::routes());
    routes.extend(crate::inference::routes::routes());
    routes.extend(crate::inference::admin::routes());
    routes.extend(crate::responses::routes::routes());
    routes.extend(crate::metrics::routes(state));
    routes
}

/// The table assembled (each path's methods merged), the end-user limits on
/// everything under `/v1/`, and the MCP endpoints beside it.
pub fn router(state: &AppState, shutdown: CancellationToken) -> anyhow::Result<Router<AppState>> {
    // One tool pipeline for the MCP endpoints and the Responses API's hosted tools.
    let tools = crate::tools::Tools::standard(state.clone())?;
    let mut limited: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    let mut unlimited: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for route in table(state) {
        let group = if route.is_end_user_reachable() {
            &mut limited
        } else {
            &mut unlimited
        };
        let merged = match group.remove(route.path) {
            Some(existing) => existing.merge(route.handler),
            None => route.handler,
        };
        group.insert(route.path, merged);
    }
    let limits = axum::middleware::from_fn_with_state(state.clone(), end_user_limits::enforce);
    let limited = limited
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler.route_layer(limits.clone()))
        });
    let unlimited = unlimited
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        });
    Ok(Router::new()
        .merge(limited)
        .merge(unlimited)
        .merge(crate::mcp::router(state.clone(), tools.clone(), shutdown)?)
        .layer(axum::Extension(crate::responses::Responses::new(
            state, tools,
        ))))
}
