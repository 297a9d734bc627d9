//! Building and running the application: database, migrations, first-start
//! provisioning, background tasks and the router on a bound listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::apps::AppRegistry;
use crate::auth::{AdminToken, Authenticator};
use crate::billing::{SharedClock, SystemClock, holds};
use crate::capabilities::{self, Capabilities};
use crate::config::Config;
use crate::inference::Inference;
use crate::jobs::Jobs;
use crate::master_key::MasterKey;
use crate::metrics::Metrics;
use crate::oauth::{self, Broker};
use crate::ratelimit::RateLimiter;
use crate::skills::Skills;
use crate::state::AppState;
use crate::store::Db;
use crate::tenancy::platforms::{self, CreatedPlatform};
use crate::tenancy::rate_limits::LimitsCache;
use crate::usage::UsageLogger;
use crate::webhooks::Webhooks;
use crate::{http, mcp};

pub struct Application {
    listener: TcpListener,
    /// `/metrics` alone, when the operator gave it its own address.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
    jobs: Jobs,
    /// The `default` platform, when this start provisioned it.
    pub provisioned: Option<CreatedPlatform>,
    /// Whether that platform got the mock LLM provider.
    pub provisioned_mock: bool,
}

impl Application {
    /// Connects, migrates, provisions on an empty database and binds the listener
    /// (port 0 picks a free port; [`Application::addr`] tells which).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with a chosen clock (tests move time).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        Self::build_with_apps(config, clock, AppRegistry::builtin()).await
    }

    /// As [`Application::build_with_clock`], serving the given apps.
    pub async fn build_with_apps(
        mut config: Config,
        clock: SharedClock,
        apps: AppRegistry,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        // Links we hand out (OAuth callback, connect URLs) must name the port we
        // really got when none was configured (port 0 picks one).
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{}", listener.local_addr()?));
        }
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the metrics listener {address}"))?,
            ),
            None => None,
        };
        let master_key = Arc::new(MasterKey::load(&config)?);
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let provisioned = if config.bootstrap {
            platforms::provision_default(&db).await?
        } else {
            None
        };

        let mut jobs = Jobs::new();
        let limiter = match &config.redis_url {
            Some(url) => RateLimiter::redis(url.expose_secret())
                .await
                .context("connecting to Redis")?,
            None => RateLimiter::in_process(),
        };
        let auth = Authenticator::new(db.clone());
        let metrics = Metrics::new();
        let (usage, usage_writer) = UsageLogger::channel(db.clone());
        let usage = usage.observed_by(metrics.clone());
        let market = Capabilities::start(&db, &config, &master_key).await?;
        let inference = Inference::start(&config, &master_key)?;
        let provisioned_mock = match &provisioned {
            Some(created) if config.mock_provider => {
                let ops = crate::inference::operator::Operator {
                    db: db.clone(),
                    clock: clock.clone(),
                    inference: inference.clone(),
                };
                crate::inference::operator::provision_mock(&ops, created.platform.id).await?;
                true
            }
            _ => false,
        };
        start_jobs(
            &mut jobs,
            &config,
            &db,
            &clock,
            &auth,
            &market,
            usage_writer,
        );

        let webhooks = Webhooks::new(
            db.clone(),
            &master_key,
            &config,
            clock.clone(),
            metrics.clone(),
        )?;
        webhooks.start(&mut jobs);

        let oauth = Broker::new(
            db.clone(),
            apps.clone(),
            &master_key,
            config.public_url(),
            clock.clone(),
            metrics.clone(),
        )?;
        let skills = Skills::from_config(db.clone(), &config, &master_key, clock.clone());
        let billing = crate::billing::Billing::new(db.clone(), clock.clone(), usage.clone());
        let mcp_sessions = Arc::new(mcp::sessions::McpSessions::new(&config));
        let state = AppState {
            db,
            auth,
            admin_token: AdminToken::new(config.admin_token.as_ref().map(|t| t.expose_secret())),
            config: Arc::new(config),
            master_key,
            clock,
            limits_cache: LimitsCache::default(),
            limiter,
            apps,
            oauth,
            billing,
            usage,
            skills,
            capabilities: market,
            inference,
            mcp_sessions,
            webhooks,
            metrics,
        };
        let purging = state.clone();
        jobs.every(
            "responses-retention",
            crate::responses::PURGE_EVERY,
            move || {
                let state = purging.clone();
                async move { crate::responses::purge_expired(&state).await }
            },
        );
        let router = router(state.clone(), jobs.shutdown_token())?;
        Ok(Self {
            listener,
            metrics_listener,
            router,
            state,
            jobs,
            provisioned,
            provisioned_mock,
        })
    }

    pub fn addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The address of the metrics listener, when one was configured.
    pub fn metrics_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        Ok(match &self.metrics_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes, then drains in-flight requests, stops the
    /// background tasks and closes the database.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Small request/response exchanges (MCP JSON-RPC, SSE frames) must not wait
        // on Nagle's algorithm and delayed ACKs.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::warn!(error = %err, "cannot set TCP_NODELAY");
            }
        });
        let metrics_stop = CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = crate::metrics::listener_router(self.state.clone());
            let stop = metrics_stop.clone();
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            })
        });
        let served = axum::serve(listener, self.router)
            .with_graceful_shutdown(stop)
            .await
            .context("serving HTTP");
        metrics_stop.cancel();
        if let Some(server) = metrics_server
            && let Ok(Err(err)) = server.await
        {
            tracing::error!(error = %err, "the metrics listener failed");
        }
        served?;
        self.jobs.stop().await;
        self.state.db.close().await;
        Ok(())
    }
}

/// Every background loop, registered with the one runner.
fn start_jobs(
    jobs: &mut Jobs,
    config: &Config,
    db: &Db,
    clock: &SharedClock,
    auth: &Authenticator,
    market: &Capabilities,
    usage_writer: crate::usage::UsageWriter,
) {
    jobs.until_stopped("usage-writer", |token| usage_writer.run(token));
    let auth = auth.clone();
    jobs.every("key-revocations", Authenticator::SYNC_EVERY, move || {
        let auth = auth.clone();
        async move { auth.sync_revocations().await }
    });
    let (db1, clock1) = (db.clone(), clock.clone());
    jobs.every(
        "hold-sweeper",
        Duration::from_millis(config.hold_sweep_interval_ms),
        move || {
            let (db, clock) = (db1.clone(), clock1.clone());
            async move { holds::sweep(&db, &clock).await }
        },
    );
    let (db2, clock2) = (db.clone(), clock.clone());
    jobs.every(
        "oauth-sweeper",
        Duration::from_millis(config.oauth_sweep_interval_ms),
        move || {
            let (db, clock) = (db2.clone(), clock2.clone());
            async move { oauth::sweeper::sweep(&db, &clock).await }
        },
    );
    let (market, db3) = (market.clone(), db.clone());
    jobs.every("capability-health", market.health_interval(), move || {
        let (market, db) = (market.clone(), db3.clone());
        async move { capabilities::health::tick(&market, &db).await }
    });
    if let Some(checkpointer) = db.checkpointer() {
        jobs.every(
            "wal-checkpoint",
            crate::store::checkpoint::EVERY,
            move || {
                let checkpointer = checkpointer.clone();
                async move { checkpointer.tick().await }
            },
        );
    }
}

pub fn router(state: AppState, shutdown: CancellationToken) -> anyhow::Result<Router> {
    let max_body = state.config.max_body_bytes;
    Ok(http::routes::router(&state, shutdown)?
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            http::request_context::middleware,
        ))
        .with_state(state))
}

/// A future that completes on Ctrl-C or SIGTERM. The handlers are installed
/// here, before the caller announces that it is listening, so an early signal
/// still shuts down gracefully.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate =
            signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
            tracing::info!("shutting down: draining in-flight requests");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: draining in-flight requests");
        })
    }
}
