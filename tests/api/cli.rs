//! The `assistiv` binary as an operator runs it: `serve` (first-start key, graceful
//! SIGTERM, logs without secrets, plain logs in a file), `migrate`, `admin platform
//! create|list|key` (never creating a database), private database files.

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

/// `assistiv admin llm ...`: provider configs on the database, the key taken
/// from the environment and never printed.
async fn admin_llm_commands_work_on_the_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_args(backend, dir.path()).await;
    let migrated = assistiv().arg("migrate").args(&store).output().unwrap();
    assert!(migrated.status.success());
    let created = run_json(
        assistiv()
            .args(["admin", "platform", "create", "--name", "llm", "--json"])
            .args(&store),
    );
    let pid = created["id"].as_str().unwrap().to_owned();
    let secret = "sk-cli-upstream-key-99";
    let added = run_json(
        assistiv()
            .args([
                "admin",
                "llm",
                "add",
                "--platform",
                &pid,
                "--provider",
                "openai",
            ])
            .args(["--api-key-env", "UPSTREAM_KEY", "--priority", "3"])
            .args(["--aliases", "fast=gpt-4o-mini", "--json"])
            .env("UPSTREAM_KEY", secret)
            .args(&store),
    );
    assert_eq!(added["provider"], "openai");
    assert_eq!(added["api_key_set"], true);
    assert_eq!(added["aliases"]["fast"], "gpt-4o-mini");
    assert!(!added.to_string().contains(secret));
    let id = added["id"].as_str().unwrap().to_owned();

    let changed = run_json(
        assistiv()
            .args(["admin", "llm", "change", "--platform", &pid, "--id", &id])
            .args([
                "--enabled",
                "false",
                "--models",
                "gpt-4o,gpt-4o-mini",
                "--json",
            ])
            .args(&store),
    );
    assert_eq!(changed["enabled"], false);
    assert_eq!(
        changed["models"],
        serde_json::json!(["gpt-4o", "gpt-4o-mini"])
    );

    let text = assistiv()
        .args(["admin", "llm", "list", "--platform", &pid])
        .args(&store)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("disabled") && text.contains("gpt-4o-mini"),
        "{text}"
    );
    assert!(!text.contains(secret));

    let missing = assistiv()
        .args([
            "admin",
            "llm",
            "add",
            "--platform",
            &pid,
            "--provider",
            "anthropic",
        ])
        .args(&store)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("api_key"));

    let removed = run_json(
        assistiv()
            .args([
                "admin",
                "llm",
                "remove",
                "--platform",
                &pid,
                "--id",
                &id,
                "--json",
            ])
            .args(&store),
    );
    assert_eq!(removed["removed"], true);
    let listed = run_json(
        assistiv()
            .args(["admin", "llm", "list", "--platform", &pid, "--json"])
            .args(&store),
    );
    assert_eq!(listed, serde_json::json!([]));
}

struct Served {
    child: Child,
    address: String,
    stdout: Vec<String>,
}

impl Served {
    /// The first-start platform key it printed, and that platform's id.
    async fn first_platform(&self, client: &reqwest::Client) -> (String, String) {
        let key = self
            .stdout
            .iter()
            .flat_map(|l| l.split_whitespace())
            .find(|w| w.starts_with("sk-plat_"))
            .expect("first start prints a platform key")
            .to_owned();
        let me: Value = client
            .get(format!("{}/v1/me", self.address))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pid = me["data"]["platform_id"].as_str().unwrap().to_owned();
        (key, pid)
    }
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
    let client = reqwest::Client::new();
    let (key, pid) = first.first_platform(&client).await;
    // The first start printed that the mock LLM provider is on, and it is.
    assert!(printed.contains("mock LLM provider"), "{printed}");
    let models: Value = client
        .get(format!("{}/v1/models", first.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "mock-1", "{models}");
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

/// `assistiv admin ...` run from another folder (or pointed at a missing data
/// directory or database) fails, naming the database it looked for and how to
/// point at the right one, and creates nothing. `migrate` creates it.
async fn admin_commands_never_create_a_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (store, looked_for) = match backend {
        Backend::Sqlite => {
            let data = dir.path().join("elsewhere");
            (
                vec!["--data-dir".to_owned(), data.display().to_string()],
                data.join("assistiv.db").display().to_string(),
            )
        }
        Backend::Postgres => {
            let url = format!(
                "{}/assistiv_never_created_{}",
                crate::helpers::postgres_base_url(),
                uuid::Uuid::new_v4().simple()
            );
            (vec!["--database-url".to_owned(), url.clone()], url)
        }
    };
    let platform = uuid::Uuid::now_v7().to_string();
    let commands: [Vec<&str>; 5] = [
        vec!["admin", "platform", "list"],
        vec!["admin", "skills", "list"],
        vec!["admin", "app", "list", "--platform", &platform],
        vec!["admin", "wallet", "show", "--platform", &platform],
        vec!["admin", "capabilities", "show", "--platform", &platform],
    ];
    for command in &commands {
        let output = assistiv()
            .args(command)
            .args(&store)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command:?} succeeded: {stderr}");
        if backend == Backend::Sqlite {
            assert!(stderr.contains(&looked_for), "{command:?}: {stderr}");
            assert!(stderr.contains("--data-dir"), "{command:?}: {stderr}");
        }
        // And with no flags at all, from a folder without ./data.
        let bare = assistiv()
            .args(command)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&bare.stderr);
        assert!(!bare.status.success(), "{command:?} succeeded: {stderr}");
        let default_db = dir.path().join("data").join("assistiv.db");
        assert!(
            stderr.contains(&default_db.display().to_string()),
            "{command:?}: {stderr}"
        );
        assert!(
            stderr.contains("DATABASE_URL"),
            "{command:?} says how to point at the right database: {stderr}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "admin commands created {left:?}");
    if backend == Backend::Postgres {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&format!(
            "{}/postgres",
            crate::helpers::postgres_base_url()
        ))
        .await
        .unwrap();
        let name = looked_for.rsplit('/').next().unwrap();
        let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut admin)
            .await
            .unwrap();
        assert!(found.is_none(), "an admin command created {name}");
        return;
    }

    // Once it exists, an empty listing says which database it read.
    let migrated = assistiv()
        .arg("migrate")
        .args(&store)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let listed = assistiv()
        .args(["admin", "platform", "list"])
        .args(&store)
        .output()
        .unwrap();
    assert!(listed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        format!("No platforms in the SQLite database {looked_for}.")
    );
}

both_backends!(
    admin_platform_commands_work_on_the_database,
    admin_commands_never_create_a_database,
    admin_llm_commands_work_on_the_database,
);

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The embedded database is readable by its owner only: the data directory the
/// gateway creates is 0700, the database and its -wal and -shm files 0600, like
/// `master.key`. (PostgreSQL keeps its own files.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_files_are_readable_by_the_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new").join("data");
    let migrated = assistiv()
        .args(["migrate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("assistiv.db")), 0o600, "the database");

    let served = serve(&data, &dir.path().join("serve.log"));
    for file in [
        "assistiv.db",
        "assistiv.db-wal",
        "assistiv.db-shm",
        "master.key",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    terminate(served);

    // A database named by URL is created 0600 too.
    let url_db = dir.path().join("by-url.db");
    let migrated = assistiv()
        .arg("migrate")
        .arg("--database-url")
        .arg(format!("sqlite:{}", url_db.display()))
        .output()
        .unwrap();
    assert!(migrated.status.success());
    assert_eq!(mode(&url_db), 0o600);
}

/// Logs written to a file carry no colour codes, and a client calling a tool
/// that does not exist is not a warning to the operator (INFO, not WARN).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_file_are_plain_and_a_clients_mistake_is_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut child = assistiv()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let address = loop {
        let line = lines.next().expect("serve exited early").unwrap();
        printed.push(line.clone());
        if let Some(address) = line.strip_prefix("Assistiv is listening on ") {
            break address.to_owned();
        }
    };
    let served = Served {
        child,
        address,
        stdout: printed,
    };
    let client = reqwest::Client::new();
    let (key, pid) = served.first_platform(&client).await;
    let user: Value = client
        .post(format!("{}/v1/platforms/{pid}/end-users", served.address))
        .bearer_auth(&key)
        .json(&serde_json::json!({"external_id": "agent-user"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let eu_key = user["data"]["api_key"]["raw_key"].as_str().unwrap();

    let mcp = format!("{}/mcp", served.address);
    let post = |body: Value, session: Option<&str>| {
        let mut request = client
            .post(&mcp)
            .bearer_auth(eu_key)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&body);
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        request.send()
    };
    let init = post(
        serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
        None,
    )
    .await
    .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    init.text().await.unwrap();
    post(
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await
    .unwrap();
    let answer = post(
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "no_such_tool", "arguments": {}}}),
        Some(&session),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(answer.contains("unknown tool: no_such_tool"), "{answer}");
    terminate(served);

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("assistiv listening"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI colour codes in a file:\n{logs}"
    );
    let about_the_tool: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("no_such_tool"))
        .collect();
    assert!(
        about_the_tool.iter().any(|l| l.contains("INFO")),
        "{about_the_tool:?}"
    );
    assert!(
        !about_the_tool.iter().any(|l| l.contains("WARN")),
        "a client's mistake logged as a warning: {about_the_tool:?}"
    );
}
