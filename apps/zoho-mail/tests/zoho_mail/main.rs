//! ZohoMailApp against a local stand-in for mail.zoho.com (wiremock on 127.0.0.1, port
//! 0) answering Zoho Mail's documented response shapes from `tests/fixtures/`. Each test
//! asserts the method, path, query, body and `Authorization: Zoho-oauthtoken` header the
//! tool sends, then the compact output it returns (checked against the tool's output
//! schema).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod errors;
mod helpers;
mod messages;
mod send;
mod specs;
