//! Bad input on every write route answers 4xx in the envelope and writes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};

/// Everything the routes under test could change, as seen through the API.
async fn snapshot(app: &TestApp) -> Value {
    let pid = app.platform_id;
    let key = &app.platform_key;
    json!({
        "platform": app.get(&format!("/v1/platforms/{pid}"), key).await.body,
        "end_users": app.get(&format!("/v1/platforms/{pid}/end-users?limit=100"), key).await.body,
        "api_keys": app.get(&format!("/v1/platforms/{pid}/api-keys?limit=100"), key).await.body,
        "platforms": app.get("/admin/v1/platforms?limit=100", ADMIN_TOKEN).await.body,
    })
}

struct Case {
    method: Method,
    path: String,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    status: u16,
    code: &'static str,
}

fn json_case(
    method: Method,
    path: &str,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        method,
        path: path.to_owned(),
        body: body.into(),
        content_type: Some("application/json"),
        status,
        code,
    }
}

async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (euid, _) = app.create_end_user("existing").await;
    let pid = app.platform_id;
    let users = format!("/v1/platforms/{pid}/end-users");
    let user = format!("{users}/{euid}");
    let platform = format!("/v1/platforms/{pid}");
    let keys = format!("/v1/platforms/{pid}/api-keys");
    let long_id = "x".repeat(10 * 1024);
    let huge = format!(
        r#"{{"external_id": "big", "metadata": {{"pad": "{}"}}}}"#,
        "x".repeat(1024 * 1024)
    );
    let mut non_utf8 = br#"{"external_id": ""#.to_vec();
    non_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    non_utf8.extend_from_slice(br#""}"#);

    let post = Method::POST;
    let patch = Method::PATCH;
    let mut cases = vec![
        json_case(
            post.clone(),
            &users,
            r#"{"external_id":"#,
            400,
            "bad_request",
        ),
        json_case(post.clone(), &users, "{}", 400, "bad_request"),
        json_case(post.clone(), &users, "[]", 400, "bad_request"),
        json_case(
            post.clone(),
            &users,
            r#"{"external_id": "a", "bogus": 1}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &users,
            r#"{"external_id": 42}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &users,
            r#"{"external_id": ""}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &users,
            format!(r#"{{"external_id": "{long_id}"}}"#),
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &users,
            r#"{"external_id": "a", "metadata": [1]}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &users,
            format!(
                r#"{{"external_id": "a", "metadata": {{"k": "{}"}}}}"#,
                "v".repeat(20_000)
            ),
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &users,
            format!(
                r#"{{"external_id": "a", "display_name": "{}"}}"#,
                "n".repeat(500)
            ),
            400,
            "bad_request",
        ),
        json_case(post.clone(), &users, non_utf8, 400, "bad_request"),
        json_case(post.clone(), &users, huge, 413, "payload_too_large"),
        Case {
            method: post.clone(),
            path: users.clone(),
            body: br#"{"external_id": "a"}"#.to_vec(),
            content_type: Some("text/plain"),
            status: 415,
            code: "unsupported_media_type",
        },
        Case {
            method: post.clone(),
            path: users.clone(),
            body: br#"{"external_id": "a"}"#.to_vec(),
            content_type: None,
            status: 415,
            code: "unsupported_media_type",
        },
        json_case(
            patch.clone(),
            &user,
            r#"{"bogus": true}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &user,
            r#"{"metadata": "x"}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &user,
            r#"{"display_name": ""}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &format!("{users}/not-a-uuid"),
            r#"{"display_name": "x"}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &format!("{users}/%FF"),
            r#"{"display_name": "x"}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"bogus": true}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"skills_enabled": "yes"}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"credits_per_usd": -1}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"markup_percent": 2000}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"markup_percent": 1.234}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"display_name": ""}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"default_budget": {"max_usd": -1, "period": "monthly"}}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"default_budget": {"max_usd": 1, "period": "weekly"}}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"default_budget": {"max_usd": 1e30, "period": "daily"}}"#,
            400,
            "bad_request",
        ),
        json_case(
            patch.clone(),
            &platform,
            r#"{"skills_enabled": true, "display_unit": "#,
            400,
            "bad_request",
        ),
        json_case(post.clone(), &keys, r#"{"name": "#, 400, "bad_request"),
        json_case(
            post.clone(),
            &keys,
            r#"{"name": "k", "scope": "all"}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            &keys,
            format!(r#"{{"name": "{long_id}"}}"#),
            400,
            "bad_request",
        ),
        json_case(
            Method::DELETE,
            &format!("{keys}/not-a-uuid"),
            "",
            400,
            "bad_request",
        ),
        json_case(
            Method::DELETE,
            &format!("{users}/not-a-uuid"),
            "",
            400,
            "bad_request",
        ),
        json_case(
            Method::GET,
            &format!("{users}/12345"),
            "",
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            "/v1/platforms/not-a-uuid/end-users",
            r#"{"external_id": "a"}"#,
            400,
            "bad_request",
        ),
    ];
    // Admin routes use the admin token.
    let admin_cases = vec![
        json_case(
            post.clone(),
            "/admin/v1/platforms",
            r#"{"name": "Bad Name"}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            "/admin/v1/platforms",
            r#"{"name": "ok", "bogus": 1}"#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            "/admin/v1/platforms",
            r#"{"name": "#,
            400,
            "bad_request",
        ),
        json_case(
            post.clone(),
            "/admin/v1/platforms",
            format!(r#"{{"name": "{long_id}"}}"#),
            400,
            "bad_request",
        ),
        json_case(
            Method::GET,
            "/admin/v1/platforms/not-a-uuid",
            "",
            400,
            "bad_request",
        ),
    ];

    let before = snapshot(&app).await;
    for (case, token) in cases
        .drain(..)
        .map(|c| (c, app.platform_key.clone()))
        .chain(admin_cases.into_iter().map(|c| (c, ADMIN_TOKEN.to_owned())))
    {
        let mut request = app.request(case.method.clone(), &case.path, Some(&token));
        if let Some(content_type) = case.content_type {
            request = request.header("Content-Type", content_type);
        }
        if !case.body.is_empty() {
            request = request.body(case.body.clone());
        }
        let reply = app.send(request).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (case.status, case.code),
            "{} {}: {}",
            case.method,
            case.path,
            reply.body
        );
        reply.assert_error(case.status, case.code);
    }
    assert_eq!(snapshot(&app).await, before, "bad input changed state");
    app.stop().await;
}

/// What the NUL cases below could change, as seen through the API.
async fn nul_snapshot(app: &TestApp, skill_id: &str) -> Value {
    let pid = app.platform_id;
    let key = &app.platform_key;
    let mut seen = snapshot(app).await;
    seen["agents"] = app
        .get(&format!("/v1/platforms/{pid}/agents"), key)
        .await
        .body;
    seen["apps"] = app
        .get(&format!("/admin/v1/platforms/{pid}/apps"), ADMIN_TOKEN)
        .await
        .body;
    seen["reviews"] = app
        .get(&format!("/v1/skills/{skill_id}/reviews"), key)
        .await
        .body;
    seen
}

/// Text holding U+0000 (which PostgreSQL cannot store) is refused at the edge,
/// in bodies, query strings, paths and MCP tool arguments: the same 400 on both
/// databases, and nothing written.
async fn text_with_nul_is_refused_everywhere_and_writes_nothing(backend: Backend) {
    use crate::mcp::McpSession;
    use crate::skill_zips::{enable_skills, skill_md, upload, zip};

    let app = spawn_app(backend).await;
    let pid = app.platform_id;
    let key = app.platform_key.clone();
    let (euid, eu_key) = app.create_end_user("existing").await;
    enable_skills(&app, pid, &key).await;
    let manifest = skill_md("nul-check", "A skill to review.", "1", "Hi");
    let uploaded = upload(&app, "/v1/skills", &key, zip(&[("SKILL.md", &manifest)])).await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let skill_id = uploaded.data()["id"].as_str().unwrap().to_owned();

    let users = format!("/v1/platforms/{pid}/end-users");
    let user = format!("{users}/{euid}");
    let cases: Vec<(Method, String, &str, Option<Value>)> = vec![
        (
            Method::POST,
            users.clone(),
            &key,
            Some(json!({"external_id": "a\0b"})),
        ),
        (
            Method::POST,
            users.clone(),
            &key,
            Some(json!({"external_id": "a", "display_name": "Jane\0"})),
        ),
        (
            Method::POST,
            users.clone(),
            &key,
            Some(json!({"external_id": "a", "metadata": {"note": "x\0y"}})),
        ),
        (
            Method::POST,
            users.clone(),
            &key,
            Some(json!({"external_id": "a", "metadata": {"k\0": 1}})),
        ),
        (
            Method::PATCH,
            user.clone(),
            &key,
            Some(json!({"metadata": {"n": ["\0"]}})),
        ),
        (
            Method::POST,
            format!("/v1/platforms/{pid}/agents"),
            &key,
            Some(json!({"name": "bot", "config": {"prompt": "hi\0"}})),
        ),
        (
            Method::PUT,
            format!("/admin/v1/platforms/{pid}/apps/github"),
            ADMIN_TOKEN,
            Some(
                json!({"client_id": "id\0", "client_secret": "s", "base_url": "https://platform.example"}),
            ),
        ),
        (
            Method::POST,
            "/v1/capabilities/run".into(),
            &eu_key,
            Some(json!({"capability": "x\0y", "input": {}})),
        ),
        (
            Method::PATCH,
            format!("/v1/platforms/{pid}"),
            &key,
            Some(json!({"display_name": "Acme\0"})),
        ),
        (
            Method::POST,
            "/admin/v1/platforms".into(),
            ADMIN_TOKEN,
            Some(json!({"name": "nul-co", "display_name": "Acme\0"})),
        ),
        (
            Method::POST,
            format!("/v1/platforms/{pid}/api-keys"),
            &key,
            Some(json!({"name": "k\0"})),
        ),
        (
            Method::POST,
            format!("{user}/budget/topup"),
            &key,
            Some(json!({"amount_usd": 1, "reason": "\0"})),
        ),
        (
            Method::GET,
            format!("{users}?external_id=a%00b"),
            &key,
            None,
        ),
        (
            Method::GET,
            "/v1/capabilities/geo%00x/providers".into(),
            &eu_key,
            None,
        ),
    ];

    let before = nul_snapshot(&app, &skill_id).await;
    for (method, path, token, body) in cases {
        let mut request = app.request(method.clone(), &path, Some(token));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let reply = app.send(request).await;
        reply.assert_error(400, "bad_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("text must not contain NUL (U+0000) characters"),
            "{method} {path}: {message}"
        );
    }

    // MCP tool arguments: a tool error the model can read, and no review.
    let mut mcp = McpSession::open(&app, "/mcp/skills", &eu_key).await;
    let reply = mcp
        .call(
            "submit_skill_review",
            json!({"id": skill_id, "scores": {"correctness": 5, "clarity": 5, "safety": 5, "usefulness": 5},
                "comment": "great\0"}),
        )
        .await;
    let result = &reply["result"];
    assert_eq!(result["isError"], true, "{reply}");
    assert_eq!(result["structuredContent"]["code"], "invalid_arguments");
    assert!(
        result["structuredContent"]["message"]
            .as_str()
            .unwrap()
            .contains("NUL (U+0000) characters (at comment)"),
        "{reply}"
    );

    assert_eq!(
        nul_snapshot(&app, &skill_id).await,
        before,
        "a refused NUL changed state"
    );
    app.stop().await;
}

both_backends!(
    bad_input_is_refused_and_changes_nothing,
    text_with_nul_is_refused_everywhere_and_writes_nothing,
);
