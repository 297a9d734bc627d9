//! SlackApp against a local stand-in for Slack's Web API (wiremock on 127.0.0.1, port 0)
//! answering the documented response shapes in `tests/fixtures/`. Each test asserts the
//! method, path, arguments and `Authorization` header a tool sends, then its output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod helpers;
mod oauth;
mod specs;
mod tools;
