//! The `assistiv` binary as an operator runs it: `serve` (first-start key, graceful
//! SIGTERM, logs without secrets), `migrate`, `admin platform create|list|key`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, Backend, fresh_postgres_database};

fn assistiv() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
}

/// `--data-dir` for SQLite or `--database-url` for PostgreSQL.
async fn store_args(backend: Backend, dir: &std::path::Path) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec!["--data-dir".into(), dir.display().to_string()],
        Backend::Postgres => vec!["--database-url".into(), fresh_postgres_database().await],
    }
}

fn run_json(command: &mut Command) -> Value {
    let output = command.output().expect("assistiv runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

async fn admin_platform_commands_work_on_the_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_args(backend, dir.path()).await;

    let migrated = assistiv().arg("migrate").args(&store).output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let created = run_json(
        assistiv()
            .args(["admin", "platform", "create", "--name", "acme", "--json"])
            .args(&store),
    );
    assert_eq!(created["name"], "acme");
    let key = created["api_key"]["raw_key"].as_str().unwrap();
    assert!(key.starts_with("sk-plat_"));
    let id = created["id"].as_str().unwrap().to_owned();

    let listed = run_json(
        assistiv()
            .args(["admin", "platform", "list", "--json"])
            .args(&store),
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(!listed.to_string().contains(key));

    let text = assistiv()
        .args(["admin", "platform", "list"])
        .args(&store)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("acme"));

    let duplicate = assistiv()
        .args(["admin", "platform", "create", "--name", "acme"])
        .args(&store)
        .output()
        .unwrap();
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    let another = run_json(
        assistiv()
            .args(["admin", "platform", "key", "--platform", &id, "--json"])
            .args(&store),
    );
    assert!(another["raw_key"].as_str().unwrap().starts_with("sk-plat_"));
}

struct Served {
    child: Child,
    address: String,
    stdout: Vec<String>,
}

/// Starts `assistiv serve` on a free port and reads its stdout up to the
/// "listening" line.
fn serve(dir: &std::path::Path, log: &std::path::Path) -> Served {
    let mut child = assistiv()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir)
        .env("ASSISTIV_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let address = loop {
        let line = lines.next().expect("serve exited early").unwrap();
        stdout.push(line.clone());
        if let Some(address) = line.strip_prefix("Assistiv is listening on ") {
            break address.to_owned();
        }
    };
    Served {
        child,
        address,
        stdout,
    }
}

fn terminate(mut served: Served) {
    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = served.child.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown should exit 0, got {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_the_first_key_once_and_logs_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let data = dir.path().join("data");
    let first = serve(&data, &log);
    let printed = first.stdout.join("\n");
    let key = printed
        .split_whitespace()
        .find(|w| w.starts_with("sk-plat_"))
        .expect("first start prints a platform key")
        .to_owned();
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{}/v1/me", first.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = me["data"]["platform_id"].as_str().unwrap().to_owned();
    let created: Value = client
        .post(format!("{}/v1/platforms/{pid}/end-users", first.address))
        .bearer_auth(&key)
        .json(&serde_json::json!({"external_id": "user-42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let eu_key = created["data"]["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let denied = client
        .get(format!("{}/v1/platforms/{pid}", first.address))
        .bearer_auth(&eu_key)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    terminate(first);

    let second = serve(&data, &dir.path().join("second.log"));
    assert!(
        !second.stdout.join("\n").contains("sk-plat_"),
        "the key is printed only once"
    );
    terminate(second);

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("\"path\""),
        "request logs are structured JSON"
    );
    for secret in [
        key.as_str(),
        eu_key.as_str(),
        ADMIN_TOKEN,
        "sk-plat_",
        "sk-eu_",
    ] {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
}

both_backends!(admin_platform_commands_work_on_the_database);
