//! GitHubApp against a local stand-in for api.github.com (wiremock on 127.0.0.1, port 0)
//! answering GitHub's documented response shapes from `tests/fixtures/`. Each test asserts
//! the method, path, query, body and `Authorization` header the tool sends, then the
//! compact output it returns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod helpers;
mod issues;
mod outputs;
mod pulls;
mod repos;
mod specs;
