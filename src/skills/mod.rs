//! Skills (SPEC section 10): a catalog of agent-fetchable folders, each a
//! `SKILL.md` (front matter: name, description, version; then instructions) plus
//! files. Public skills come from the operator, private ones from a platform
//! (`POST /v1/skills`) or its agents (`create_skill`).
//!
//! - [`intake`]: zip → [`folder::Folder`], refusing traversal, absolute paths,
//!   symlinks, too many files and bombs (caught while inflating);
//! - [`folder`]: the normalised folder, its canonical encoding and content address;
//! - [`manifest`]: `SKILL.md` front matter;
//! - [`blobs`]: the [`blobs::BlobStore`] trait (filesystem by default), blobs
//!   AES-256-GCM sealed under the master key and shared by identical folders;
//! - [`catalog`]: publish / read / delete / review; [`reviews`]: scores and their
//!   checks; [`store`] alone speaks SQL (`store::search` with FTS5 BM25 or
//!   PostgreSQL `ts_rank`, `store::reviews`);
//! - [`tools`]: the five tools (a tool source), [`tool_specs`] their argument
//!   types; [`routes`]: the REST surface;
//! - [`extension`]: the catalog as the MCP Skills extension (`skills/list`,
//!   `skills/get`, files as `skill://` resources, directory reads).

pub mod agent_folder;
pub mod blobs;
pub mod catalog;
pub mod extension;
pub mod folder;
pub mod intake;
pub mod manifest;
pub mod reviews;
pub mod routes;
pub mod store;
pub mod tool_specs;
pub mod tools;

pub use catalog::{Change, Owner, SkillView, Skills, Source};
