//! `spawn_app`: the real application on port 0 over a fresh database, and typed
//! request helpers.

use std::path::PathBuf;

use std::sync::Arc;

use assistiv::apps::AppRegistry;
use assistiv::billing::{SharedClock, SystemClock};
use assistiv::config::Config;
use assistiv::startup::Application;
use assistiv::state::AppState;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each `async fn name(Backend)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

pub struct TestApp {
    pub address: String,
    /// `http://host:port` of the dedicated metrics listener, when configured.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub platform_id: Uuid,
    pub platform_key: String,
    pub backend: Backend,
    /// The PostgreSQL URL, for a second instance on the same database.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    /// The running instance's state (database, clock) for in-process checks.
    pub state: AppState,
    data_dir_guard: Option<Arc<TempDir>>,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A reply, with its body parsed as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// A created end user's (id, `sk-eu_` key).
    pub fn end_user_and_key(&self) -> (Uuid, String) {
        assert!(self.status.is_success(), "{}", self.body);
        (
            self.data()["id"].as_str().unwrap().parse().unwrap(),
            self.data()["api_key"]["raw_key"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Asserts the contract's error envelope with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected code, body: {}", self.body);
        let error = &self.body["error"];
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        assert!(error["type"].is_string(), "{}", self.body);
        let request_id = error["request_id"].as_str().unwrap_or_default();
        assert!(!request_id.is_empty(), "{}", self.body);
        assert_eq!(
            self.headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some(request_id),
            "X-Request-Id header and body differ"
        );
    }
}

pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh, empty PostgreSQL database; its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let base = postgres_base_url();
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("PostgreSQL must be running at TEST_POSTGRES_URL (127.0.0.1:5432 by default)");
    let name = format!("assistiv_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create test database");
    format!("{base}/{name}")
}

/// Another instance on an existing PostgreSQL database, configured by `customise`.
pub async fn spawn_on_database(
    database_url: Option<String>,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_on(
        Backend::Postgres,
        database_url,
        dir,
        Arc::new(SystemClock),
        customise,
    )
    .await
}

/// Another instance on an existing PostgreSQL database with a given clock.
pub async fn spawn_on_database_with_clock(
    database_url: Option<String>,
    clock: SharedClock,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_on(Backend::Postgres, database_url, dir, clock, customise).await
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, customise: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_clock(backend, Arc::new(SystemClock), customise).await
}

pub async fn spawn_app_with_clock(
    backend: Backend,
    clock: SharedClock,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_on(backend, database_url, dir, clock, customise).await
}

/// A fresh app serving `apps` (the built-in ones plus test doubles).
pub async fn spawn_app_with_apps(
    backend: Backend,
    clock: SharedClock,
    apps: AppRegistry,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_with(backend, database_url, dir, clock, apps, customise).await
}

async fn spawn_on(
    backend: Backend,
    database_url: Option<String>,
    dir: Arc<TempDir>,
    clock: SharedClock,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_with(
        backend,
        database_url,
        dir,
        clock,
        AppRegistry::builtin(),
        customise,
    )
    .await
}

async fn spawn_with(
    backend: Backend,
    database_url: Option<String>,
    dir: Arc<TempDir>,
    clock: SharedClock,
    apps: AppRegistry,
    customise: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.admin_token = Some(SecretString::from(ADMIN_TOKEN));
    config.database_url = database_url.clone().map(SecretString::from);
    config.database_max_connections = 5;
    customise(&mut config);
    let data_dir = config.data_dir.clone();
    let app = Application::build_with_apps(config, clock, apps)
        .await
        .expect("build application");
    let state = app.state().clone();
    let address = format!("http://{}", app.addr().expect("bound address"));
    let metrics_address = app
        .metrics_addr()
        .expect("metrics address")
        .map(|a| format!("http://{a}"));
    let provisioned = app
        .provisioned
        .as_ref()
        .map(|p| (p.platform.id, p.api_key.raw_key.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let (platform_id, platform_key) = provisioned.unwrap_or((Uuid::nil(), String::new()));
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::new(),
        platform_id,
        platform_key,
        backend,
        database_url,
        data_dir,
        state,
        data_dir_guard: Some(dir),
        stop: Some(stop),
        served: Some(served),
    }
}

impl TestApp {
    /// Another gateway instance on the same PostgreSQL database (no provisioning).
    pub async fn second_instance(&self) -> TestApp {
        assert_eq!(
            self.backend,
            Backend::Postgres,
            "instances share PostgreSQL only"
        );
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        spawn_on(
            self.backend,
            self.database_url.clone(),
            dir,
            Arc::new(SystemClock),
            |c| c.bootstrap = false,
        )
        .await
    }

    /// Stops this instance and starts a new one on the same database (a restart).
    pub async fn restart(mut self, customise: impl FnOnce(&mut Config)) -> TestApp {
        let dir = self.data_dir_guard.take().expect("data dir");
        let (backend, url, clock) = (
            self.backend,
            self.database_url.clone(),
            self.state.clock.clone(),
        );
        let (platform_id, platform_key) = (self.platform_id, self.platform_key.clone());
        self.stop().await;
        let mut app = spawn_on(backend, url, dir, clock, customise).await;
        app.platform_id = platform_id;
        app.platform_key = platform_key;
        app
    }

    /// Graceful stop: drains requests and background tasks.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(self.request(Method::GET, path, Some(key))).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> Reply {
        self.send(self.request(Method::DELETE, path, Some(key)))
            .await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, Some(key)).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PATCH, path, Some(key)).json(body))
            .await
    }

    /// Creates a platform through the operator API: (id, first platform key).
    pub async fn create_platform(&self, name: &str) -> (Uuid, String) {
        let reply = self
            .post("/admin/v1/platforms", ADMIN_TOKEN, &json!({"name": name}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        (
            reply.data()["id"].as_str().unwrap().parse().unwrap(),
            reply.data()["api_key"]["raw_key"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Creates an end user on the default platform: (id, its `sk-eu_*` key).
    pub async fn create_end_user(&self, external_id: &str) -> (Uuid, String) {
        self.create_end_user_on(self.platform_id, &self.platform_key.clone(), external_id)
            .await
    }

    pub async fn create_end_user_on(
        &self,
        platform_id: Uuid,
        key: &str,
        external_id: &str,
    ) -> (Uuid, String) {
        let reply = self
            .post(
                &format!("/v1/platforms/{platform_id}/end-users"),
                key,
                &json!({"external_id": external_id}),
            )
            .await;
        reply.end_user_and_key()
    }

    /// Polls `check` until it holds or `within` elapses; whether it held.
    pub async fn eventually<F, Fut>(within: std::time::Duration, mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if check().await {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
