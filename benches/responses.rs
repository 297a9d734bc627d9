//! The Responses API's cost beside a plain completion, in one run on the same
//! local upstream (the OpenAI stand-in of `assistiv-llm`, no delay), on SQLite
//! with budget holds, limits and usage logs on. Per request, sequentially:
//!
//! 1. `POST /v1/chat/completions` (one model call);
//! 2. `POST /v1/responses` with a string input (one model turn, the response
//!    sealed and stored);
//! 3. `POST /v1/responses` with a hosted MCP tool (`/mcp/skills`,
//!    `find_skill`, no approval): the tool list, a model turn that calls the
//!    tool, the call through the tool pipeline as the end user, a second turn
//!    that answers, the stored conversation.
//!
//! The figure is this process's CPU time (`/proc/self/stat`) per request,
//! minus the same number of direct upstream calls (one per model turn): the
//! client and the upstream run in this process too.
//!
//! `cargo bench --bench responses` (`BENCH_CALLS`, default 2000).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

mod support;

use assistiv_llm::stand_in::{StandIn, StandInKind};
use serde_json::{Value, json};
use support::{cpu_time, ms};

const ADMIN: &str = "bench-admin-token-0123456789";

struct Run {
    client: reqwest::Client,
    url: String,
    key: String,
    body: Value,
}

impl Run {
    /// `calls` sequential requests: (CPU used, p50 latency).
    async fn measure(&self, calls: u64) -> (Duration, Duration) {
        let cpu = cpu_time();
        let mut latencies = Vec::with_capacity(calls as usize);
        for _ in 0..calls {
            let started = Instant::now();
            let response = self
                .client
                .post(&self.url)
                .bearer_auth(&self.key)
                .json(&self.body)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.bytes().await.unwrap();
            latencies.push(started.elapsed());
        }
        latencies.sort();
        (cpu_time() - cpu, latencies[latencies.len() / 2])
    }
}

async fn post(client: &reqwest::Client, url: String, key: &str, body: Value) -> Value {
    client
        .post(url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let calls: u64 = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let upstream = StandIn::start(StandInKind::OpenAi, "sk-bench")
        .await
        .unwrap();
    let (base, pid, pkey) = support::serve_gateway(ADMIN).await;
    let client = reqwest::Client::new();
    post(
        &client,
        format!("{base}/admin/v1/platforms/{pid}/llm-providers"),
        ADMIN,
        json!({"provider": "openai", "api_key": "sk-bench", "base_url": upstream.base_url()}),
    )
    .await;
    client
        .patch(format!("{base}/v1/platforms/{pid}"))
        .bearer_auth(&pkey)
        .json(&json!({"skills_enabled": true}))
        .send()
        .await
        .unwrap();
    let user = post(
        &client,
        format!("{base}/v1/platforms/{pid}/end-users"),
        &pkey,
        json!({"external_id": "bench", "budget": {"max_usd": 1_000_000, "period": "one_time"},
               "rate_limits": {"rpm_limit": 1_000_000, "tpm_limit": 100_000_000}}),
    )
    .await;
    let key = user["data"]["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = |url: String, key: &str, body: Value| Run {
        client: client.clone(),
        url,
        key: key.to_owned(),
        body,
    };
    let direct = run(
        format!("{}/chat/completions", upstream.base_url()),
        "sk-bench",
        json!({"model": "gpt-4o-mini", "max_tokens": 32,
               "messages": [{"role": "user", "content": "ping the gateway"}]}),
    );
    let chat = run(
        format!("{base}/v1/chat/completions"),
        &key,
        direct.body.clone(),
    );
    let plain = run(
        format!("{base}/v1/responses"),
        &key,
        json!({"model": "gpt-4o-mini", "max_output_tokens": 32, "input": "ping the gateway"}),
    );
    let hosted = run(
        format!("{base}/v1/responses"),
        &key,
        json!({"model": "gpt-4o-mini", "max_output_tokens": 32, "input": "pdf",
               "tools": [{"type": "mcp", "server_label": "skills", "server_url": format!("{base}/mcp/skills"),
                          "allowed_tools": ["find_skill"], "require_approval": "never"}]}),
    );
    let answer = post(&client, hosted.url.clone(), &key, hosted.body.clone()).await;
    let kinds: Vec<&str> = answer["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["mcp_list_tools", "mcp_call", "message"], "{answer}");

    for target in [&direct, &chat, &plain, &hosted] {
        target.measure(200).await;
    }
    println!("responses bench: {calls} sequential requests each, SQLite\n");
    let (direct_cpu, direct_p50) = direct.measure(calls).await;
    let per_direct = direct_cpu / calls as u32;
    for (name, target, turns) in [
        ("chat completion", &chat, 1u32),
        ("response, plain", &plain, 1),
        ("response, hosted tool turn", &hosted, 2),
    ] {
        let (cpu, p50) = target.measure(calls).await;
        let own = (cpu / calls as u32).saturating_sub(per_direct * turns);
        println!(
            "{name:<28} gateway CPU per request {}   p50 {}   ({} upstream call(s), direct p50 {})",
            ms(own),
            ms(p50),
            turns,
            ms(direct_p50)
        );
    }
}
