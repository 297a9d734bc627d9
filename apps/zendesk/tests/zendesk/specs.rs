use std::collections::HashSet;

use assistiv_app_sdk::{App, Revocation, qualified_tool_name};
use assistiv_app_zendesk::{OAUTH, SUBDOMAIN_PLACEHOLDER, ZendeskApp};
use serde_json::json;

const TOOLS: [&str; 9] = [
    "search_tickets",
    "get_ticket",
    "create_ticket",
    "update_ticket",
    "list_ticket_comments",
    "add_ticket_comment",
    "search_users",
    "get_user",
    "get_me",
];

#[test]
fn every_tool_is_listed_once_with_a_snake_case_name() {
    let app = ZendeskApp::new();
    let names: Vec<&str> = app.tools().iter().map(|t| t.name).collect();
    assert_eq!(names, TOOLS);
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate tool names");
    for name in names {
        let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('_')
            && !name.contains("__")
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        assert!(snake, "{name} is not snake_case");
        assert!(qualified_tool_name(app.slug(), name).len() <= 64, "{name}");
    }
}

#[test]
fn every_input_and_output_schema_is_valid() {
    for tool in ZendeskApp::new().tools() {
        let schema = &tool.input_schema;
        jsonschema::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", tool.name));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            tool.name
        );
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
        assert!(schema.get("$defs").is_none(), "{}: inlined", tool.name);
        assert!(!tool.title.is_empty() && !tool.description.is_empty());
        let text = serde_json::to_string(schema).unwrap();
        assert!(!text.contains("null") && !text.contains("uint"), "{text}");

        let output = tool
            .output_schema
            .as_ref()
            .expect("every tool has an output schema");
        jsonschema::validator_for(output)
            .unwrap_or_else(|e| panic!("{}: output schema does not compile: {e}", tool.name));
        assert_eq!(output["type"], "object", "{}", tool.name);
    }
}

#[test]
fn schemas_encode_the_documented_constraints() {
    let app = ZendeskApp::new();
    let validator = |name: &str| {
        let tool = app.tools().iter().find(|t| t.name == name).unwrap();
        jsonschema::validator_for(&tool.input_schema).unwrap()
    };
    let search = validator("search_tickets");
    assert!(search.is_valid(&json!({"query": "printer", "per_page": 100, "status": "closed"})));
    assert!(!search.is_valid(&json!({"query": "printer", "per_page": 101})));
    assert!(!search.is_valid(&json!({"query": ""})));

    let comment = validator("add_ticket_comment");
    assert!(comment.is_valid(&json!({"ticket_id": 1, "body": "b", "public": false})));
    assert!(
        !comment.is_valid(&json!({"ticket_id": 1, "body": "b"})),
        "public reply or internal note must be chosen"
    );
    assert!(!comment.is_valid(&json!({"ticket_id": 0, "body": "b", "public": true})));

    let update = validator("update_ticket");
    assert!(update.is_valid(&json!({"ticket_id": 1, "status": "solved"})));
    assert!(!update.is_valid(&json!({"ticket_id": 1, "status": "closed"})));
    assert!(!update.is_valid(&json!({"ticket_id": 1, "priority": "asap"})));

    let create = validator("create_ticket");
    assert!(create.is_valid(&json!({"subject": "s", "description": "d", "type": "task"})));
    assert!(!create.is_valid(&json!({"subject": "s"})));
}

#[test]
fn annotations_follow_what_each_tool_does() {
    for tool in ZendeskApp::new().tools() {
        let a = tool.annotations;
        let reads = ["search_", "get_", "list_"]
            .iter()
            .any(|p| tool.name.starts_with(p));
        assert_eq!(a.read_only, reads, "{}", tool.name);
        assert!(!a.destructive, "{}: nothing here destroys", tool.name);
        assert!(a.open_world, "{}", tool.name);
        let creates = matches!(tool.name, "create_ticket" | "add_ticket_comment");
        assert_eq!(a.idempotent, !creates, "{}", tool.name);
    }
}

#[test]
fn identity_and_oauth_metadata() {
    let app = ZendeskApp::default();
    assert_eq!(app.slug(), "zendesk");
    assert_eq!(app.display_name(), "Zendesk");
    let oauth = app.oauth();
    assert_eq!(oauth, &OAUTH);
    // Every URL is per account: the broker fills in the subdomain.
    let revoke_url = oauth.revoke_url.unwrap();
    for url in [
        oauth.authorize_url,
        oauth.token_url,
        oauth.api_base_url,
        revoke_url,
    ] {
        assert!(
            url.starts_with(&format!("https://{SUBDOMAIN_PLACEHOLDER}.zendesk.com")),
            "{url}"
        );
    }
    assert!(oauth.authorize_url.ends_with("/oauth/authorizations/new"));
    assert!(oauth.token_url.ends_with("/oauth/tokens"));
    assert!(revoke_url.ends_with("/api/v2/oauth/tokens/current.json"));
    assert_eq!(app.revocation(), Revocation::BearerDelete);
    assert!(oauth.pkce_s256);
    assert_eq!(oauth.default_scope_param(), "read write");
    // The subdomain is asked at connect time and must be a DNS label.
    let [field] = app.connect_fields() else {
        panic!("one connect field")
    };
    assert_eq!(field.name, "subdomain");
    assert_eq!((field.validate)(" Acme-2 ").unwrap(), "acme-2");
    for bad in ["", "a_b", "evil.com/", "acme.zendesk.com", "-acme"] {
        assert!((field.validate)(bad).is_err(), "{bad:?}");
    }
}
