//! ZendeskApp against a local stand-in for `{subdomain}.zendesk.com` (wiremock on
//! 127.0.0.1, port 0) answering the Support API's documented response shapes from
//! `tests/fixtures/`. Each test asserts the method, path, query, body and bearer token
//! the tool sends, then the compact output it returns (checked against the tool's output
//! schema).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod comments;
mod errors;
mod helpers;
mod specs;
mod tickets;
mod users;
