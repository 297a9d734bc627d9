//! OAuth across three instances: a connect begun on one instance completes on
//! another, and a token due for refresh is refreshed once in all, however many
//! tool calls on however many instances need it at the same moment.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Cluster, INSTANCES, Instance, within};
use crate::helpers::ADMIN_TOKEN;
use crate::oauth::{BASE_URL, CLIENT_ID, CLIENT_SECRET, Provider, query_of};

const PUBLIC_URL: &str = "https://gateway.example";

/// A plain JSON-RPC post to `/mcp` (the stateless revision, answered in JSON).
async fn tool_call(cluster: &Cluster, instance: &Instance, key: &str, message: &Value) -> Value {
    let reply = cluster
        .call_on(instance, Method::POST, "/mcp", key, Some(message))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_due_for_refresh_is_refreshed_once_across_three_instances() {
    // The first token is due at once (it expires inside the refresh margin);
    // the refreshed one lasts an hour.
    let provider = Provider::start(Some(30)).await;
    let cluster = Cluster::start(&[("PUBLIC_URL", PUBLIC_URL)]).await;
    let activation = json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "base_url": BASE_URL,
        "authorize_url": format!("{}/login/oauth/authorize", provider.url),
        "token_url": format!("{}/login/oauth/access_token", provider.url),
        "api_base_url": format!("{}/api/v3", provider.url),
    });
    let path = format!("/admin/v1/platforms/{}/apps/github", cluster.platform_id);
    let activated = cluster
        .call(Method::PUT, &path, ADMIN_TOKEN, Some(&activation))
        .await;
    assert_eq!(activated.status, 201, "{}", activated.body);
    let (_, key) = cluster.end_user("connected", None).await;

    // Begun on the first instance, the browser lands on the second.
    let begun = cluster
        .call_on(
            &cluster.instances[0],
            Method::POST,
            "/v1/me/apps/github/connect",
            &key,
            Some(&json!({})),
        )
        .await;
    assert_eq!(begun.status, 200, "{}", begun.body);
    let params = query_of(begun.data()["authorize_url"].as_str().unwrap());
    let code = provider.issue_code(
        params.get("code_challenge").cloned(),
        &params["redirect_uri"],
    );
    let callback = format!(
        "{}/oauth/callback?code={code}&state={}",
        cluster.instances[1].address, params["state"]
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let landed = browser.get(callback).send().await.unwrap();
    let location = landed
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        location,
        format!("{BASE_URL}/mcp/oauth-callback?app=github&status=connected"),
        "{}",
        landed.status()
    );
    provider.state.lock().unwrap().expires_in = Some(3600);

    // Every instance lists the app's tools (activations are cached 2 s).
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    for instance in &cluster.instances {
        let listed = within(Duration::from_secs(10), || async {
            tool_call(&cluster, instance, &key, &list)
                .await
                .to_string()
                .contains("github_get_me")
        })
        .await;
        assert!(
            listed.is_some(),
            "{} never listed the app",
            instance.address
        );
    }

    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "github_get_me", "arguments": {}}});
    let answers = futures::future::join_all(
        (0..10 * INSTANCES).map(|_| tool_call(&cluster, cluster.next(), &key, &call)),
    )
    .await;
    for answer in &answers {
        assert_eq!(answer["result"]["isError"], false, "{answer}");
        assert_eq!(
            answer["result"]["structuredContent"]["login"], "octo-oauth",
            "{answer}"
        );
    }
    assert_eq!(
        provider.refresh_calls(),
        1,
        "one refresh across the instances"
    );
}
