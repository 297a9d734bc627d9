use std::collections::HashSet;

use assistiv_app_sdk::{App, qualified_tool_name};
use assistiv_app_slack::SlackApp;
use serde_json::json;

const TOOLS: [&str; 10] = [
    "list_channels",
    "get_channel_history",
    "get_thread_replies",
    "search_messages",
    "post_message",
    "reply_to_thread",
    "add_reaction",
    "schedule_message",
    "list_users",
    "get_user_profile",
];

#[test]
fn every_tool_is_listed_once() {
    let app = SlackApp::new();
    let names: Vec<&str> = app.tools().iter().map(|t| t.name).collect();
    assert_eq!(names, TOOLS);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());
    for name in names {
        assert!(qualified_tool_name(app.slug(), name).len() <= 64);
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    }
}

#[test]
fn every_input_schema_is_a_valid_closed_object_schema() {
    for tool in SlackApp::new().tools() {
        let schema = &tool.input_schema;
        jsonschema::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", tool.name));
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
        assert!(schema.get("$defs").is_none(), "{}", tool.name);
        let text = schema.to_string();
        assert!(!text.contains("null") && !text.contains("uint"), "{text}");
    }
}

#[test]
fn schemas_encode_the_documented_constraints() {
    let app = SlackApp::new();
    let validator = |name: &str| {
        let tool = app.tools().iter().find(|t| t.name == name).unwrap();
        jsonschema::validator_for(&tool.input_schema).unwrap()
    };
    let list = validator("list_channels");
    assert!(list.is_valid(&json!({"types": ["im", "mpim"], "limit": 1000})));
    assert!(!list.is_valid(&json!({"types": ["dm"]})));
    assert!(!list.is_valid(&json!({"limit": 1001})));
    assert!(!list.is_valid(&json!({"cursor": ""})));
    let post = validator("post_message");
    assert!(post.is_valid(&json!({"channel": "C1", "text": "hi"})));
    assert!(!post.is_valid(&json!({"channel": "C1", "text": ""})));
    assert!(!post.is_valid(&json!({"channel": "C1"})));
    let search = validator("search_messages");
    assert!(!search.is_valid(&json!({"query": "x", "sort": "newest"})));
}

#[test]
fn annotations_follow_what_each_tool_does() {
    for tool in SlackApp::new().tools() {
        let reads = ["list_", "get_", "search_"]
            .iter()
            .any(|p| tool.name.starts_with(p));
        assert_eq!(tool.annotations.read_only, reads, "{}", tool.name);
        assert!(!tool.annotations.destructive, "{}", tool.name);
        assert!(tool.annotations.open_world);
    }
}
