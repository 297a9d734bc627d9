//! The skills tools over MCP: `find_skill`, `fetch_skill`, `create_skill`,
//! `delete_skill`, `submit_skill_review`. Listed on `/mcp` and `/mcp/skills`
//! when the platform turned `skills_enabled` on (never on agent or capability
//! paths); arguments checked against their schema before anything runs; calls
//! count against the end user's request limits and are usage-logged.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Value, json};
use uuid::Uuid;

use super::agent_folder::CreateInput;
use super::catalog::{Change, Owner, SkillView, Source};
use super::tool_specs::{
    CREATE, DELETE, FETCH, FIND, FindArgs, REVIEW, ReviewArgs, SkillRef, definitions,
};
use crate::error::Error;
use crate::state::AppState;
use crate::tools::{ToolCaller, ToolDef, ToolScope, ToolSource, arguments, structured};

pub struct SkillTools {
    state: AppState,
    defs: Vec<ToolDef>,
}

impl SkillTools {
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let defs = definitions()
            .iter()
            .map(|spec| ToolDef::from_spec(spec, spec.name.into(), spec.title.into(), "skills"))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { state, defs })
    }
    async fn find(&self, caller: &ToolCaller, args: FindArgs) -> Result<CallToolResult, Error> {
        let query = args.query.as_str();
        let hits = self
            .state
            .skills
            .find(caller.platform_id, query, args.limit)
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

    async fn fetch(&self, caller: &ToolCaller, id: Uuid) -> Result<CallToolResult, Error> {
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

    async fn create(
        &self,
        caller: &ToolCaller,
        input: CreateInput,
    ) -> Result<CallToolResult, Error> {
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

    async fn review(
        &self,
        caller: &ToolCaller,
        input: ReviewArgs,
    ) -> Result<CallToolResult, Error> {
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

fn files_phrase(count: i64) -> String {
    if count == 1 {
        "1 file".into()
    } else {
        format!("{count} files")
    }
}

/// `skill://{id}/{path}` with each path segment percent-encoded.
fn resource_uri(id: Uuid, path: &str) -> String {
    format!("skill://{id}/{}", super::extension::encode_path(path))
}

#[async_trait]
impl ToolSource for SkillTools {
    fn tools(&self) -> &[ToolDef] {
        &self.defs
    }

    /// On `/mcp` and `/mcp/skills`, once the platform enabled skills.
    async fn visible(&self, caller: &ToolCaller) -> Result<Vec<bool>, Error> {
        let shown = matches!(caller.scope, ToolScope::All | ToolScope::Skills)
            && self.state.skills.enabled_for(caller.platform_id).await?;
        Ok(vec![shown; self.defs.len()])
    }

    async fn run(
        &self,
        caller: &ToolCaller,
        tool: usize,
        args: Value,
    ) -> Result<CallToolResult, Error> {
        match self.defs[tool].name() {
            FIND => self.find(caller, arguments(args)?).await,
            FETCH => self.fetch(caller, arguments::<SkillRef>(args)?.id).await,
            CREATE => self.create(caller, arguments(args)?).await,
            DELETE => {
                let id = arguments::<SkillRef>(args)?.id;
                self.state
                    .skills
                    .delete_private(caller.platform_id, id)
                    .await?;
                Ok(structured(
                    format!("Deleted skill {id}."),
                    json!({"id": id, "deleted": true}),
                ))
            }
            REVIEW => self.review(caller, arguments(args)?).await,
            other => Err(Error::internal(format_args!("no skills tool {other}"))),
        }
    }
}
