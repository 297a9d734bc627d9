//! The skills tools' MCP definitions: names, descriptions, input schemas (checked
//! with `jsonschema` before a call runs) and annotations.

use rmcp::model::ToolAnnotations;
use serde_json::{Value, json};

pub const FIND: &str = "find_skill";
pub const FETCH: &str = "fetch_skill";
pub const CREATE: &str = "create_skill";
pub const DELETE: &str = "delete_skill";
pub const REVIEW: &str = "submit_skill_review";
pub const DEFAULT_FIND_LIMIT: i64 = 10;

/// `(name, title, description, input schema, annotations)` of one tool.
pub type Definition = (
    &'static str,
    &'static str,
    &'static str,
    Value,
    ToolAnnotations,
);

pub fn definitions() -> Vec<Definition> {
    let id = json!({"type": "string", "format": "uuid", "description": "The skill's id (from find_skill)."});
    let score = json!({"type": "integer", "minimum": 1, "maximum": 5});
    vec![
        (
            FIND,
            "Find a skill",
            "Search the skills catalog (public skills and this platform's private ones) by \
             what you need to do. Returns the best matches with their id, description, version \
             and agents' review scores; then call fetch_skill with an id.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1, "maxLength": 500,
                              "description": "Words describing the task, e.g. 'fill a PDF form'."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": DEFAULT_FIND_LIMIT}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Find a skill")
                .read_only(true)
                .open_world(false),
        ),
        (
            FETCH,
            "Fetch a skill",
            "Download a skill's folder: SKILL.md (instructions) and its files, each as an \
             embedded resource (text, or base64 blob for binary files) whose URI ends with the \
             file's path. Recreate the folder locally, then follow SKILL.md.",
            json!({
                "type": "object",
                "properties": {"id": id},
                "required": ["id"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Fetch a skill")
                .read_only(true)
                .open_world(false),
        ),
        (
            CREATE,
            "Create a skill",
            "Save a skill private to this platform: a name (lowercase, hyphens), a short \
             description, and its files. A SKILL.md is written from name, description, \
             version and instructions when none is given. Creating it again with a new \
             version publishes that version.",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
                    "description": {"type": "string", "minLength": 1, "maxLength": 1024},
                    "version": {"type": "string", "minLength": 1, "maxLength": 64, "default": "1.0.0"},
                    "instructions": {"type": "string", "description": "SKILL.md body, when no SKILL.md is among the files."},
                    "files": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string", "minLength": 1, "maxLength": 1024},
                                "content": {"type": "string"},
                                "encoding": {"type": "string", "enum": ["utf-8", "base64"], "default": "utf-8"}
                            },
                            "required": ["path", "content"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["name", "description", "files"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Create a skill")
                .read_only(false)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        ),
        (
            DELETE,
            "Delete a skill",
            "Delete one of this platform's private skills (public skills cannot be deleted here).",
            json!({
                "type": "object",
                "properties": {"id": id},
                "required": ["id"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Delete a skill")
                .read_only(false)
                .destructive(true)
                .idempotent(true)
                .open_world(false),
        ),
        (
            REVIEW,
            "Review a skill",
            "Score a skill you used, 1 (poor) to 5 (excellent), on correctness, clarity, \
             safety and usefulness, with an optional comment. One review per user per version.",
            json!({
                "type": "object",
                "properties": {
                    "id": id,
                    "scores": {
                        "type": "object",
                        "properties": {"correctness": score, "clarity": score, "safety": score, "usefulness": score},
                        "required": ["correctness", "clarity", "safety", "usefulness"],
                        "additionalProperties": false
                    },
                    "comment": {"type": "string", "maxLength": 2000}
                },
                "required": ["id", "scores"],
                "additionalProperties": false
            }),
            ToolAnnotations::with_title("Review a skill")
                .read_only(false)
                .destructive(false)
                .idempotent(false)
                .open_world(false),
        ),
    ]
}
