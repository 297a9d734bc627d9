//! Assistiv: an MCP-first tool-execution gateway with a management plane for
//! tenants, keys and end users.

pub mod admin;
pub mod apps;
pub mod auth;
pub mod billing;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod connect_page;
pub mod domain;
pub mod error;
pub mod fuzzing;
pub mod health;
pub mod http;
pub mod inference;
pub mod jobs;
pub mod management;
pub mod master_key;
pub mod mcp;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod ratelimit;
pub mod responses;
pub mod sealing;
pub mod skills;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenancy;
pub mod tools;
pub mod usage;
pub mod webhooks;
