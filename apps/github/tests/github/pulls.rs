use serde_json::json;
use wiremock::ResponseTemplate;
use wiremock::matchers::{body_json, header, query_param};

use crate::helpers::{TestGitHub, fixture_text, github, json, json_status};

#[tokio::test]
async fn list_pull_requests() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/pulls")
            .and(query_param("state", "open"))
            .and(query_param("base", "master"))
            .and(query_param("head", "octocat:new-topic"))
            .and(query_param("sort", "long-running")),
        json("pulls"),
    )
    .await;

    let out = gh
        .ok(
            "list_pull_requests",
            json!({"owner": "octocat", "repo": "Hello-World", "state": "open", "base": "master",
                   "head": "octocat:new-topic", "sort": "long-running"}),
        )
        .await;

    assert_eq!(
        out.structured["pull_requests"][0],
        json!({
            "number": 1347,
            "title": "Amazing new feature",
            "state": "open",
            "draft": false,
            "html_url": "https://github.com/octocat/Hello-World/pull/1347",
            "created_at": "2011-01-26T19:01:12Z",
            "updated_at": "2011-01-26T19:01:12Z",
            "user": "octocat",
            "head": {"ref": "new-topic", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "label": "octocat:new-topic"},
            "base": {"ref": "master", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
            "labels": ["bug"]
        })
    );
    assert_eq!(out.text, "1 pull requests in octocat/Hello-World");
}

#[tokio::test]
async fn get_pull_request_has_merge_state_and_counts() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/pulls/1347"),
        json("pull"),
    )
    .await;

    let out = gh
        .ok(
            "get_pull_request",
            json!({"owner": "octocat", "repo": "Hello-World", "pull_number": 1347}),
        )
        .await;

    let pr = &out.structured;
    assert_eq!(pr["body"], "Please pull these awesome changes in!");
    assert_eq!(pr["mergeable"], true);
    assert_eq!(pr["mergeable_state"], "clean");
    assert_eq!(pr["commits"], 3);
    assert_eq!(pr["additions"], 100);
    assert_eq!(pr["changed_files"], 5);
    assert_eq!(pr["requested_reviewers"], json!(["other_user"]));
    assert_eq!(pr["assignees"], json!(["octocat", "hubot"]));
    assert!(pr.get("_links").is_none());
    assert_eq!(
        out.text,
        "octocat/Hello-World#1347 Amazing new feature (open, new-topic -> master)"
    );
}

#[tokio::test]
async fn get_pull_request_files() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/pulls/1347/files").and(query_param("page", "3")),
        json("pull_files"),
    )
    .await;

    let out = gh
        .ok(
            "get_pull_request_files",
            json!({"owner": "octocat", "repo": "Hello-World", "pull_number": 1347, "page": 3}),
        )
        .await;

    assert_eq!(
        out.structured["files"][0],
        json!({
            "filename": "file1.txt",
            "status": "added",
            "additions": 103,
            "deletions": 21,
            "changes": 124,
            "patch": "@@ -132,7 +132,7 @@ module Test @@ -1000,7 +1000,7 @@ module Test"
        })
    );
    assert_eq!(
        out.text,
        "1 files changed in octocat/Hello-World#1347 (+103 -21)"
    );
}

#[tokio::test]
async fn get_pull_request_diff_asks_for_the_diff_media_type() {
    let gh = TestGitHub::start().await;
    let diff = fixture_text("pull.diff");
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/pulls/1347")
            .and(header("accept", "application/vnd.github.diff")),
        ResponseTemplate::new(200).set_body_raw(
            diff.clone().into_bytes(),
            "application/vnd.github.diff; charset=utf-8",
        ),
    )
    .await;

    let out = gh
        .ok(
            "get_pull_request_diff",
            json!({"owner": "octocat", "repo": "Hello-World", "pull_number": 1347}),
        )
        .await;

    assert_eq!(out.structured, json!({"pull_number": 1347, "diff": diff}));
    assert_eq!(out.text, diff);
}

#[tokio::test]
async fn create_pull_request() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/pulls").and(body_json(json!({
            "title": "Amazing new feature",
            "head": "octocat:new-topic",
            "base": "master",
            "body": "Please pull these awesome changes in!",
            "draft": false
        }))),
        json_status(201, "pull_created"),
    )
    .await;

    let out = gh
        .ok(
            "create_pull_request",
            json!({"owner": "octocat", "repo": "Hello-World", "title": "Amazing new feature",
                   "head": "octocat:new-topic", "base": "master",
                   "body": "Please pull these awesome changes in!", "draft": false}),
        )
        .await;

    assert_eq!(out.structured["number"], 1350);
    assert_eq!(
        out.text,
        "Opened octocat/Hello-World#1350 Amazing new feature (open, new-topic -> master): https://github.com/octocat/Hello-World/pull/1350"
    );
}

#[tokio::test]
async fn merge_pull_request() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("PUT", "/repos/octocat/Hello-World/pulls/1347/merge").and(body_json(json!({
            "commit_title": "Expand enum",
            "merge_method": "squash",
            "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"
        }))),
        json("merge"),
    )
    .await;

    let out = gh
        .ok(
            "merge_pull_request",
            json!({"owner": "octocat", "repo": "Hello-World", "pull_number": 1347,
                   "commit_title": "Expand enum", "merge_method": "squash",
                   "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}),
        )
        .await;

    assert_eq!(
        out.structured,
        json!({"merged": true, "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "message": "Pull Request successfully merged"})
    );
    assert_eq!(
        out.text,
        "octocat/Hello-World#1347: Pull Request successfully merged (6dcb09b)"
    );
}

#[tokio::test]
async fn create_pull_request_review_with_line_comments() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/pulls/12/reviews").and(body_json(json!({
            "body": "This is close to perfect! Please address the suggested inline change.",
            "event": "REQUEST_CHANGES",
            "commit_id": "ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091",
            "comments": [
                {"path": "file.md", "body": "Please add more information here.", "line": 6, "side": "RIGHT"},
                {"path": "lib.rs", "body": "Split this.", "line": 20, "start_line": 12}
            ]
        }))),
        json("review"),
    )
    .await;

    let out = gh
        .ok(
            "create_pull_request_review",
            json!({"owner": "octocat", "repo": "Hello-World", "pull_number": 12,
                   "body": "This is close to perfect! Please address the suggested inline change.",
                   "event": "REQUEST_CHANGES",
                   "commit_id": "ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091",
                   "comments": [
                       {"path": "file.md", "body": "Please add more information here.", "line": 6, "side": "RIGHT"},
                       {"path": "lib.rs", "body": "Split this.", "line": 20, "start_line": 12}
                   ]}),
        )
        .await;

    assert_eq!(out.structured["id"], 80);
    assert_eq!(out.structured["state"], "CHANGES_REQUESTED");
    assert_eq!(out.structured["user"], "octocat");
    assert_eq!(
        out.text,
        "Review CHANGES_REQUESTED on octocat/Hello-World#12: https://github.com/octocat/Hello-World/pull/12#pullrequestreview-80"
    );
}
