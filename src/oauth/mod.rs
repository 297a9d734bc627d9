//! The OAuth broker (SPEC section 7): operators activate apps per platform, end
//! users connect them in a browser (authorize URL with single-use state and PKCE,
//! callback with the code exchange), and the MCP layer asks [`Broker::token`] for a
//! fresh access token. Client secrets, tokens and PKCE verifiers are AES-256-GCM
//! ciphertexts bound to their row ([`vault`]); connect links are signed, stateless
//! and carry no API key ([`link`]).

pub mod activations;
pub mod broker;
pub mod flow;
pub mod link;
pub mod provider;
pub mod routes;
pub mod settings;
pub mod store;
pub mod sweeper;
pub mod vault;
pub mod views;

pub use broker::{AppToken, Broker, TokenError};
