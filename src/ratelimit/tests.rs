//! The same test bodies against both backends. Redis must be at `TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`, which `scripts/test` starts): these tests fail
//! rather than skip without it. Each test uses fresh subjects, so runs never collide.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::response::IntoResponse;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;

#[derive(Clone, Copy)]
enum Kind {
    InProcess,
    Redis,
}

impl Kind {
    async fn limiter(self) -> RateLimiter {
        match self {
            Self::InProcess => RateLimiter::in_process(),
            Self::Redis => {
                let url = std::env::var("TEST_REDIS_URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
                RateLimiter::redis(&url)
                    .await
                    .expect("Redis must be running for these tests (scripts/test starts it)")
            }
        }
    }

    /// Another instance sharing `first`'s limits: a clone in process, a second
    /// connection on Redis.
    async fn another(self, first: &RateLimiter) -> RateLimiter {
        match self {
            Self::InProcess => first.clone(),
            Self::Redis => self.limiter().await,
        }
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Kind::InProcess).await;
                }
            )*
        }
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Kind::Redis).await;
                }
            )*
        }
    };
}

on_both_backends!(
    rpm_burst_then_refused_until_the_minute_ends,
    window_rollover_admits_again,
    rpd_counts_across_minutes,
    both_windows_full_reports_the_longer_wait,
    tpm_reserve_refund_and_overdraw,
    estimate_above_capacity_is_refused,
    status_does_not_count,
    unlimited_counts_nothing,
    admit_is_all_or_nothing,
    concurrent_requests_admit_exactly_the_limit,
    instances_share_one_limit,
);

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

fn limits(rpm: Option<u32>, tpm: Option<u32>, rpd: Option<u32>) -> Limits {
    Limits { rpm, tpm, rpd }
}

async fn rpm_burst_then_refused_until_the_minute_ends(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(5), None, None);
    let now = at("2030-01-01T12:00:45Z");
    for expected_remaining in (0..5).rev() {
        let admitted = rl.check_request(user, &limits, now).await.unwrap();
        let quota = admitted.requests.unwrap();
        assert_eq!((quota.limit, quota.remaining), (5, expected_remaining));
        assert_eq!(quota.reset_at, at("2030-01-01T12:01:00Z"));
        let headers = admitted.headers();
        assert_eq!(headers["x-ratelimit-limit-requests"], "5");
        assert_eq!(
            headers["x-ratelimit-remaining-requests"],
            expected_remaining.to_string().as_str()
        );
        assert_eq!(headers["x-ratelimit-reset-requests"], "15s");
    }
    let refused = rl.check_request(user, &limits, now).await.unwrap_err();
    assert_eq!(
        refused,
        Refusal {
            kind: LimitKind::Rpm,
            limit: 5,
            retry_after_secs: 15,
            reset_at: at("2030-01-01T12:01:00Z"),
        }
    );
    // Refusals are not counted, and Retry-After rounds up.
    let refused = rl
        .check_request(user, &limits, at("2030-01-01T12:00:45.500Z"))
        .await
        .unwrap_err();
    assert_eq!(refused.retry_after_secs, 15);
    let refused = rl
        .check_request(user, &limits, at("2030-01-01T12:00:59.999Z"))
        .await
        .unwrap_err();
    assert_eq!(refused.retry_after_secs, 1);

    let response = refused.into_response();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["x-ratelimit-remaining-requests"], "0");
    assert_eq!(response.headers().get_all("retry-after").iter().count(), 1);
}

async fn window_rollover_admits_again(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(2), None, None);
    let now = at("2030-01-01T12:00:30Z");
    for _ in 0..2 {
        rl.check_request(user, &limits, now).await.unwrap();
    }
    assert!(rl.check_request(user, &limits, now).await.is_err());
    let next = at("2030-01-01T12:01:00Z");
    let admitted = rl.check_request(user, &limits, next).await.unwrap();
    assert_eq!(admitted.requests.unwrap().remaining, 1);
    assert_eq!(
        admitted.requests.unwrap().reset_at,
        at("2030-01-01T12:02:00Z")
    );
    rl.check_request(user, &limits, next).await.unwrap();
    let refused = rl.check_request(user, &limits, next).await.unwrap_err();
    assert_eq!(refused.retry_after_secs, 60);
}

async fn rpd_counts_across_minutes(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(10), None, Some(3));
    let first = rl
        .check_request(user, &limits, at("2030-01-01T12:00:10Z"))
        .await
        .unwrap();
    // The tightest window is the day's: 2 left today against 9 this minute.
    let quota = first.requests.unwrap();
    assert_eq!((quota.limit, quota.remaining), (3, 2));
    assert_eq!(quota.reset_at, at("2030-01-02T00:00:00Z"));
    assert_eq!(first.headers()["x-ratelimit-reset-requests"], "11h59m50s");
    for time in ["2030-01-01T12:05:00Z", "2030-01-01T13:00:00Z"] {
        rl.check_request(user, &limits, at(time)).await.unwrap();
    }
    let refused = rl
        .check_request(user, &limits, at("2030-01-01T18:30:00Z"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, LimitKind::Rpd);
    assert_eq!(refused.limit, 3);
    assert_eq!(refused.retry_after_secs, 5 * 3600 + 30 * 60);
    assert_eq!(refused.reset_at, at("2030-01-02T00:00:00Z"));
    let next_day = rl
        .check_request(user, &limits, at("2030-01-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(next_day.requests.unwrap().remaining, 2);
}

async fn both_windows_full_reports_the_longer_wait(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(2), None, Some(2));
    let now = at("2030-01-01T23:00:00Z");
    for _ in 0..2 {
        rl.check_request(user, &limits, now).await.unwrap();
    }
    let refused = rl.check_request(user, &limits, now).await.unwrap_err();
    assert_eq!(
        (refused.kind, refused.retry_after_secs),
        (LimitKind::Rpd, 3600)
    );
}

async fn tpm_reserve_refund_and_overdraw(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    // 600 per minute: 10 tokens a second.
    let limits = limits(None, Some(600), None);
    let t0 = at("2030-01-01T12:00:00Z");

    let first = rl.reserve_tokens(user, &limits, 500, t0).await.unwrap();
    assert_eq!(first.reserved(), 500);
    let quota = first.quota().unwrap();
    assert_eq!((quota.limit, quota.remaining), (600, 100));
    assert_eq!(quota.reset_at, t0 + TimeDelta::seconds(50));
    let headers = rate_limit_headers(None, first.quota().as_ref());
    assert_eq!(headers["x-ratelimit-limit-tokens"], "600");
    assert_eq!(headers["x-ratelimit-remaining-tokens"], "100");
    assert_eq!(headers["x-ratelimit-reset-tokens"], "50s");

    // 200 more need 100 more tokens: 10 s.
    let refused = rl.reserve_tokens(user, &limits, 200, t0).await.unwrap_err();
    let Rejection::Limited(refused) = refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    assert_eq!(refused.kind, LimitKind::Tpm);
    assert_eq!(refused.limit, 600);
    assert_eq!(refused.retry_after_secs, 10);
    assert_eq!(refused.reset_at, t0 + TimeDelta::seconds(10));
    assert_eq!(refused.headers()["x-ratelimit-remaining-tokens"], "0");

    // Only 300 were used: 200 go back.
    rl.reconcile(first, 300, t0).await;
    assert_eq!(
        rl.status(user, &limits, t0).await.tpm.unwrap().remaining,
        300
    );

    // 200 reserved, 400 used: 200 more are taken, the bucket goes to -100.
    let second = rl.reserve_tokens(user, &limits, 200, t0).await.unwrap();
    assert_eq!(second.quota().unwrap().remaining, 100);
    rl.reconcile(second, 400, t0).await;
    let status = rl.status(user, &limits, t0).await.tpm.unwrap();
    assert_eq!(status.remaining, 0);
    assert_eq!(status.reset_at, t0 + TimeDelta::seconds(70));

    // Even 1 token waits for 101 to refill: 10.1 s, so 11.
    let Err(Rejection::Limited(refused)) = rl.reserve_tokens(user, &limits, 1, t0).await else {
        panic!("an overdrawn bucket must refuse");
    };
    assert_eq!(refused.retry_after_secs, 11);
    let later = t0 + TimeDelta::seconds(11);
    let third = rl.reserve_tokens(user, &limits, 10, later).await.unwrap();
    assert_eq!(third.quota().unwrap().remaining, 0);

    // A refund never fills the bucket past its capacity.
    rl.reconcile(third, 0, t0 + TimeDelta::seconds(120)).await;
    let status = rl.status(user, &limits, t0 + TimeDelta::seconds(120)).await;
    assert_eq!(status.tpm.unwrap().remaining, 600);
}

async fn estimate_above_capacity_is_refused(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(5), Some(100), None);
    let now = at("2030-01-01T12:00:00Z");
    let rejection = rl
        .reserve_tokens(user, &limits, 101, now)
        .await
        .unwrap_err();
    assert_eq!(
        rejection,
        Rejection::TooLarge {
            estimate: 101,
            capacity: 100
        }
    );
    assert_eq!(rejection.into_response().status(), 400);
    // Nothing counted by a rejected admission either.
    assert!(rl.admit(user, &limits, 101, now).await.is_err());
    let status = rl.status(user, &limits, now).await;
    assert_eq!(status.rpm.unwrap().remaining, 5);
    assert_eq!(status.tpm.unwrap().remaining, 100);
    let all = rl.reserve_tokens(user, &limits, 100, now).await.unwrap();
    assert_eq!(all.quota().unwrap().remaining, 0);
}

async fn status_does_not_count(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(3), Some(1000), Some(10));
    let now = at("2030-01-01T12:00:45Z");
    for _ in 0..5 {
        let status = rl.status(user, &limits, now).await;
        assert_eq!(status.rpm.unwrap().remaining, 3);
        assert_eq!(status.tpm.unwrap().remaining, 1000);
        assert_eq!(status.tpm.unwrap().reset_at, now);
        assert_eq!(status.rpd.unwrap().remaining, 10);
    }
    let admission = rl.admit(user, &limits, 250, now).await.unwrap();
    assert_eq!(admission.requests.unwrap().remaining, 2);
    let headers = admission.headers();
    assert_eq!(headers["x-ratelimit-remaining-requests"], "2");
    assert_eq!(headers["x-ratelimit-remaining-tokens"], "750");
    assert_eq!(headers["x-ratelimit-reset-tokens"], "15s");
    let status = rl.status(user, &limits, now).await;
    let rpm = status.rpm.unwrap();
    assert_eq!((rpm.limit, rpm.remaining), (3, 2));
    assert_eq!(rpm.reset_at, at("2030-01-01T12:01:00Z"));
    assert_eq!(status.tpm.unwrap().remaining, 750);
    assert_eq!(status.rpd.unwrap().remaining, 9);
    assert_eq!(status.rpd.unwrap().reset_at, at("2030-01-02T00:00:00Z"));
    // A limit without any use yet reports no window for the unset ones.
    let only_rpm = rl
        .status(
            user,
            &super::Limits {
                rpm: Some(3),
                ..Limits::default()
            },
            now,
        )
        .await;
    assert!(only_rpm.tpm.is_none() && only_rpm.rpd.is_none());
}

async fn unlimited_counts_nothing(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let now = at("2030-01-01T12:00:00Z");
    for _ in 0..20 {
        let admission = rl
            .admit(user, &Limits::default(), 1_000_000, now)
            .await
            .unwrap();
        assert!(admission.requests.is_none() && admission.tokens.quota().is_none());
        assert!(admission.headers().is_empty());
        rl.reconcile(admission.tokens, 5_000_000, now).await;
    }
    // Limits set later start from nothing.
    let limits = limits(Some(1), Some(10), Some(1));
    let admission = rl.admit(user, &limits, 10, now).await.unwrap();
    assert_eq!(admission.requests.unwrap().remaining, 0);
    assert_eq!(admission.tokens.quota().unwrap().remaining, 0);
}

async fn admit_is_all_or_nothing(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(5), Some(100), None);
    let now = at("2030-01-01T12:00:00Z");
    let first = rl.admit(user, &limits, 80, now).await.unwrap();
    assert_eq!(first.requests.unwrap().remaining, 4);
    // Short of tokens: the request is not counted either.
    let Err(Rejection::Limited(refused)) = rl.admit(user, &limits, 50, now).await else {
        panic!("expected a TPM refusal");
    };
    assert_eq!(refused.kind, LimitKind::Tpm);
    // 30 missing tokens at 100 per minute: 18 s.
    assert_eq!(refused.retry_after_secs, 18);
    assert_eq!(
        rl.status(user, &limits, now).await.rpm.unwrap().remaining,
        4
    );
    // And a full minute window takes no tokens.
    let limits = super::Limits {
        rpm: Some(1),
        ..limits
    };
    let Err(Rejection::Limited(refused)) = rl.admit(user, &limits, 1, now).await else {
        panic!("expected an RPM refusal");
    };
    assert_eq!(
        (refused.kind, refused.retry_after_secs),
        (LimitKind::Rpm, 60)
    );
    assert_eq!(
        rl.status(user, &limits, now).await.tpm.unwrap().remaining,
        20
    );
}

async fn concurrent_requests_admit_exactly_the_limit(kind: Kind) {
    let rl = kind.limiter().await;
    let user = Uuid::new_v4();
    let limits = limits(Some(7), Some(1000), Some(50));
    let now = at("2030-01-01T12:00:00Z");
    let admitted = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (rl, admitted) = (rl.clone(), admitted.clone());
            tokio::spawn(async move {
                if let Ok(admission) = rl.admit(user, &limits, 10, now).await {
                    admitted.fetch_add(1, Ordering::SeqCst);
                    rl.reconcile(admission.tokens, 10, now).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(admitted.load(Ordering::SeqCst), 7);
    let status = rl.status(user, &limits, now).await;
    assert_eq!(status.rpm.unwrap().remaining, 0);
    assert_eq!(status.tpm.unwrap().remaining, 930);
    assert_eq!(status.rpd.unwrap().remaining, 43);
}

async fn instances_share_one_limit(kind: Kind) {
    let a = kind.limiter().await;
    let b = kind.another(&a).await;
    let user = Uuid::new_v4();
    let limits = limits(Some(10), None, None);
    let now = at("2030-01-01T12:00:00Z");
    let admitted = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let rl = if i % 2 == 0 { a.clone() } else { b.clone() };
            let admitted = admitted.clone();
            tokio::spawn(async move {
                if rl.check_request(user, &limits, now).await.is_ok() {
                    admitted.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(admitted.load(Ordering::SeqCst), 10);
    assert_eq!(b.status(user, &limits, now).await.rpm.unwrap().remaining, 0);
    assert_eq!(a.status(user, &limits, now).await.rpm.unwrap().remaining, 0);
}

#[test]
fn reset_durations_are_written_like_openai() {
    use std::time::Duration;
    assert_eq!(headers::format_reset(Duration::ZERO), "0ms");
    assert_eq!(headers::format_reset(Duration::from_millis(850)), "850ms");
    assert_eq!(headers::format_reset(Duration::from_millis(1001)), "2s");
    assert_eq!(headers::format_reset(Duration::from_secs(60)), "1m0s");
    assert_eq!(
        headers::format_reset(Duration::from_secs(86_399)),
        "23h59m59s"
    );
}

#[tokio::test]
async fn unreachable_redis_fails_at_startup() {
    let err = RateLimiter::redis("redis://127.0.0.1:1").await.unwrap_err();
    assert!(
        format!("{err:#}").contains("connecting to Redis"),
        "{err:#}"
    );
    assert!(RateLimiter::redis("not a url").await.is_err());
}

/// A TCP proxy to Redis that the test can cut, on `port` (0: any).
async fn redis_proxy(port: u16) -> (u16, tokio::task::JoinHandle<()>) {
    let redis =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let target = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = tokio::spawn(async move {
        // Dropped with the task: cutting the proxy cuts its connections too.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let target = target.clone();
            connections.spawn(async move {
                let mut outbound = tokio::net::TcpStream::connect(target).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (port, proxy)
}

/// Redis going away after startup lets requests through at once (fail open), and
/// limiting resumes when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failure_at_runtime_fails_open_then_recovers() {
    let (port, proxy) = redis_proxy(0).await;
    let rl = RateLimiter::redis(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap();
    let user = Uuid::new_v4();
    let limits = limits(Some(1), Some(10), None);
    let now = at("2030-01-01T12:00:00Z");
    rl.check_request(user, &limits, now).await.unwrap();
    assert!(rl.check_request(user, &limits, now).await.is_err());

    proxy.abort();
    let _ = proxy.await;
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let admitted = rl.check_request(user, &limits, now).await.unwrap();
        assert!(admitted.requests.is_none());
        let admission = rl.admit(user, &limits, 10, now).await.unwrap();
        rl.reconcile(admission.tokens, 100, now).await;
    }
    // Shown untouched while Redis is away: requests are let through then.
    let status = rl.status(user, &limits, now).await;
    assert_eq!(status.rpm.unwrap().remaining, 1);
    // One call waits for the failure; the others skip Redis.
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_millis(1500),
        "{elapsed:?}"
    );

    let (_, proxy) = redis_proxy(port).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Back: the minute's count (1) is still in Redis, so the request is refused.
    while rl.check_request(user, &limits, now).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "Redis never came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    proxy.abort();
}
