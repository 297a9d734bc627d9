use serde_json::json;
use wiremock::ResponseTemplate;
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::helpers::{TestGitHub, fixture, github, json, json_status};

#[tokio::test]
async fn get_me_returns_the_compact_profile() {
    let gh = TestGitHub::start().await;
    gh.expect(github("GET", "/user"), json("user")).await;

    let out = gh.ok("get_me", json!({})).await;

    assert_eq!(out.structured["login"], "octocat");
    assert_eq!(out.structured["name"], "monalisa octocat");
    assert_eq!(out.structured["public_repos"], 2);
    assert!(
        out.structured.get("plan").is_none(),
        "payload noise is dropped"
    );
    assert!(out.structured.get("followers_url").is_none());
    assert_eq!(
        out.text,
        "Signed in to GitHub as octocat (monalisa octocat)"
    );
}

#[tokio::test]
async fn a_github_enterprise_base_path_is_kept() {
    let gh = TestGitHub::start_with_prefix("/api/v3").await;
    gh.expect(github("GET", "/api/v3/user"), json("user")).await;

    let out = gh.ok("get_me", json!({})).await;
    assert_eq!(out.structured["login"], "octocat");
}

#[tokio::test]
async fn search_repositories_sends_query_sort_and_pagination() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/search/repositories")
            .and(query_param("q", "tetris language:assembly"))
            .and(query_param("sort", "stars"))
            .and(query_param("order", "desc"))
            .and(query_param("page", "2"))
            .and(query_param("per_page", "10")),
        json("search_repositories"),
    )
    .await;

    let out = gh
        .ok(
            "search_repositories",
            json!({"query": "tetris language:assembly", "sort": "stars", "order": "desc", "page": 2, "per_page": 10}),
        )
        .await;

    assert_eq!(out.structured["total_count"], 40);
    assert_eq!(out.structured["incomplete_results"], false);
    let repo = &out.structured["repositories"][0];
    assert_eq!(repo["full_name"], "dtrupenn/Tetris");
    assert_eq!(repo["language"], "Assembly");
    assert!(repo.get("owner").is_none());
    assert!(out.text.starts_with("40 repositories match"));
}

#[tokio::test]
async fn get_repository() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World"),
        json("repository"),
    )
    .await;

    let out = gh
        .ok(
            "get_repository",
            json!({"owner": "octocat", "repo": "Hello-World"}),
        )
        .await;

    assert_eq!(
        out.structured,
        json!({
            "full_name": "octocat/Hello-World",
            "description": "This your first repo!",
            "private": false,
            "fork": false,
            "archived": false,
            "html_url": "https://github.com/octocat/Hello-World",
            "default_branch": "master",
            "topics": ["octocat", "atom", "electron", "api"],
            "stargazers_count": 80,
            "forks_count": 9,
            "open_issues_count": 0,
            "pushed_at": "2011-01-26T19:06:43Z",
            "updated_at": "2011-01-26T19:14:43Z"
        })
    );
    assert_eq!(out.text, "octocat/Hello-World: This your first repo!");
}

#[tokio::test]
async fn list_branches() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/branches")
            .and(query_param("protected", "true"))
            .and(query_param("per_page", "100")),
        json("branches"),
    )
    .await;

    let out = gh
        .ok(
            "list_branches",
            json!({"owner": "octocat", "repo": "Hello-World", "protected": true, "per_page": 100}),
        )
        .await;

    assert_eq!(
        out.structured["branches"][0],
        json!({"name": "master", "sha": "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc", "protected": true})
    );
    assert_eq!(out.text, "2 branches in octocat/Hello-World");
}

#[tokio::test]
async fn create_branch_from_the_default_branch() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World"),
        json("repository"),
    )
    .await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/git/ref/heads/master"),
        json("git_ref"),
    )
    .await;
    gh.expect(
        github("POST", "/repos/octocat/Hello-World/git/refs").and(body_json(json!({
            "ref": "refs/heads/feature/login",
            "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd"
        }))),
        json_status(201, "created_ref"),
    )
    .await;

    let out = gh
        .ok(
            "create_branch",
            json!({"owner": "octocat", "repo": "Hello-World", "branch": "feature/login"}),
        )
        .await;

    assert_eq!(out.structured["ref"], "refs/heads/feature/login");
    assert_eq!(
        out.structured["sha"],
        "aa218f56b14c9653891f9e74264a383fa43fefbd"
    );
    assert_eq!(out.structured["from"], "master");
    assert_eq!(
        out.text,
        "Created branch feature/login from master at aa218f5 in octocat/Hello-World"
    );
}

#[tokio::test]
async fn create_branch_from_a_named_branch_or_a_sha() {
    let gh = TestGitHub::start().await;
    // A branch name with a slash stays a path; the ref lookup skips the repository call.
    gh.expect(
        github(
            "GET",
            "/repos/octocat/Hello-World/git/ref/heads/release/1.0",
        ),
        json("git_ref"),
    )
    .await;
    gh.server
        .register(
            github("POST", "/repos/octocat/Hello-World/git/refs")
                .respond_with(json_status(201, "created_ref"))
                .expect(2),
        )
        .await;

    gh.ok(
        "create_branch",
        json!({"owner": "octocat", "repo": "Hello-World", "branch": "feature/login", "from_branch": "release/1.0"}),
    )
    .await;
    let out = gh
        .ok(
            "create_branch",
            json!({"owner": "octocat", "repo": "Hello-World", "branch": "feature/login",
                   "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd"}),
        )
        .await;
    assert_eq!(
        out.structured["from"],
        "aa218f56b14c9653891f9e74264a383fa43fefbd"
    );

    let both = gh
        .call(
            "create_branch",
            json!({"owner": "octocat", "repo": "Hello-World", "branch": "x",
                   "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd", "from_branch": "main"}),
        )
        .await
        .unwrap_err();
    assert_eq!(both.code(), "invalid_arguments");
}

#[tokio::test]
async fn get_file_contents_decodes_a_file() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/contents/docs/README.md")
            .and(query_param("ref", "feature/x")),
        json("contents_file"),
    )
    .await;

    let out = gh
        .ok(
            "get_file_contents",
            json!({"owner": "octocat", "repo": "Hello-World", "path": "docs/README.md", "ref": "feature/x"}),
        )
        .await;

    let content = "# Hello World\n\nHello, été!\n";
    assert_eq!(out.structured["type"], "file");
    assert_eq!(out.structured["encoding"], "utf-8");
    assert_eq!(out.structured["content"], content);
    assert_eq!(
        out.structured["sha"],
        "3d21ec53a331a6f037a91c368710b99387d012c1"
    );
    assert_eq!(out.text, content);
}

#[tokio::test]
async fn get_file_contents_lists_a_directory_and_encodes_paths() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/contents").and(query_param_is_missing("ref")),
        json("contents_dir"),
    )
    .await;
    // A space and a '?' in a path are percent-encoded, never read as a query.
    gh.expect(
        github(
            "GET",
            "/repos/octocat/Hello-World/contents/my%20docs/what%3F.md",
        ),
        json("contents_file"),
    )
    .await;

    let out = gh
        .ok(
            "get_file_contents",
            json!({"owner": "octocat", "repo": "Hello-World"}),
        )
        .await;
    assert_eq!(out.structured["type"], "dir");
    assert_eq!(
        out.structured["entries"],
        json!([
            {"type": "file", "name": "octokit.rb", "path": "octokit.rb", "size": 625,
             "sha": "fff6fe3a23bf1c8ea0692b4a883af99bee26fd3b",
             "html_url": "https://github.com/octocat/Hello-World/blob/master/octokit.rb"},
            {"type": "dir", "name": "lib", "path": "lib", "size": 0,
             "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
             "html_url": "https://github.com/octocat/Hello-World/tree/master/lib"}
        ])
    );
    assert_eq!(out.text, "2 entries in octocat/Hello-World:/");

    gh.ok(
        "get_file_contents",
        json!({"owner": "octocat", "repo": "Hello-World", "path": "my docs/what?.md"}),
    )
    .await;
}

#[tokio::test]
async fn get_file_contents_returns_binary_files_as_base64() {
    let gh = TestGitHub::start().await;
    let mut file = fixture("contents_file");
    file["content"] = json!("iVBORw0K\nGgo=\n"); // PNG magic bytes: not UTF-8
    file["size"] = json!(8);
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/contents/logo.png"),
        ResponseTemplate::new(200).set_body_json(file),
    )
    .await;

    let out = gh
        .ok(
            "get_file_contents",
            json!({"owner": "octocat", "repo": "Hello-World", "path": "logo.png"}),
        )
        .await;
    assert_eq!(out.structured["encoding"], "base64");
    assert_eq!(out.structured["content"], "iVBORw0KGgo=");
    assert!(out.text.contains("binary file of 8 bytes"), "{}", out.text);
}

#[tokio::test]
async fn create_or_update_file_puts_base64_content() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("PUT", "/repos/octocat/Hello-World/contents/docs/guide.md").and(body_json(json!({
            "message": "Add the guide",
            "content": "SGVsbG8gw6l0w6kK", // "Hello été\n"
            "branch": "docs"
        }))),
        json_status(201, "contents_put"),
    )
    .await;
    gh.expect(
        github("PUT", "/repos/octocat/Hello-World/contents/docs/guide.md").and(body_json(json!({
            "message": "Fix the guide",
            "content": "SGVsbG8K",
            "sha": "95b966ae1c166bd92f8ae7d1c313e738c731dfc3"
        }))),
        json("contents_put"),
    )
    .await;

    let created = gh
        .ok(
            "create_or_update_file",
            json!({"owner": "octocat", "repo": "Hello-World", "path": "docs/guide.md",
                   "content": "Hello été\n", "message": "Add the guide", "branch": "docs"}),
        )
        .await;
    assert_eq!(
        created.structured,
        json!({
            "path": "docs/guide.md",
            "sha": "95b966ae1c166bd92f8ae7d1c313e738c731dfc3",
            "html_url": "https://github.com/octocat/Hello-World/blob/master/docs/guide.md",
            "commit": {
                "sha": "7638417db6d59f3c431d3e1f261cc637155684cd",
                "message": "Add the guide",
                "html_url": "https://github.com/octocat/Hello-World/git/commit/7638417db6d59f3c431d3e1f261cc637155684cd"
            }
        })
    );
    assert_eq!(
        created.text,
        "Created docs/guide.md in octocat/Hello-World (commit 7638417)"
    );

    let updated = gh
        .ok(
            "create_or_update_file",
            json!({"owner": "octocat", "repo": "Hello-World", "path": "docs/guide.md",
                   "content": "Hello\n", "message": "Fix the guide",
                   "sha": "95b966ae1c166bd92f8ae7d1c313e738c731dfc3"}),
        )
        .await;
    assert!(updated.text.starts_with("Updated docs/guide.md"));
}

#[tokio::test]
async fn list_commits_with_filters() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/repos/octocat/Hello-World/commits")
            .and(query_param("sha", "main"))
            .and(query_param("path", "src/lib.rs"))
            .and(query_param("author", "octocat"))
            .and(query_param("since", "2011-01-01T00:00:00Z"))
            .and(query_param_is_missing("until"))
            .and(query_param("page", "1")),
        json("commits"),
    )
    .await;

    let out = gh
        .ok(
            "list_commits",
            json!({"owner": "octocat", "repo": "Hello-World", "sha": "main", "path": "src/lib.rs",
                   "author": "octocat", "since": "2011-01-01T00:00:00Z", "page": 1}),
        )
        .await;

    assert_eq!(
        out.structured["commits"][0],
        json!({
            "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
            "message": "Fix all the bugs\n\nA longer explanation.",
            "author": "Monalisa Octocat",
            "author_login": "octocat",
            "date": "2011-04-14T16:00:49Z",
            "html_url": "https://github.com/octocat/Hello-World/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e"
        })
    );
    assert_eq!(
        out.text,
        "2 commits in octocat/Hello-World, newest 6dcb09b Fix all the bugs"
    );
}

#[tokio::test]
async fn search_code() {
    let gh = TestGitHub::start().await;
    gh.expect(
        github("GET", "/search/code")
            .and(query_param("q", "addClass repo:jquery/jquery"))
            .and(query_param("per_page", "5")),
        json("search_code"),
    )
    .await;

    let out = gh
        .ok(
            "search_code",
            json!({"query": "addClass repo:jquery/jquery", "per_page": 5}),
        )
        .await;

    assert_eq!(out.structured["total_count"], 7);
    assert_eq!(
        out.structured["items"][0],
        json!({
            "repository": "jquery/jquery",
            "path": "src/attributes/classes.js",
            "name": "classes.js",
            "sha": "d7212f9dee2dcc18f084d7df8f417b80846ded5a",
            "html_url": "https://github.com/jquery/jquery/blob/825ac3773694e0cd23ee74895fd5aeb535b27da4/src/attributes/classes.js"
        })
    );
}
