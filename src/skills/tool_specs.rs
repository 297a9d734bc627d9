//! The skills tools' definitions: names, descriptions, annotations, and input
//! schemas derived from the argument types the tools deserialize (so the two
//! cannot drift; `jsonschema` checks them before a call runs).

use assistiv_app_sdk::ToolAnnotations;
use assistiv_app_sdk::schema::tool_spec;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::agent_folder::CreateInput;
use super::reviews::Scores;
use crate::apps::ToolSpec;

pub const FIND: &str = "find_skill";
pub const FETCH: &str = "fetch_skill";
pub const CREATE: &str = "create_skill";
pub const DELETE: &str = "delete_skill";
pub const REVIEW: &str = "submit_skill_review";

fn default_find_limit() -> i64 {
    10
}

/// `find_skill`'s arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindArgs {
    /// Words describing the task, e.g. 'fill a PDF form'.
    #[schemars(length(min = 1, max = 500))]
    pub query: String,
    #[serde(default = "default_find_limit")]
    #[schemars(range(min = 1, max = 50))]
    pub limit: i64,
}

/// `fetch_skill`'s and `delete_skill`'s arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillRef {
    /// The skill's id (from find_skill).
    pub id: Uuid,
}

/// `submit_skill_review`'s arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewArgs {
    /// The skill's id (from find_skill).
    pub id: Uuid,
    pub scores: Scores,
    #[schemars(length(max = 2000))]
    pub comment: Option<String>,
}

/// Not a public web service: the skills tools act on this gateway only.
const fn local(annotations: ToolAnnotations) -> ToolAnnotations {
    ToolAnnotations {
        open_world: false,
        ..annotations
    }
}

/// The skills tools, in listing order.
pub fn definitions() -> Vec<ToolSpec> {
    vec![
        tool_spec::<FindArgs>(
            FIND,
            "Find a skill",
            "Search the skills catalog (public skills and this platform's private ones) by \
             what you need to do. Returns the best matches with their id, description, version \
             and agents' review scores; then call fetch_skill with an id.",
            local(ToolAnnotations::READ),
        ),
        tool_spec::<SkillRef>(
            FETCH,
            "Fetch a skill",
            "Download a skill's folder: SKILL.md (instructions) and its files, each as an \
             embedded resource (text, or base64 blob for binary files) whose URI ends with the \
             file's path. Recreate the folder locally, then follow SKILL.md.",
            local(ToolAnnotations::READ),
        ),
        tool_spec::<CreateInput>(
            CREATE,
            "Create a skill",
            "Save a skill private to this platform: a name (lowercase, hyphens), a short \
             description, and its files. A SKILL.md is written from name, description, \
             version and instructions when none is given. Creating it again with a new \
             version publishes that version.",
            local(ToolAnnotations::UPDATE),
        ),
        tool_spec::<SkillRef>(
            DELETE,
            "Delete a skill",
            "Delete one of this platform's private skills (public skills cannot be deleted here).",
            local(ToolAnnotations {
                idempotent: true,
                ..ToolAnnotations::DESTRUCTIVE
            }),
        ),
        tool_spec::<ReviewArgs>(
            REVIEW,
            "Review a skill",
            "Score a skill you used, 1 (poor) to 5 (excellent), on correctness, clarity, \
             safety and usefulness, with an optional comment. One review per user per version.",
            local(ToolAnnotations::CREATE),
        ),
    ]
}
