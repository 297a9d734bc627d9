use std::collections::HashSet;

use assistiv_app_github::{GitHubApp, OAUTH};
use assistiv_app_sdk::{App, qualified_tool_name};
use serde_json::json;

const TOOLS: [&str; 22] = [
    "get_me",
    "search_repositories",
    "get_repository",
    "list_branches",
    "create_branch",
    "get_file_contents",
    "create_or_update_file",
    "list_commits",
    "search_code",
    "list_issues",
    "get_issue",
    "search_issues",
    "create_issue",
    "update_issue",
    "add_issue_comment",
    "list_pull_requests",
    "get_pull_request",
    "get_pull_request_files",
    "get_pull_request_diff",
    "create_pull_request",
    "merge_pull_request",
    "create_pull_request_review",
];

#[test]
fn every_tool_is_listed_once_with_a_snake_case_name() {
    let app = GitHubApp::new();
    let names: Vec<&str> = app.tools().iter().map(|t| t.name).collect();
    assert_eq!(names, TOOLS);
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate tool names");
    for name in names {
        let snake = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('_')
            && !name.contains("__")
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        assert!(snake, "{name} is not snake_case");
        // MCP clients commonly cap tool names at 64 characters.
        assert!(qualified_tool_name(app.slug(), name).len() <= 64, "{name}");
    }
}

#[test]
fn every_input_schema_is_a_valid_closed_object_schema() {
    for tool in GitHubApp::new().tools() {
        let schema = &tool.input_schema;
        jsonschema::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", tool.name));
        jsonschema::validator_for(schema)
            .unwrap_or_else(|e| panic!("{}: does not compile: {e}", tool.name));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            tool.name
        );
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
        assert!(
            schema.get("$defs").is_none(),
            "{}: subschemas are inlined",
            tool.name
        );
        assert!(
            !tool.title.is_empty() && !tool.description.is_empty(),
            "{}",
            tool.name
        );
    }
}

#[test]
fn schemas_encode_the_documented_constraints() {
    let app = GitHubApp::new();
    let validator = |name: &str| {
        let tool = app.tools().iter().find(|t| t.name == name).unwrap();
        jsonschema::validator_for(&tool.input_schema).unwrap()
    };
    let list_issues = validator("list_issues");
    assert!(list_issues.is_valid(&json!({"owner": "o", "repo": "r", "per_page": 100, "page": 1})));
    assert!(!list_issues.is_valid(&json!({"owner": "o", "repo": "r", "per_page": 101})));
    assert!(!list_issues.is_valid(&json!({"owner": "o", "repo": "r", "page": 0})));
    assert!(!list_issues.is_valid(&json!({"owner": "o", "repo": "r", "state": "sideways"})));
    assert!(!list_issues.is_valid(&json!({"owner": "o"})));
    assert!(!list_issues.is_valid(&json!({"owner": "o", "repo": "r", "unknown": 1})));

    let create_issue = validator("create_issue");
    assert!(create_issue.is_valid(&json!({"owner": "o", "repo": "r", "title": "t"})));
    assert!(!create_issue.is_valid(&json!({"owner": "o", "repo": "r", "title": ""})));

    let get_file = validator("get_file_contents");
    assert!(get_file.is_valid(&json!({"owner": "o", "repo": "r", "ref": "main"})));

    let review = validator("create_pull_request_review");
    assert!(
        review.is_valid(&json!({"owner": "o", "repo": "r", "pull_number": 1, "event": "APPROVE"}))
    );
    assert!(
        !review.is_valid(&json!({"owner": "o", "repo": "r", "pull_number": 1, "event": "approve"}))
    );
    assert!(
        !review.is_valid(&json!({"owner": "o", "repo": "r", "pull_number": 1,
        "comments": [{"path": "a", "body": "b"}]}))
    );

    let get_me = validator("get_me");
    assert!(get_me.is_valid(&json!({})));
    assert!(!get_me.is_valid(&json!({"x": 1})));
}

#[test]
fn annotations_follow_what_each_tool_does() {
    for tool in GitHubApp::new().tools() {
        let a = tool.annotations;
        let reads = tool.name.starts_with("get_")
            || tool.name.starts_with("list_")
            || tool.name.starts_with("search_");
        assert_eq!(a.read_only, reads, "{}", tool.name);
        assert_eq!(
            a.destructive,
            tool.name == "merge_pull_request",
            "{}",
            tool.name
        );
        assert!(a.open_world, "{}", tool.name);
        if a.read_only {
            assert!(a.idempotent, "{}", tool.name);
        }
    }
}

#[test]
fn identity_and_oauth_metadata() {
    let app = GitHubApp::new();
    assert_eq!(app.slug(), "github");
    assert_eq!(app.display_name(), "GitHub");
    let oauth = app.oauth();
    assert_eq!(oauth, &OAUTH);
    assert_eq!(
        oauth.authorize_url,
        "https://github.com/login/oauth/authorize"
    );
    assert_eq!(
        oauth.token_url,
        "https://github.com/login/oauth/access_token"
    );
    assert_eq!(
        oauth.revoke_url,
        Some("{api_base_url}/applications/{client_id}/grant")
    );
    assert_eq!(oauth.api_base_url, "https://api.github.com");
    assert_eq!(oauth.default_scope_param(), "repo read:user");
    assert!(oauth.pkce_s256);
}

#[test]
fn the_app_is_usable_as_a_trait_object() {
    let apps: Vec<Box<dyn App>> = vec![Box::new(GitHubApp::default())];
    assert_eq!(apps[0].tools().len(), TOOLS.len());
}

#[test]
fn optional_arguments_are_plain_types() {
    let app = GitHubApp::new();
    let list_issues = app
        .tools()
        .iter()
        .find(|t| t.name == "list_issues")
        .unwrap();
    let props = &list_issues.input_schema["properties"];
    assert_eq!(props["since"]["type"], "string");
    assert_eq!(props["state"]["enum"], json!(["open", "closed", "all"]));
    assert_eq!(
        props["per_page"],
        json!({
            "description": "Results per page (1-100, default 30).",
            "type": "integer", "minimum": 1, "maximum": 100
        })
    );
    let text = serde_json::to_string(&list_issues.input_schema).unwrap();
    assert!(!text.contains("null") && !text.contains("uint"), "{text}");
    let get_me = app.tools().iter().find(|t| t.name == "get_me").unwrap();
    assert_eq!(get_me.input_schema["properties"], json!({}));
}
