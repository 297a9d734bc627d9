//! OpenAI's Responses API shapes, and their translation to Chat Completions:
//! the request ([`request`]), the conversation items ([`items`]), the
//! Response object ([`response`]), the event stream ([`events`]) and the
//! items as chat messages ([`chat`]), so every provider the chat plane
//! reaches serves Responses too. Running the conversation (turns, hosted
//! tools, money, storage) is the gateway's.

pub mod chat;
pub mod events;
pub mod items;
pub mod request;
pub mod response;

pub use items::{Item, new_id};
pub use request::{CreateResponse, ToolSpec};
pub use response::{ResponseObject, ResponseUsage};
