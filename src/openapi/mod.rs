//! The API contract, generated from the code: every REST route's handler carries
//! `#[utoipa::path]` and its request and response types derive `ToSchema`, so
//! `/openapi.json` (OpenAPI 3.1) is the served surface as compiled. Each feature
//! lists its documented handlers in its own `Api` beside its routes; this module
//! merges them, adds the security schemes and the shared error responses, and
//! serves the document and the reference page at `/docs`.

pub mod docs;
pub mod errors;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::http::routes::{Audience, Route};

/// Security scheme names, as the paths' `security(...)` spell them.
pub const PLATFORM_KEY: &str = "platform_key";
pub const END_USER_KEY: &str = "end_user_key";
pub const ADMIN_TOKEN: &str = "admin_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Assistiv",
        description = "MCP-first tool-execution gateway: the management, self-service, \
            operator, capabilities, skills, OAuth, webhook and inference REST API. \
            Errors answer `{\"error\": {\"code\", \"message\", \"type\", \"request_id\"}}` \
            (the inference routes answer OpenAI's error shape). The MCP endpoints \
            (`/mcp`, `/mcp/skills`, `/mcp/capabilities`, `/mcp/agents/{id}`) speak \
            JSON-RPC over MCP's streamable HTTP transport and are not REST routes."
    ),
    paths(
        openapi_json,
        docs::page,
        docs::script,
        crate::health::healthz,
        crate::health::readyz,
        crate::metrics::scrape::with_admin_token,
    ),
    components(schemas(errors::ErrorEnvelope, errors::OpenAiErrorEnvelope)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "meta", description = "Health and this contract"),
        (name = "self-service", description = "An end-user key about itself"),
        (name = "management", description = "A platform key managing its platform"),
        (name = "operator", description = "The operator's admin token"),
        (name = "apps", description = "Third-party app activations and OAuth connections"),
        (name = "skills", description = "Skill folders: upload, browse, reviews"),
        (name = "capabilities", description = "Paid capabilities: browse, search, run"),
        (name = "webhooks", description = "Outbound webhook endpoints and deliveries"),
        (name = "inference", description = "The OpenAI-compatible inference plane"),
    )
)]
struct Base;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in [
            (PLATFORM_KEY, "A platform key (`sk-plat_...`)"),
            (END_USER_KEY, "An end-user key (`sk-eu_...`)"),
            (
                ADMIN_TOKEN,
                "The operator's admin token (`ASSISTIV_ADMIN_TOKEN`)",
            ),
        ] {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(description.to_owned());
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

/// The whole document: the base and every feature's documented routes.
pub fn document() -> serde_json::Value {
    let mut doc = Base::openapi();
    for part in [
        crate::management::Api::openapi(),
        crate::admin::Api::openapi(),
        crate::oauth::routes::Api::openapi(),
        crate::connect_page::Api::openapi(),
        crate::skills::routes::Api::openapi(),
        crate::capabilities::routes::Api::openapi(),
        crate::capabilities::admin::Api::openapi(),
        crate::webhooks::routes::Api::openapi(),
        crate::inference::routes::Api::openapi(),
        crate::inference::admin::Api::openapi(),
        crate::responses::routes::Api::openapi(),
    ] {
        doc.merge(part);
    }
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    open_flattened(&mut doc);
    doc
}

/// A type flattened into an answer (`#[serde(flatten)]`) becomes an `allOf` item;
/// when that type refuses unknown fields as input, its `additionalProperties:
/// false` would refuse the answer's other fields. Such items are inlined open,
/// wherever they occur; the component itself stays closed for the request
/// bodies that use it.
fn open_flattened(doc: &mut Value) {
    let closed: BTreeMap<String, Value> = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema["additionalProperties"] == Value::Bool(false))
        .map(|(name, schema)| {
            let mut open = schema.clone();
            if let Some(object) = open.as_object_mut() {
                object.remove("additionalProperties");
            }
            (format!("#/components/schemas/{name}"), open)
        })
        .collect();
    open_all_of(doc, &closed);
}

fn open_all_of(value: &mut Value, closed: &BTreeMap<String, Value>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(items)) = object.get_mut("allOf") {
                for item in items.iter_mut() {
                    if let Some(open) = item["$ref"].as_str().and_then(|r| closed.get(r)) {
                        *item = open.clone();
                    }
                }
            }
            object
                .values_mut()
                .for_each(|nested| open_all_of(nested, closed));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|nested| open_all_of(nested, closed)),
        _ => {}
    }
}

/// The document as served, rendered once.
fn rendered() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_string())
}

/// The OpenAPI 3.1 document of this gateway.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        rendered(),
    )
        .into_response()
}

/// This module's routes: the document and the reference page.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get(Audience::Public, "/openapi.json", openapi_json),
        Route::get(Audience::Public, docs::PAGE, docs::page),
        Route::get(Audience::Public, docs::SCRIPT, docs::script),
    ]
}
