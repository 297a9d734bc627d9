//! N instances proven equal to one: three `assistiv serve` processes (the built
//! binary) on one fresh PostgreSQL database and one Redis, sharing the master key
//! and the blob directory, each on its own loopback port, with requests spread
//! over them round robin. Budgets, rate limits, idempotency keys, revocation, MCP
//! sessions of the session-era revision, OAuth refresh and webhook delivery must
//! hold exactly as on one instance, and a `kill -9` mid-load must lose no money
//! and strand no hold. The processes are killed when the cluster is dropped, a
//! failing test included (their logs are printed then).

mod limits;
mod money;
mod oauth;
mod sessions;
mod webhooks;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assistiv::store::Db;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead};
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Reply, fresh_postgres_database};

/// How many `assistiv serve` processes a cluster runs.
pub const INSTANCES: usize = 3;
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// One `assistiv serve` process.
pub struct Instance {
    pub address: String,
    child: tokio::process::Child,
    log: PathBuf,
    /// Killed instances are out of the rotation, as a load balancer's health
    /// check would take them out.
    killed: bool,
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL the instance");
        self.killed = true;
    }
}

pub struct Cluster {
    pub instances: Vec<Instance>,
    pub client: reqwest::Client,
    pub platform_id: Uuid,
    pub platform_key: String,
    /// The database, for checks no API offers (holds, ledger sums).
    pub db: Db,
    next: AtomicUsize,
    _dir: TempDir,
}

impl Cluster {
    /// Three instances with the common settings plus `settings` (env name without
    /// the `ASSISTIV_` prefix, value). The first one migrates the fresh database
    /// and provisions the `default` platform; the other two join it.
    pub async fn start(settings: &[(&str, &str)]) -> Cluster {
        let database_url = fresh_postgres_database().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = dir.path().join("blobs");
        let blobs = blobs.to_string_lossy().into_owned();
        let master_key = assistiv::master_key::MasterKey::generate_encoded();
        let common: Vec<(String, String)> = [
            ("DATABASE_URL", database_url.as_str()),
            ("REDIS_URL", REDIS_URL),
            ("ASSISTIV_MASTER_KEY", master_key.as_str()),
            ("ASSISTIV_BLOB_DIR", blobs.as_str()),
            ("ASSISTIV_ADMIN_TOKEN", ADMIN_TOKEN),
            ("ASSISTIV_LISTEN", "127.0.0.1:0"),
            // Three pools on one test server shared with the rest of the suite.
            ("ASSISTIV_DATABASE_MAX_CONNECTIONS", "6"),
            ("ASSISTIV_CAPABILITIES_HEALTH_INTERVAL_MS", "300"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain(
            settings
                .iter()
                .map(|(k, v)| (format!("ASSISTIV_{k}"), (*v).to_owned())),
        )
        .collect();
        let spawn = |n: usize| {
            let data_dir = dir.path().join(format!("instance-{n}"));
            let log = dir.path().join(format!("instance-{n}.log"));
            let bootstrap = if n == 0 { "true" } else { "false" };
            let mut env = common.clone();
            env.push((
                "ASSISTIV_DATA_DIR".into(),
                data_dir.to_string_lossy().into(),
            ));
            env.push(("ASSISTIV_BOOTSTRAP".into(), bootstrap.into()));
            // Each instance names its database sessions, so a row can record
            // which instance wrote it (`current_setting('application_name')`).
            let named = format!("{database_url}?application_name=instance-{n}");
            env.push(("DATABASE_URL".into(), named));
            serve(env, log)
        };
        let (first, platform) = spawn(0).await;
        let (platform_id, platform_key) = platform.expect("the first start prints the platform");
        let rest = futures::future::join_all((1..INSTANCES).map(spawn)).await;
        let mut instances = vec![first];
        instances.extend(rest.into_iter().map(|(instance, _)| instance));

        let mut config = assistiv::config::Config::for_data_dir(dir.path().join("checks"));
        config.database_url = Some(database_url.clone().into());
        config.database_max_connections = 2;
        let db = Db::connect(&config).await.expect("connect for checks");
        Cluster {
            instances,
            client: reqwest::Client::new(),
            platform_id,
            platform_key,
            db,
            next: AtomicUsize::new(0),
            _dir: dir,
        }
    }

    /// The next live instance, round robin.
    pub fn next(&self) -> &Instance {
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let instance = &self.instances[n % self.instances.len()];
            if !instance.killed {
                return instance;
            }
        }
    }

    pub fn request(
        &self,
        instance: &Instance,
        method: Method,
        path: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, instance.url(path))
            .bearer_auth(key)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// `method path` with `key` and an optional JSON body, on the next instance.
    pub async fn call(&self, method: Method, path: &str, key: &str, body: Option<&Value>) -> Reply {
        self.call_on(self.next(), method, path, key, body).await
    }

    pub async fn call_on(
        &self,
        instance: &Instance,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.request(instance, method, path, key);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, key, None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, key, Some(body)).await
    }

    /// An end user of the default platform, with a one-time budget when
    /// `max_usd` is given: (id, `sk-eu_` key).
    pub async fn end_user(&self, external_id: &str, max_usd: Option<f64>) -> (Uuid, String) {
        let mut body = json!({"external_id": external_id});
        if let Some(max_usd) = max_usd {
            body["budget"] = json!({"max_usd": max_usd, "period": "one_time"});
        }
        let reply = self
            .post(
                &format!("/v1/platforms/{}/end-users", self.platform_id),
                &self.platform_key,
                &body,
            )
            .await;
        reply.end_user_and_key()
    }

    /// The end user's budget, as the platform reads it (on the next instance).
    pub async fn budget(&self, euid: Uuid) -> Value {
        let path = format!("/v1/platforms/{}/end-users/{euid}/budget", self.platform_id);
        let reply = self.get(&path, &self.platform_key).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.data().clone()
    }

    /// One integer the database answers.
    pub async fn count(&self, sql: &str, args: &[assistiv::store::tx::Arg]) -> i64 {
        let (n,): (i64,) = self
            .db
            .fetch_optional(sql, args)
            .await
            .expect("query")
            .expect("a row");
        n
    }

    /// Nothing held, and the budget's ledger sums to its balance, in micro-USD.
    pub async fn assert_exact_books(&self, euid: Uuid, balance_micros: i64) {
        let b = self.budget(euid).await;
        assert_eq!(b["held_usd"], 0.0, "{b}");
        let balance = (b["balance_usd"].as_f64().unwrap() * 1e6).round() as i64;
        assert_eq!(balance, balance_micros, "{b}");
        let ledger = self
            .count(
                "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM budget_ledger \
                 WHERE end_user_id = $1",
                &assistiv::args![euid],
            )
            .await;
        assert_eq!(ledger, balance_micros, "the ledger sums to the balance");
        let holds = self
            .count(
                "SELECT COUNT(*) FROM holds WHERE end_user_id = $1",
                &assistiv::args![euid],
            )
            .await;
        assert_eq!(holds, 0, "no hold left");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The children are killed by `kill_on_drop`; a failing test shows why.
        if std::thread::panicking() {
            for (n, instance) in self.instances.iter().enumerate() {
                let log = std::fs::read_to_string(&instance.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!(
                    "--- instance {n} ({}), last lines of its log:",
                    instance.address
                );
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Starts `assistiv serve` with exactly `env` (nothing inherited that would
/// configure it); the instance, and the first start's platform (id, key).
async fn serve(env: Vec<(String, String)>, log: PathBuf) -> (Instance, Option<(Uuid, String)>) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
        .arg("serve")
        .envs(env)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start assistiv serve");
    let stdout = child.stdout.take().expect("stdout");
    let (address, platform) = tokio::time::timeout(Duration::from_secs(60), first_lines(stdout))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "assistiv serve did not start in 60 s; see {}",
                log.display()
            )
        });
    let address = address.unwrap_or_else(|| {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("assistiv serve exited before listening:\n{log}")
    });
    (
        Instance {
            address,
            child,
            log,
            killed: false,
        },
        platform,
    )
}

/// Reads stdout up to "listening on": the address and the first start's
/// platform; keeps draining it afterwards, so a later line never blocks.
async fn first_lines(
    stdout: impl AsyncRead + Unpin + Send + 'static,
) -> (Option<String>, Option<(Uuid, String)>) {
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let (mut id, mut key) = (None, None);
    while let Ok(Some(line)) = lines.next_line().await {
        let line = line.trim();
        if let Some(found) = line.strip_prefix("platform id:") {
            id = found.trim().parse::<Uuid>().ok();
        }
        if let Some(found) = line.strip_prefix("platform key:") {
            key = Some(found.trim().to_owned());
        }
        if let Some(address) = line.strip_prefix("Assistiv is listening on ") {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (Some(address.to_owned()), id.zip(key));
        }
    }
    (None, None)
}

/// Polls `check` every 20 ms until it holds or `within` passes; how long it took.
pub async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
