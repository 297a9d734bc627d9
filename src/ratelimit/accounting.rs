//! The arithmetic both backends share (the Redis scripts mirror it): fixed windows,
//! the token bucket in exact integer units, and how a backend's snapshot becomes
//! quotas and refusals.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{LimitKind, Quota, Refusal};

/// Bucket amounts are kept in units of 1/60 000 token, so that a bucket refilling
/// `tpm` tokens per 60 000 ms gains exactly `tpm` units per millisecond.
pub(crate) const UNITS_PER_TOKEN: i64 = 60_000;
/// The lowest a bucket can be overdrawn to (exact in Lua's doubles).
pub(crate) const MIN_UNITS: i64 = -(1 << 52);
/// Extra lifetime of stored windows and buckets beyond when they stop mattering,
/// so that instances with slightly different clocks still agree.
pub(crate) const KEEP_EXTRA_MS: i64 = 60_000;

/// One atomic step asked of a backend: count the request in the windows whose limit
/// is given, and take tokens from the bucket when given. All or nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub rpm: Option<u32>,
    pub rpd: Option<u32>,
    pub take: Option<Take>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Take {
    /// The bucket's capacity and refill per minute, > 0.
    pub tpm: u32,
    pub tokens: u64,
    pub units: i64,
}

/// What a backend saw: the window counts and bucket units after the step when
/// admitted, before it (nothing counted) when refused. Counts of windows without a
/// limit in the step are 0; units are those of the refilled bucket when one was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub admitted: bool,
    pub minute: u64,
    pub day: u64,
    pub tokens: i64,
}

impl Snapshot {
    pub(crate) fn untouched(tpm: Option<u32>) -> Self {
        Self {
            admitted: true,
            minute: 0,
            day: 0,
            tokens: tpm.map_or(0, capacity_units),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Window {
    Minute,
    Day,
}

impl Window {
    pub(crate) fn len_ms(self) -> i64 {
        match self {
            Self::Minute => 60_000,
            Self::Day => 86_400_000,
        }
    }

    pub(crate) fn index(self, now_ms: i64) -> i64 {
        now_ms.div_euclid(self.len_ms())
    }

    pub(crate) fn end_ms(self, now_ms: i64) -> i64 {
        (self.index(now_ms) + 1) * self.len_ms()
    }
}

pub(crate) fn capacity_units(tpm: u32) -> i64 {
    i64::from(tpm) * UNITS_PER_TOKEN
}

/// The bucket `(units, updated_at_ms)` refilled up to `now_ms`; a missing bucket is
/// full. Time never runs backwards for a bucket (clock skew between instances).
pub(crate) fn refill(stored: Option<(i64, i64)>, tpm: u32, now_ms: i64) -> (i64, i64) {
    let cap = capacity_units(tpm);
    let Some((units, updated)) = stored else {
        return (cap, now_ms);
    };
    let units = units.min(cap);
    let elapsed = now_ms.saturating_sub(updated);
    if elapsed <= 0 {
        return (units, updated);
    }
    let gained = i128::from(elapsed) * i128::from(tpm);
    if gained >= i128::from(cap - units) {
        (cap, now_ms)
    } else {
        (units + i64::try_from(gained).unwrap_or(0), now_ms)
    }
}

/// Milliseconds until a bucket at `units` holds `target` units (0 when it does).
pub(crate) fn ms_until(units: i64, target: i64, tpm: u32) -> i64 {
    if units >= target || tpm == 0 {
        return 0;
    }
    let tpm = i64::from(tpm);
    (target - units + tpm - 1) / tpm
}

pub(crate) fn time_at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub(crate) fn retry_secs(wait_ms: i64) -> u64 {
    u64::try_from((wait_ms + 999) / 1000).unwrap_or(0).max(1)
}

pub(crate) fn quota(limit: u64, remaining: u64, reset_ms: i64, now_ms: i64) -> Quota {
    Quota {
        limit,
        remaining,
        reset_at: time_at(reset_ms),
        reset_after: Duration::from_millis(u64::try_from(reset_ms - now_ms).unwrap_or(0)),
    }
}

pub(crate) fn window_quota(limit: u32, used: u64, window: Window, now_ms: i64) -> Quota {
    let limit = u64::from(limit);
    quota(
        limit,
        limit.saturating_sub(used),
        window.end_ms(now_ms),
        now_ms,
    )
}

pub(crate) fn tokens_quota(tpm: u32, units: i64, now_ms: i64) -> Quota {
    let remaining = u64::try_from(units.max(0) / UNITS_PER_TOKEN).unwrap_or(0);
    let full_ms = now_ms + ms_until(units, capacity_units(tpm), tpm);
    quota(u64::from(tpm), remaining, full_ms, now_ms)
}

/// The tightest of the RPM and RPD windows: the fewest remaining; on a tie the day,
/// whose reset is the one that matters once both run out.
pub(crate) fn requests_quota(step: &Step, snapshot: &Snapshot, now_ms: i64) -> Option<Quota> {
    let minute = step
        .rpm
        .map(|limit| window_quota(limit, snapshot.minute, Window::Minute, now_ms));
    let day = step
        .rpd
        .map(|limit| window_quota(limit, snapshot.day, Window::Day, now_ms));
    match (minute, day) {
        (Some(minute), Some(day)) if minute.remaining < day.remaining => Some(minute),
        (minute, day) => day.or(minute),
    }
}

/// Why a step was refused: of every limit that is short, the one that takes longest
/// to clear, so that `Retry-After` is when the request can really be admitted.
pub(crate) fn refusal(step: &Step, snapshot: &Snapshot, now_ms: i64) -> Option<Refusal> {
    let mut worst: Option<(i64, Refusal)> = None;
    let mut consider = |wait_ms: i64, kind: LimitKind, limit: u64, reset_ms: i64| {
        if worst.is_none_or(|(longest, _)| wait_ms > longest) {
            let refusal = Refusal {
                kind,
                limit,
                retry_after_secs: retry_secs(wait_ms),
                reset_at: time_at(reset_ms),
            };
            worst = Some((wait_ms, refusal));
        }
    };
    for (limit, used, window, kind) in [
        (step.rpd, snapshot.day, Window::Day, LimitKind::Rpd),
        (step.rpm, snapshot.minute, Window::Minute, LimitKind::Rpm),
    ] {
        if let Some(limit) = limit.filter(|&limit| used >= u64::from(limit)) {
            let end = window.end_ms(now_ms);
            consider(end - now_ms, kind, u64::from(limit), end);
        }
    }
    if let Some(take) = step.take.filter(|take| snapshot.tokens < take.units) {
        let wait = ms_until(snapshot.tokens, take.units, take.tpm);
        consider(wait, LimitKind::Tpm, u64::from(take.tpm), now_ms + wait);
    }
    worst.map(|(_, refusal)| refusal)
}
