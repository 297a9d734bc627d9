//! The capability tools' MCP definitions: names, product-named descriptions,
//! input schemas (checked with `jsonschema` before a call runs) and annotations.

use rmcp::model::ToolAnnotations;
use serde_json::{Value, json};

use super::browse;

pub const LIST_CAPABILITIES: &str = "list_capabilities";
pub const LIST_PROVIDERS: &str = "list_providers";
pub const SEARCH: &str = "capability_search";
pub const RUN: &str = "capability_run";

/// `(name, title, description, input schema, annotations)` of one tool.
pub type Definition = (
    &'static str,
    &'static str,
    &'static str,
    Value,
    ToolAnnotations,
);

pub fn definitions() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Value,
    ToolAnnotations,
)> {
    let read_only = |title: &str| {
        ToolAnnotations::with_title(title)
            .read_only(true)
            .open_world(false)
    };
    vec![
        (
            LIST_CAPABILITIES,
            "List capabilities",
            "The menu of paid real-world actions, by category (image-generation, geolocation, \
             web-scraping, translation, legal-data, ...), each with how many providers it has, \
             how many this platform allows and the cheapest price. Plan over this first. No spend.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            read_only("List capabilities"),
        ),
        (
            LIST_PROVIDERS,
            "List providers",
            "Providers under one capability, cheapest first (or by rating), each with its uid \
             (pass it to capability_run), indicative price range, rating, availability, \
             policy_state, and an input_example to copy and adapt. No spend.",
            json!({
                "type": "object",
                "properties": {
                    "capability": {"type": "string", "minLength": 1, "maxLength": 100,
                                   "description": "A capability slug from list_capabilities."},
                    "sort": {"type": "string", "enum": ["price", "rating"], "default": "price"},
                    "max_cost": {"type": "number", "minimum": 0, "description": "USD per call."},
                    "min_rating": {"type": "number", "minimum": 0, "maximum": 5},
                    "verified_only": {"type": "boolean", "default": false},
                    "limit": {"type": "integer", "minimum": 1, "maximum": browse::MAX_LIMIT, "default": browse::DEFAULT_LIMIT}
                },
                "required": ["capability"],
                "additionalProperties": false
            }),
            read_only("List providers"),
        ),
        (
            SEARCH,
            "Search capabilities",
            "Freeform search over providers when the capability is not obvious (e.g. 'generate \
             an image', 'court opinions'). Returns only providers this platform's policy lets \
             you run, best match first. No spend.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1, "maxLength": 500},
                    "limit": {"type": "integer", "minimum": 1, "maximum": browse::MAX_LIMIT, "default": browse::DEFAULT_LIMIT}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
            read_only("Search capabilities"),
        ),
        (
            RUN,
            "Run a capability",
            "Call one provider by uid with an input shaped like its input_example. Spends the \
             user's budget: the price is a fresh quote, capped by the platform's ceiling and by \
             max_pay (USD) when given. The answer says final_state (billed, failed, released), \
             cost_usd and the provider's result. Refusals carry a code (above_ceiling, \
             denylisted, not_allowlisted, below_min_rating, no_budget, budget_exhausted, \
             budget_suspended, wallet_insufficient) with price_usd and ceiling_usd.",
            json!({
                "type": "object",
                "properties": {
                    "capability": {"type": "string", "minLength": 1, "maxLength": 100,
                                   "description": "The provider uid (cap_*)."},
                    "input": {"type": "object", "description": "Shaped from the provider's input_example."},
                    "max_pay": {"type": "number", "minimum": 0, "description": "Most USD to pay for this call."}
                },
                "required": ["capability"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Run a capability")
                .read_only(false)
                .destructive(false)
                .idempotent(false)
                .open_world(true),
        ),
    ]
}
