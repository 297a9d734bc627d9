//! Memory under an MCP session flood: one end-user key (no rate limit) sends
//! `initialize` (protocol 2025-06-18, so each opens an `Mcp-Session-Id` session) again
//! and again. The gateway keeps at most `ASSISTIV_MCP_MAX_SESSIONS_PER_USER` live
//! sessions for that user, so its resident memory must level off instead of growing
//! with every session.
//!
//! The gateway is the release `assistiv serve` binary in its own process (SQLite in a
//! temporary data directory); its RSS is `VmRSS` from `/proc/<pid>/status`, read
//! before the flood and after each round.
//!
//! `cargo bench --bench mcp_sessions` (`BENCH_SESSIONS` per round, default 5000;
//! `BENCH_ROUNDS`, default 2; `BENCH_WORKERS` concurrent requests, default 16;
//! `BENCH_MAX_SESSIONS` sets the bound, default the gateway's own).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const ACCEPT: &str = "application/json, text/event-stream";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts `assistiv serve`; answers the process, its URL, the first platform's id
/// and key.
async fn start_gateway(dir: &std::path::Path) -> (Child, String, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ASSISTIV_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Ok(max) = std::env::var("BENCH_MAX_SESSIONS") {
        command.env("ASSISTIV_MCP_MAX_SESSIONS_PER_USER", max);
    }
    let mut process = command.spawn().unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let (mut pid, mut key, mut url) = (None, None, None);
    while url.is_none() {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve exited early");
        let line = line.trim();
        if let Some(v) = line.strip_prefix("platform id:") {
            pid = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("platform key:") {
            key = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Assistiv is listening on ") {
            url = Some(v.trim().to_owned());
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (process, url.unwrap(), pid.unwrap(), key.unwrap())
}

/// Resident memory of a process, in KiB.
fn rss_kib(process: &Child) -> u64 {
    let pid = process.id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

#[tokio::main]
async fn main() {
    let per_round = env_usize("BENCH_SESSIONS", 5000);
    let rounds = env_usize("BENCH_ROUNDS", 2);
    let workers = env_usize("BENCH_WORKERS", 16);
    let dir = tempfile::tempdir().unwrap();
    let (process, url, platform_id, platform_key) = start_gateway(dir.path()).await;
    let client = reqwest::Client::new();
    let user: Value = client
        .post(format!("{url}/v1/platforms/{platform_id}/end-users"))
        .bearer_auth(&platform_key)
        .json(&json!({"external_id": "flood"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = user["data"]["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}});

    println!(
        "MCP session flood: one end-user key, {rounds} x {per_round} initialize, {workers} at a time"
    );
    let before = rss_kib(&process);
    println!("  RSS before:                {:>8} KiB", before);
    for round in 1..=rounds {
        let started = Instant::now();
        let opened = futures::stream::iter(0..per_round)
            .map(|_| {
                let request = client
                    .post(format!("{url}/mcp"))
                    .bearer_auth(&key)
                    .header("Accept", ACCEPT)
                    .json(&initialize);
                async move {
                    let response = request.send().await.unwrap();
                    let opened = response.status() == 200
                        && response.headers().contains_key("mcp-session-id");
                    response.bytes().await.unwrap();
                    opened
                }
            })
            .buffer_unordered(workers)
            .filter(|opened| std::future::ready(*opened))
            .count()
            .await;
        let rss = rss_kib(&process);
        println!(
            "  after round {round}: {opened:>5} sessions opened in {:>6.2} s, RSS {:>8} KiB ({:+} KiB)",
            started.elapsed().as_secs_f64(),
            rss,
            i64::try_from(rss).unwrap() - i64::try_from(before).unwrap()
        );
    }
}
