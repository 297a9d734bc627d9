//! A platform's spend policy and the ONE predicate over it. Browse badges, search
//! and run all call [`evaluate`], so what is shown, found and run never disagree.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::snapshot::{Availability, Provider};
use crate::billing::Money;
use crate::error::PaymentCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only allowlisted providers (or shelves) run.
    Curated,
    /// Everything not denylisted runs.
    #[default]
    Open,
}

/// What the operator set for a platform. Ratings are kept in hundredths.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub enabled: bool,
    pub mode: Mode,
    /// Provider uids or shelf slugs (sets: looked up for every provider a search
    /// matches, so long lists stay cheap).
    pub allowlist: BTreeSet<String>,
    pub denylist: BTreeSet<String>,
    /// The per-call ceiling; `None` is no ceiling.
    pub max_cost_per_call: Option<Money>,
    pub min_rating: Option<f64>,
    pub require_healthy: bool,
    pub charge_failed_calls: bool,
    /// Runs through the `capability_run` tool quoted above this ask the end
    /// user first; `None` never asks.
    pub confirm_above: Option<Money>,
    /// What such a run does when the client cannot ask its user.
    pub confirm_fallback: ConfirmFallback,
}

/// What a run above `confirm_above` does on a client without form elicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmFallback {
    /// Run without asking.
    Run,
    /// Refuse with `confirmation_required` (nothing is held or charged).
    #[default]
    Refuse,
}

impl ConfirmFallback {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Refuse => "refuse",
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enabled: false,
            mode: Mode::Open,
            allowlist: BTreeSet::new(),
            denylist: BTreeSet::new(),
            max_cost_per_call: None,
            min_rating: None,
            require_healthy: false,
            charge_failed_calls: true,
            confirm_above: None,
            confirm_fallback: ConfirmFallback::Refuse,
        }
    }
}

/// Where a provider stands under the platform's policy: every state but
/// `InPolicy` is a 402 with the code of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyState {
    InPolicy,
    Denylisted,
    NotAllowlisted,
    BelowMinRating,
    AboveCeiling,
}

impl PolicyState {
    /// The 402 code a run refused for this state answers with.
    pub fn payment_code(self) -> Option<PaymentCode> {
        match self {
            Self::InPolicy => None,
            Self::Denylisted => Some(PaymentCode::Denylisted),
            Self::NotAllowlisted => Some(PaymentCode::NotAllowlisted),
            Self::BelowMinRating => Some(PaymentCode::BelowMinRating),
            Self::AboveCeiling => Some(PaymentCode::AboveCeiling),
        }
    }
}

/// Availability, not policy, keeping a provider from running now (a 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bar {
    NotHealthy,
    Down,
}

/// The answer of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub policy_state: PolicyState,
    /// The availability bar, whatever the policy state.
    pub bar: Option<Bar>,
}

impl Verdict {
    /// Runnable now: what search lists and what run accepts.
    pub fn allowed(&self) -> bool {
        self.policy_state == PolicyState::InPolicy && self.bar.is_none()
    }
}

fn listed(list: &BTreeSet<String>, provider: &Provider) -> bool {
    !list.is_empty()
        && (list.contains(&provider.spec.uid) || list.contains(&provider.spec.capability))
}

/// The predicate. `price` is the catalog's cheapest price when browsing and
/// searching, and the fresh quote when running. The price-independent states come
/// first, so a run can refuse them before asking the provider for a quote and
/// still answer what the badge says.
pub fn evaluate(
    policy: &Policy,
    provider: &Provider,
    price: Money,
    availability: Availability,
) -> Verdict {
    let policy_state = if listed(&policy.denylist, provider) {
        PolicyState::Denylisted
    } else if policy.mode == Mode::Curated && !listed(&policy.allowlist, provider) {
        PolicyState::NotAllowlisted
    } else if policy
        .min_rating
        .is_some_and(|min| provider.spec.rating < min)
    {
        PolicyState::BelowMinRating
    } else if policy
        .max_cost_per_call
        .is_some_and(|ceiling| price > ceiling)
    {
        PolicyState::AboveCeiling
    } else {
        PolicyState::InPolicy
    };
    let bar = if availability == Availability::Down {
        Some(Bar::Down)
    } else if policy.require_healthy && availability != Availability::Healthy {
        Some(Bar::NotHealthy)
    } else {
        None
    };
    Verdict { policy_state, bar }
}
