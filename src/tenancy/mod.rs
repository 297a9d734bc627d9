//! Tenancy: platforms, their keys and their end users. The services here decide;
//! the HTTP handlers and the CLI only parse and answer.

pub mod agents;
pub mod end_users;
pub mod keys;
pub mod platforms;
pub mod rate_limits;
