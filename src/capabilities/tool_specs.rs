//! The capability tools' definitions: names, product-named descriptions,
//! annotations, and input schemas derived from the argument types the tools
//! deserialize (`jsonschema` checks them before a call runs).

use assistiv_app_sdk::ToolAnnotations;
use assistiv_app_sdk::schema::tool_spec;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::browse::{self, ProviderFilter, Sort};
use super::run::RunRequest;
use crate::apps::ToolSpec;

pub const LIST_CAPABILITIES: &str = "list_capabilities";
pub const LIST_PROVIDERS: &str = "list_providers";
pub const SEARCH: &str = "capability_search";
pub const RUN: &str = "capability_run";

/// `list_capabilities` takes no arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

fn default_limit() -> usize {
    browse::DEFAULT_LIMIT
}

/// `list_providers`' arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProvidersArgs {
    /// A capability slug from list_capabilities.
    #[schemars(length(min = 1, max = 100))]
    pub capability: String,
    #[serde(default)]
    pub sort: Sort,
    /// USD per call.
    #[schemars(range(min = 0))]
    pub max_cost: Option<Number>,
    #[schemars(range(min = 0, max = 5))]
    pub min_rating: Option<f64>,
    #[serde(default)]
    pub verified_only: bool,
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1, max = browse::MAX_LIMIT))]
    pub limit: usize,
}

impl ListProvidersArgs {
    pub fn filter(self) -> (String, ProviderFilter) {
        let filter = ProviderFilter {
            sort: Some(self.sort),
            max_cost: self.max_cost,
            min_rating: self.min_rating,
            verified_only: Some(self.verified_only),
            limit: Some(self.limit),
        };
        (self.capability, filter)
    }
}

/// `capability_search`'s arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    #[schemars(length(min = 1, max = 500))]
    pub query: String,
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1, max = browse::MAX_LIMIT))]
    pub limit: usize,
}

/// `capability_run`'s arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    /// The provider uid (cap_*).
    #[schemars(length(min = 1, max = 100))]
    pub capability: String,
    /// Shaped from the provider's input_example.
    pub input: Option<Map<String, Value>>,
    /// Most USD to pay for this call.
    #[schemars(range(min = 0))]
    pub max_pay: Option<Number>,
}

impl From<RunArgs> for RunRequest {
    fn from(args: RunArgs) -> Self {
        Self {
            capability: args.capability,
            input: args.input.map(Value::Object),
            max_pay: args.max_pay,
            consent: Default::default(),
        }
    }
}

/// Free to call: reads this gateway's catalog.
const BROWSE: ToolAnnotations = ToolAnnotations {
    open_world: false,
    ..ToolAnnotations::READ
};

/// The capability tools, in listing order.
pub fn definitions() -> Vec<ToolSpec> {
    vec![
        tool_spec::<NoArgs>(
            LIST_CAPABILITIES,
            "List capabilities",
            "The menu of paid real-world actions, by category (image-generation, geolocation, \
             web-scraping, translation, legal-data, ...), each with how many providers it has, \
             how many this platform allows and the cheapest price. Plan over this first. No spend.",
            BROWSE,
        ),
        tool_spec::<ListProvidersArgs>(
            LIST_PROVIDERS,
            "List providers",
            "Providers under one capability, cheapest first (or by rating), each with its uid \
             (pass it to capability_run), indicative price range, rating, availability, \
             policy_state, and an input_example to copy and adapt. No spend.",
            BROWSE,
        ),
        tool_spec::<SearchArgs>(
            SEARCH,
            "Search capabilities",
            "Freeform search over providers when the capability is not obvious (e.g. 'generate \
             an image', 'court opinions'). Returns only providers this platform's policy lets \
             you run, best match first. No spend.",
            BROWSE,
        ),
        tool_spec::<RunArgs>(
            RUN,
            "Run a capability",
            "Call one provider by uid with an input shaped like its input_example. Spends the \
             user's budget: the price is a fresh quote, capped by the platform's ceiling and by \
             max_pay (USD) when given. The answer says final_state (billed, failed, released), \
             cost_usd and the provider's result. Refusals carry a code (above_ceiling, \
             denylisted, not_allowlisted, below_min_rating, no_budget, budget_exhausted, \
             budget_suspended, wallet_insufficient) with price_usd and ceiling_usd.",
            ToolAnnotations::CREATE,
        ),
    ]
}
