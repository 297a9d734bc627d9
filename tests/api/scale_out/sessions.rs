//! MCP sessions of the session-era revision live in the instance that opened
//! them. Another instance answers their id with 404, as the transport
//! prescribes for an unknown session, so the client initializes again there;
//! never a 5xx.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Cluster, Instance};

const PROTOCOL: &str = "2025-06-18";
const ACCEPT: &str = "application/json, text/event-stream";

/// An MCP request on `instance`: (status, session id header, body text).
async fn mcp(
    cluster: &Cluster,
    instance: &Instance,
    method: Method,
    key: &str,
    session: Option<&str>,
    message: Option<Value>,
) -> (u16, Option<String>, String) {
    let mut request = cluster
        .request(instance, method, "/mcp", key)
        .header("Accept", ACCEPT)
        .header("MCP-Protocol-Version", PROTOCOL);
    if let Some(session) = session {
        request = request.header("Mcp-Session-Id", session);
    }
    if let Some(message) = message {
        request = request.json(&message);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    (status, session, text)
}

/// `initialize` + `notifications/initialized` on `instance`: the session id.
async fn open_session(cluster: &Cluster, instance: &Instance, key: &str) -> String {
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                   "clientInfo": {"name": "scale-out", "version": "1"}}});
    let (status, session, text) =
        mcp(cluster, instance, Method::POST, key, None, Some(initialize)).await;
    assert_eq!(status, 200, "{text}");
    let session = session.expect("initialize answers a session id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, text) = mcp(
        cluster,
        instance,
        Method::POST,
        key,
        Some(&session),
        Some(initialized),
    )
    .await;
    assert_eq!(status, 202, "{text}");
    session
}

fn list_tools() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

/// `tools/list` in `session` on `instance`: (status, body text).
async fn list_in(
    cluster: &Cluster,
    instance: &Instance,
    key: &str,
    session: &str,
) -> (u16, String) {
    let (status, _, text) = mcp(
        cluster,
        instance,
        Method::POST,
        key,
        Some(session),
        Some(list_tools()),
    )
    .await;
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_used_on_another_instance_answers_404_so_the_client_reinitializes() {
    let cluster = Cluster::start(&[]).await;
    let (_, key) = cluster.end_user("roaming", None).await;
    let [a, b, c] = &cluster.instances[..] else {
        panic!("three instances")
    };
    let session = open_session(&cluster, a, &key).await;
    let (status, text) = list_in(&cluster, a, &key, &session).await;
    assert_eq!(status, 200, "its own instance serves it: {text}");

    // Every method of the transport, on the instances that did not open it.
    for other in [b, c] {
        for (method, message) in [
            (Method::POST, Some(list_tools())),
            (Method::GET, None),
            (Method::DELETE, None),
        ] {
            let (status, _, text) = mcp(
                &cluster,
                other,
                method.clone(),
                &key,
                Some(&session),
                message,
            )
            .await;
            assert_eq!(status, 404, "{method} on {}: {text}", other.address);
        }
    }
    // The client does what a 404 tells it: a new session, where it landed.
    let again = open_session(&cluster, b, &key).await;
    assert_ne!(again, session);
    let (status, text) = list_in(&cluster, b, &key, &again).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"tools\""), "{text}");
    // The first session still works where it lives, and a DELETE there ends it.
    let (status, text) = list_in(&cluster, a, &key, &session).await;
    assert_eq!(status, 200, "{text}");
    let (status, _, _) = mcp(&cluster, a, Method::DELETE, &key, Some(&session), None).await;
    assert!(status == 200 || status == 202 || status == 204, "{status}");
    let (status, _) = list_in(&cluster, a, &key, &session).await;
    assert_eq!(status, 404, "a closed session is unknown too");
}
