use serde_json::json;
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::helpers::{TestGitHub, github, json, json_status};

#[tokio::test]
async fn list_issues_with_filters() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/issues")
            .and(query_param("state", "all"))
            .and(query_param("labels", "bug,ui"))
            .and(query_param("assignee", "octocat"))
            .and(query_param("sort", "updated"))
            .and(query_param("direction", "asc"))
            .and(query_param("per_page", "50"))
            .and(query_param_is_missing("creator")),
        json("issues"),
    )
    .await;

    let out = gh
        .ok(
            "list_issues",
            json!({"owner": "octocat", "repo": "Hello-World", "state": "all", "labels": ["bug", "ui"],
                   "assignee": "octocat", "sort": "updated", "direction": "asc", "per_page": 50}),
        )
        .await;

    let issues = out.structured["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 2);
    assert_eq!(
        issues[0],
        json!({
            "number": 1347,
            "title": "Found a bug",
            "state": "open",
            "comments": 0,
            "html_url": "https://github.com/octocat/Hello-World/issues/1347",
            "created_at": "2011-04-22T13:33:48Z",
            "updated_at": "2011-04-22T13:33:48Z",
            "repository": "octocat/Hello-World",
            "user": "octocat",
            "labels": ["bug"],
            "assignees": ["octocat"],
            "milestone": "v1.0",
            "is_pull_request": false
        })
    );
    assert_eq!(issues[1]["is_pull_request"], true);
    assert_eq!(out.text, "2 issues in octocat/Hello-World");
}

#[tokio::test]
async fn get_issue_includes_the_body() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/issues/1347"),
        json("issue"),
    )
    .await;

    let out = gh
        .ok(
            "get_issue",
            json!({"owner": "octocat", "repo": "Hello-World", "issue_number": 1347}),
        )
        .await;

    assert_eq!(out.structured["body"], "I'm having a problem with this.");
    assert_eq!(out.text, "octocat/Hello-World#1347 Found a bug (open)");
}

#[tokio::test]
async fn search_issues_adds_is_issue_unless_the_query_says_a_kind() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/search/issues")
            .and(query_param(
                "q",
                "windows label:bug repo:octocat/Hello-World is:issue",
            ))
            .and(query_param("sort", "created"))
            .and(query_param("order", "asc")),
        json("search_issues"),
    )
    .await;
    gh.expect(
        github("GET", "/search/issues").and(query_param("q", "author:@me is:pr")),
        json("search_issues"),
    )
    .await;

    let out = gh
        .ok(
            "search_issues",
            json!({"query": "windows label:bug repo:octocat/Hello-World", "sort": "created", "order": "asc"}),
        )
        .await;
    assert_eq!(out.structured["total_count"], 280);
    assert_eq!(out.structured["items"][0]["number"], 132);
    assert_eq!(
        out.structured["items"][0]["repository"],
        "octocat/Hello-World"
    );

    gh.ok("search_issues", json!({"query": "author:@me is:pr"}))
        .await;
}

#[tokio::test]
async fn create_issue_posts_only_the_issue_fields() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/issues").and(body_json(json!({
            "title": "Found a bug",
            "body": "I'm having a problem with this.",
            "labels": ["bug"],
            "assignees": ["octocat"],
            "milestone": 1
        }))),
        json_status(201, "issue_created"),
    )
    .await;

    let out = gh
        .ok(
            "create_issue",
            json!({"owner": "octocat", "repo": "Hello-World", "title": "Found a bug",
                   "body": "I'm having a problem with this.", "labels": ["bug"],
                   "assignees": ["octocat"], "milestone": 1}),
        )
        .await;

    assert_eq!(out.structured["number"], 1349);
    assert_eq!(
        out.text,
        "Created octocat/Hello-World#1349 Found a bug (open): https://github.com/octocat/Hello-World/issues/1349"
    );
}

#[tokio::test]
async fn update_issue_patches_only_given_fields() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("PATCH", "/repos/octocat/Hello-World/issues/1347").and(body_json(json!({
            "state": "closed",
            "state_reason": "completed",
            "labels": []
        }))),
        json("issue_updated"),
    )
    .await;

    let out = gh
        .ok(
            "update_issue",
            json!({"owner": "octocat", "repo": "Hello-World", "issue_number": 1347,
                   "state": "closed", "state_reason": "completed", "labels": []}),
        )
        .await;
    assert_eq!(out.structured["state"], "closed");
    assert_eq!(out.structured["state_reason"], "completed");
    assert_eq!(
        out.text,
        "Updated octocat/Hello-World#1347 Found a bug (closed)"
    );

    let nothing = gh
        .call(
            "update_issue",
            json!({"owner": "octocat", "repo": "Hello-World", "issue_number": 1347}),
        )
        .await
        .unwrap_err();
    assert_eq!(nothing.code(), "invalid_arguments");
}

#[tokio::test]
async fn add_issue_comment() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/issues/1347/comments")
            .and(body_json(json!({"body": "Me too"}))),
        json_status(201, "issue_comment"),
    )
    .await;

    let out = gh
        .ok(
            "add_issue_comment",
            json!({"owner": "octocat", "repo": "Hello-World", "issue_number": 1347, "body": "Me too"}),
        )
        .await;

    assert_eq!(
        out.structured,
        json!({
            "id": 1,
            "user": "octocat",
            "body": "Me too",
            "html_url": "https://github.com/octocat/Hello-World/issues/1347#issuecomment-1",
            "created_at": "2011-04-14T16:00:49Z"
        })
    );
    assert_eq!(
        out.text,
        "Commented on octocat/Hello-World#1347: https://github.com/octocat/Hello-World/issues/1347#issuecomment-1"
    );
}
