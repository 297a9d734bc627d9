//! The skills tools over MCP: `find_skill`, `fetch_skill`, `create_skill`,
//! `delete_skill`, `submit_skill_review`. Listed on `/mcp` and `/mcp/skills`
//! when the platform turned `skills_enabled` on (never on agent or capability
//! paths); arguments checked against their schema before anything runs; calls
//! count against the end user's request limits and are usage-logged.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents, Tool};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::agent_folder::CreateInput;
use super::catalog::{Change, Owner, SkillView, Source};
use super::reviews::Scores;
use super::tool_specs::{CREATE, DEFAULT_FIND_LIMIT, DELETE, FETCH, FIND, definitions};
use crate::error::Error;
use crate::mcp::registry::{
    CallError, McpCaller, McpScope, ToolSource, log_tool_call, rate_limit_refusal, schema_refusal,
    tool_error,
};
use crate::state::AppState;

struct Entry {
    tool: Tool,
    validator: jsonschema::Validator,
}

pub struct SkillTools {
    state: AppState,
    entries: Vec<Entry>,
}

impl SkillTools {
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for (name, title, description, schema, annotations) in definitions() {
            let validator = jsonschema::validator_for(&schema)
                .map_err(|e| anyhow::anyhow!("{name}: invalid input schema: {e}"))?;
            let Value::Object(schema) = schema else {
                anyhow::bail!("{name}: input schema is not an object");
            };
            let tool = Tool::new_with_raw(name, Some(description.into()), schema)
                .with_title(title)
                .with_annotations(annotations);
            entries.push(Entry { tool, validator });
        }
        Ok(Self { state, entries })
    }

    /// Skills tools show on `/mcp` and `/mcp/skills` once the platform enabled them.
    async fn enabled(&self, caller: &McpCaller) -> Result<bool, Error> {
        if !matches!(caller.scope, McpScope::All | McpScope::Skills) {
            return Ok(false);
        }
        Ok(self.state.skills.enabled_for(caller.platform_id).await?)
    }

    async fn run(
        &self,
        caller: &McpCaller,
        name: &str,
        args: Value,
    ) -> Result<CallToolResult, Error> {
        match name {
            FIND => self.find(caller, args).await,
            FETCH => self.fetch(caller, args).await,
            CREATE => self.create(caller, args).await,
            DELETE => {
                let id = skill_id(&args)?;
                self.state
                    .skills
                    .delete_private(caller.platform_id, id)
                    .await?;
                Ok(structured(
                    format!("Deleted skill {id}."),
                    json!({"id": id, "deleted": true}),
                ))
            }
            _ => self.review(caller, args).await,
        }
    }

    async fn find(&self, caller: &McpCaller, args: Value) -> Result<CallToolResult, Error> {
        let query = args["query"].as_str().unwrap_or_default();
        let limit = args["limit"].as_i64().unwrap_or(DEFAULT_FIND_LIMIT);
        let hits = self
            .state
            .skills
            .find(caller.platform_id, query, limit)
            .await?;
        let mut lines = Vec::new();
        let mut skills = Vec::new();
        for hit in hits {
            let score = hit.score;
            let view = SkillView::from(hit.listed);
            lines.push(format!(
                "- {} {} ({}, {}): {}{}\n  id: {}",
                view.name,
                view.version,
                view.visibility,
                files_phrase(view.file_count),
                view.description,
                match view.reviews.overall {
                    Some(overall) => format!(" [reviews: {overall}/5 from {}]", view.reviews.count),
                    None => String::new(),
                },
                view.id
            ));
            skills.push(json!({
                "id": view.id,
                "name": view.name,
                "description": view.description,
                "version": view.version,
                "visibility": view.visibility,
                "file_count": view.file_count,
                "size_bytes": view.size_bytes,
                "reviews": view.reviews,
                "score": score,
            }));
        }
        let text = if lines.is_empty() {
            format!("No skill matches '{query}'.")
        } else {
            format!(
                "{} skill(s) for '{query}', best first (fetch_skill with an id):\n{}",
                lines.len(),
                lines.join("\n")
            )
        };
        Ok(structured(text, json!({"query": query, "skills": skills})))
    }

    async fn fetch(&self, caller: &McpCaller, args: Value) -> Result<CallToolResult, Error> {
        let id = skill_id(&args)?;
        let (view, folder) = self.state.skills.fetch(caller.platform_id, id).await?;
        let mut listing = Vec::new();
        let mut content = vec![ContentBlock::text(format!(
            "Skill {} {} ({}): {}\nIts {} follow as embedded resources (skill://{}/<path>); \
             recreate them in a folder named {} and follow SKILL.md.",
            view.name,
            view.version,
            view.visibility,
            view.description,
            files_phrase(view.file_count),
            view.id,
            view.name
        ))];
        for file in folder.files() {
            let uri = resource_uri(view.id, &file.path);
            let mime = mime_guess::from_path(&file.path).first_raw();
            let (resource, encoding) = match std::str::from_utf8(&file.content) {
                Ok(text) if !text.contains('\0') => (
                    ResourceContents::text(text, &uri).with_mime_type(mime.unwrap_or("text/plain")),
                    "text",
                ),
                _ => (
                    ResourceContents::blob(STANDARD.encode(&file.content), &uri)
                        .with_mime_type(mime.unwrap_or("application/octet-stream")),
                    "base64",
                ),
            };
            listing.push(json!({
                "path": file.path,
                "size": file.content.len(),
                "uri": uri,
                "encoding": encoding,
            }));
            content.push(ContentBlock::resource(resource));
        }
        let mut result = CallToolResult::success(content);
        result.structured_content = Some(json!({
            "id": view.id,
            "name": view.name,
            "description": view.description,
            "version": view.version,
            "visibility": view.visibility,
            "sha256": view.sha256,
            "files": listing,
        }));
        Ok(result)
    }

    async fn create(&self, caller: &McpCaller, args: Value) -> Result<CallToolResult, Error> {
        let input: CreateInput = serde_json::from_value(args)
            .map_err(|e| Error::bad_request(format!("invalid arguments: {e}")))?;
        let folder = input.into_folder(self.state.skills.limits())?;
        let (view, change) = self
            .state
            .skills
            .publish_folder(
                folder,
                Owner::Platform(caller.platform_id),
                Source::Agent(caller.end_user_id),
            )
            .await?;
        let verb = match change {
            Change::Created => "Created",
            Change::NewVersion => "Published a new version of",
            Change::Unchanged => "Nothing changed in",
        };
        let text = format!(
            "{verb} the private skill {} {} (id {}, {}).",
            view.name,
            view.version,
            view.id,
            files_phrase(view.file_count)
        );
        Ok(structured(text, json!({"change": change, "skill": view})))
    }

    async fn review(&self, caller: &McpCaller, args: Value) -> Result<CallToolResult, Error> {
        let input: ReviewInput = serde_json::from_value(args)
            .map_err(|e| Error::bad_request(format!("invalid arguments: {e}")))?;
        let (review, view) = self
            .state
            .skills
            .review(
                caller.platform_id,
                caller.end_user_id,
                input.id,
                input.scores,
                input.comment,
            )
            .await?;
        let text = format!(
            "Review recorded for {} {}: now {}/5 over {} review(s).",
            view.name,
            view.version,
            view.reviews.overall.unwrap_or_default(),
            view.reviews.count
        );
        Ok(structured(
            text,
            json!({"review": review, "skill_reviews": view.reviews}),
        ))
    }
}

#[derive(Deserialize)]
struct ReviewInput {
    id: Uuid,
    scores: Scores,
    comment: Option<String>,
}

fn skill_id(args: &Value) -> Result<Uuid, Error> {
    args["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Error::bad_request("id must be a skill id (a UUID)"))
}

fn files_phrase(count: i64) -> String {
    if count == 1 {
        "1 file".into()
    } else {
        format!("{count} files")
    }
}

/// `skill://{id}/{path}` with each path segment percent-encoded.
fn resource_uri(id: Uuid, path: &str) -> String {
    let encoded: Vec<String> = path
        .split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        })
        .collect();
    format!("skill://{id}/{}", encoded.join("/"))
}

fn structured(text: String, value: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

/// A refusal the model can read, coded like the HTTP error it would have been.
fn refusal(err: &Error) -> CallToolResult {
    let code = match err.status().as_u16() {
        400 | 413 => "invalid_arguments",
        404 => "not_found",
        403 => "forbidden",
        409 => "conflict",
        _ => "internal_error",
    };
    tool_error(code, err.message().to_owned(), json!({}))
}

#[async_trait]
impl ToolSource for SkillTools {
    async fn list(&self, caller: &McpCaller) -> Result<Vec<Tool>, Error> {
        if !self.enabled(caller).await? {
            return Ok(Vec::new());
        }
        Ok(self.entries.iter().map(|e| e.tool.clone()).collect())
    }

    async fn call(
        &self,
        caller: &McpCaller,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<Option<CallToolResult>, CallError> {
        let Some(entry) = self.entries.iter().find(|e| e.tool.name == name) else {
            return Ok(None);
        };
        if !self.enabled(caller).await? {
            return Err(CallError::UnknownTool(name.to_owned()));
        }
        let started = std::time::Instant::now();
        let args = Value::Object(arguments);
        let result = if let Some(invalid) = schema_refusal(&entry.validator, name, &args) {
            invalid
        } else if let Some(limited) = rate_limit_refusal(&self.state, caller).await? {
            limited
        } else {
            match self.run(caller, name, args).await {
                Ok(result) => result,
                Err(err) if err.status().is_server_error() => return Err(err.into()),
                Err(err) => refusal(&err),
            }
        };
        log_tool_call(&self.state, caller, "skills", name, &result, started);
        Ok(Some(result))
    }
}

/// The skills tools as a registry source.
pub fn source(state: AppState) -> anyhow::Result<Arc<dyn ToolSource>> {
    Ok(Arc::new(SkillTools::new(state)?))
}
