//! OpenAI Chat Completions shapes: the lingua franca every provider is
//! translated to and from.

pub mod request;
pub mod response;

pub use request::*;
pub use response::*;
