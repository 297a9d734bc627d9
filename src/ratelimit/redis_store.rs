//! The Redis backend: every step is one Lua script, atomic on the server, so any
//! number of instances share the limits. Keys of one subject share a hash tag
//! (`{subject}`) so they also live on one Redis Cluster slot:
//!
//! - `assistiv:rl:{subject}:m:<minute since epoch>`: request count, expiring a minute
//!   after its window ends;
//! - `assistiv:rl:{subject}:d:<day since epoch>`: the same per UTC day;
//! - `assistiv:rl:{subject}:t`: the token bucket, a hash of `tokens` (in units of
//!   1/60 000 token, see `UNITS_PER_TOKEN`) and `updated_at_ms`; absent means full,
//!   and it expires a minute after it would be full again.
//!
//! The scripts follow `refill`, `ms_until` and `MemoryStore::acquire` line by line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ScriptInvocation};
use uuid::Uuid;

use super::{KEEP_EXTRA_MS, Limits, MIN_UNITS, Snapshot, Step, UNITS_PER_TOKEN, Window};

/// The longest a rate-limit step may take before the request fails open.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);
/// After a failure, how long Redis is skipped (requests fail open at once).
const SKIP_AFTER_FAILURE_MS: u64 = 1_000;

/// `refill(key, tpm, now) -> units, updated` and `save(key, units, updated, tpm, now)`.
const BUCKET_LUA: &str = r"
local UNITS = tonumber(ARGV[#ARGV - 1])
local EXTRA = tonumber(ARGV[#ARGV])
local function refill(key, tpm, now)
  local cap = tpm * UNITS
  local stored = redis.call('HMGET', key, 'tokens', 'updated_at_ms')
  local units, updated = tonumber(stored[1]), tonumber(stored[2])
  if units == nil or updated == nil then return cap, now end
  if units > cap then units = cap end
  local elapsed = now - updated
  if elapsed <= 0 then return units, updated end
  if elapsed * tpm >= cap - units then return cap, now end
  return units + elapsed * tpm, now
end
local function save(key, units, updated, tpm, now)
  local cap = tpm * UNITS
  if units >= cap then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 'tokens', string.format('%d', units),
    'updated_at_ms', string.format('%d', updated))
  local full_at = updated + math.ceil((cap - units) / tpm)
  redis.call('PEXPIRE', key, string.format('%d', math.max(full_at - now, 0) + EXTRA))
end
";

/// KEYS: minute, day, bucket. ARGV: rpm, rpd (-1: not counted), minute TTL, day TTL
/// (ms), tpm (-1: nothing taken), units to take, now (ms), UNITS, EXTRA.
/// Returns {admitted 0|1, minute count, day count, bucket units}.
const ACQUIRE_LUA: &str = r"
local rpm, rpd = tonumber(ARGV[1]), tonumber(ARGV[2])
local tpm, take, now = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local minute, day, units, updated = 0, 0, 0, now
if rpm >= 0 then minute = tonumber(redis.call('GET', KEYS[1]) or '0') end
if rpd >= 0 then day = tonumber(redis.call('GET', KEYS[2]) or '0') end
if tpm > 0 then units, updated = refill(KEYS[3], tpm, now) end
if (rpd >= 0 and day >= rpd) or (rpm >= 0 and minute >= rpm) or (tpm > 0 and units < take) then
  return {0, minute, day, units}
end
if rpm >= 0 then
  minute = redis.call('INCR', KEYS[1])
  if minute == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
if rpd >= 0 then
  day = redis.call('INCR', KEYS[2])
  if day == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
end
if tpm > 0 then
  units = units - take
  save(KEYS[3], units, updated, tpm, now)
end
return {1, minute, day, units}
";

/// KEYS: bucket. ARGV: tpm, delta units, lowest units, now (ms), UNITS, EXTRA.
/// Returns the bucket's units.
const ADJUST_LUA: &str = r"
local tpm, delta, lowest, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local units, updated = refill(KEYS[1], tpm, now)
units = units + delta
if units > tpm * UNITS then units = tpm * UNITS end
if units < lowest then units = lowest end
save(KEYS[1], units, updated, tpm, now)
return units
";

/// KEYS: minute, day, bucket. ARGV: tpm (-1: none), now (ms), UNITS, EXTRA.
/// Returns {minute count, day count, bucket units}. Writes nothing.
const PEEK_LUA: &str = r"
local tpm, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
local units = 0
if tpm > 0 then units = refill(KEYS[3], tpm, now) end
return {minute, day, units}
";

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| script(ACQUIRE_LUA));
static ADJUST: LazyLock<Script> = LazyLock::new(|| script(ADJUST_LUA));
static PEEK: LazyLock<Script> = LazyLock::new(|| script(PEEK_LUA));

fn script(body: &str) -> Script {
    Script::new(&format!("{BUCKET_LUA}{body}"))
}

/// Every operation fails open: it answers `None` when Redis failed (logged here) or
/// is being skipped after a recent failure.
#[derive(Clone)]
pub(crate) struct RedisStore {
    conn: ConnectionManager,
    breaker: Arc<Breaker>,
}

/// Skips Redis for `SKIP_AFTER_FAILURE_MS` after a failure, so that a dead or hung
/// Redis costs one request per second a timeout rather than every request.
struct Breaker {
    epoch: Instant,
    /// Milliseconds since `epoch` until which Redis is skipped.
    skip_until_ms: AtomicU64,
}

impl Breaker {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_open(&self) -> bool {
        self.elapsed_ms() < self.skip_until_ms.load(Ordering::Relaxed)
    }

    fn trip(&self) {
        let until = self.elapsed_ms().saturating_add(SKIP_AFTER_FAILURE_MS);
        self.skip_until_ms.store(until, Ordering::Relaxed);
    }
}

struct Keys {
    minute: String,
    day: String,
    bucket: String,
}

impl Keys {
    fn new(subject: Uuid, now_ms: i64) -> Self {
        let minute = Window::Minute.index(now_ms);
        let day = Window::Day.index(now_ms);
        Self {
            minute: format!("assistiv:rl:{{{subject}}}:m:{minute}"),
            day: format!("assistiv:rl:{{{subject}}}:d:{day}"),
            bucket: format!("assistiv:rl:{{{subject}}}:t"),
        }
    }
}

impl RedisStore {
    pub(crate) async fn connect(url: &str) -> anyhow::Result<Self> {
        // The URL may hold a password: it is never put into an error or a log.
        let client = redis::Client::open(url).context("invalid Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .context("connecting to Redis")?;
        for script in [&*ACQUIRE, &*ADJUST, &*PEEK] {
            script
                .prepare_invoke()
                .load_async(&mut conn)
                .await
                .context("loading the rate-limit scripts into Redis")?;
        }
        let breaker = Arc::new(Breaker {
            epoch: Instant::now(),
            skip_until_ms: AtomicU64::new(0),
        });
        Ok(Self { conn, breaker })
    }

    async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
        operation: &'static str,
    ) -> Option<T> {
        if self.breaker.is_open() {
            tracing::debug!(
                operation,
                "rate limiter: Redis skipped after a failure, failing open"
            );
            return None;
        }
        let mut conn = self.conn.clone();
        let call = tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async(&mut conn));
        let error = match call.await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {CALL_TIMEOUT:?}"),
        };
        self.breaker.trip();
        tracing::warn!(
            operation,
            %error,
            "rate limiter: Redis failed; failing open (not counted), Redis skipped for {SKIP_AFTER_FAILURE_MS} ms"
        );
        None
    }

    pub(crate) async fn acquire(
        &self,
        subject: Uuid,
        step: &Step,
        now_ms: i64,
    ) -> Option<Snapshot> {
        let keys = Keys::new(subject, now_ms);
        let (tpm, take) = step
            .take
            .map_or((-1, 0), |take| (i64::from(take.tpm), take.units));
        let mut invocation = ACQUIRE.prepare_invoke();
        invocation
            .key(&keys.minute)
            .key(&keys.day)
            .key(&keys.bucket)
            .arg(step.rpm.map_or(-1, i64::from))
            .arg(step.rpd.map_or(-1, i64::from))
            .arg(Window::Minute.end_ms(now_ms) - now_ms + KEEP_EXTRA_MS)
            .arg(Window::Day.end_ms(now_ms) - now_ms + KEEP_EXTRA_MS)
            .arg(tpm)
            .arg(take)
            .arg(now_ms)
            .arg(UNITS_PER_TOKEN)
            .arg(KEEP_EXTRA_MS);
        let (admitted, minute, day, tokens): (i64, u64, u64, i64) =
            self.invoke(&invocation, "admission").await?;
        Some(Snapshot {
            admitted: admitted == 1,
            minute,
            day,
            tokens,
        })
    }

    pub(crate) async fn adjust(
        &self,
        subject: Uuid,
        tpm: u32,
        delta_units: i64,
        now_ms: i64,
    ) -> Option<()> {
        let keys = Keys::new(subject, now_ms);
        let mut invocation = ADJUST.prepare_invoke();
        invocation
            .key(&keys.bucket)
            .arg(tpm)
            .arg(delta_units)
            .arg(MIN_UNITS)
            .arg(now_ms)
            .arg(UNITS_PER_TOKEN)
            .arg(KEEP_EXTRA_MS);
        let _units: i64 = self.invoke(&invocation, "reconcile").await?;
        Some(())
    }

    pub(crate) async fn peek(
        &self,
        subject: Uuid,
        limits: &Limits,
        tpm: Option<u32>,
        now_ms: i64,
    ) -> Option<Snapshot> {
        let keys = Keys::new(subject, now_ms);
        let mut invocation = PEEK.prepare_invoke();
        invocation
            .key(&keys.minute)
            .key(&keys.day)
            .key(&keys.bucket)
            .arg(tpm.map_or(-1, i64::from))
            .arg(now_ms)
            .arg(UNITS_PER_TOKEN)
            .arg(KEEP_EXTRA_MS);
        let (minute, day, tokens): (u64, u64, i64) = self.invoke(&invocation, "status").await?;
        Some(Snapshot {
            admitted: true,
            minute: if limits.rpm.is_some() { minute } else { 0 },
            day: if limits.rpd.is_some() { day } else { 0 },
            tokens,
        })
    }
}
