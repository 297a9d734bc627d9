//! Inference-plane building blocks of the Assistiv gateway, knowing nothing
//! of its database, money or routes: OpenAI Chat Completions types, one
//! client per provider kind (OpenAI / xAI / OpenAI-compatible passthrough,
//! Anthropic Messages, Gemini, an in-process mock), translation both ways
//! (streams included), the price book, token estimates and model ids.
//! With the `stand-in` feature: local servers answering like the providers.

pub mod anthropic;
pub mod echo;
pub mod error;
pub mod gemini;
mod http;
pub mod ids;
pub mod mock;
pub mod model_id;
pub mod openai;
pub mod passthrough;
pub mod prices;
pub mod provider;
pub mod responses;
pub mod stream;
pub mod tokens;
mod translate;

#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use error::{ProviderError, ProviderKind};
pub use http::Timeouts;
pub use model_id::ModelRef;
pub use prices::{ModelPrice, PriceBook, PriceBookError, cost_micros};
pub use provider::{
    Completion, Provider, ProviderConfig, default_base_url, default_models, model_object,
};
pub use stream::{ChunkStream, StreamEvent};
pub use tokens::{count_tokens_estimate, estimate_prompt_tokens};
