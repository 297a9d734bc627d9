//! Integration tests: the real application on a loopback port, against SQLite and
//! PostgreSQL alike (every `both_backends!` test runs once per database).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod helpers;

mod api_keys;
mod app_catalog;
mod app_quirks;
mod auth;
mod bad_input;
mod budgets;
mod capabilities;
mod cli;
mod connect_page;
mod end_users;
mod health;
mod holds;
mod inference;
mod inference_money;
mod inference_sdks;
mod isolation;
mod key_rotation;
mod layering;
mod mcp;
mod mcp_clients;
mod mcp_hardening;
mod mcp_resume;
mod mcp_rounds;
mod metrics;
mod oauth;
mod oauth_mock_server;
mod oauth_sweep;
mod openapi;
mod periods;
mod pipeline;
mod platforms;
mod rate_limits;
mod responses;
mod responses_sdks;
mod revocation;
mod route_table;
mod scale_out;
mod secrets;
mod seed_examples;
mod skill_zips;
mod skills;
mod skills_cli;
mod skills_extension;
mod skills_mcp;
mod slack_app;
mod stand_in;
mod tool_pipeline;
mod usage_logs;
mod wallets;
mod webhooks;
mod zendesk_app;
mod zoho_mail_app;
