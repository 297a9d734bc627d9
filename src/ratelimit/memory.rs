//! The in-process backend: one entry per subject in sharded maps, each step under
//! one short lock (no await while held). Bounded: a shard about to grow past its
//! sweep mark first drops the subjects whose windows have passed and whose bucket is
//! full again, then sets the mark to twice what is left.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

use super::{Snapshot, Step, Window, capacity_units, ms_until, refill};

const SHARDS: usize = 64;
const MIN_SWEEP_MARK: usize = 1024;

pub(crate) struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
}

struct Shard {
    entries: HashMap<Uuid, Entry>,
    sweep_mark: usize,
}

#[derive(Default)]
struct Entry {
    minute: Counter,
    day: Counter,
    /// `None` is a full bucket.
    bucket: Option<Bucket>,
}

#[derive(Default)]
struct Counter {
    window: i64,
    count: u64,
}

struct Bucket {
    units: i64,
    updated_ms: i64,
    /// When it is full again unless touched, for sweeping.
    full_at_ms: i64,
}

impl Counter {
    fn at(&self, window: i64) -> u64 {
        if self.window == window { self.count } else { 0 }
    }

    fn increment(&mut self, window: i64) -> u64 {
        if self.window != window {
            *self = Self { window, count: 0 };
        }
        self.count += 1;
        self.count
    }
}

impl Entry {
    fn stored_bucket(&self) -> Option<(i64, i64)> {
        self.bucket.as_ref().map(|b| (b.units, b.updated_ms))
    }

    fn set_bucket(&mut self, units: i64, updated_ms: i64, tpm: u32) {
        let cap = capacity_units(tpm);
        self.bucket = (units < cap).then(|| Bucket {
            units,
            updated_ms,
            full_at_ms: updated_ms + ms_until(units, cap, tpm),
        });
    }

    fn is_live(&self, now_ms: i64) -> bool {
        (self.minute.count > 0 && self.minute.window >= Window::Minute.index(now_ms))
            || (self.day.count > 0 && self.day.window >= Window::Day.index(now_ms))
            || self.bucket.as_ref().is_some_and(|b| b.full_at_ms > now_ms)
    }
}

impl MemoryStore {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::new(),
                        sweep_mark: MIN_SWEEP_MARK,
                    })
                })
                .collect(),
        }
    }

    fn shard(&self, subject: Uuid) -> MutexGuard<'_, Shard> {
        let bits = subject.as_u128();
        let mixed = ((bits as u64) ^ ((bits >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let index = (mixed >> 58) as usize % self.shards.len();
        // A panic while holding the lock cannot leave an entry half-written in a way
        // that matters for counting, so a poisoned shard is used as is.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn acquire(&self, subject: Uuid, step: &Step, now_ms: i64) -> Snapshot {
        let mut shard = self.shard(subject);
        let entry = shard.entry(subject, now_ms);
        let minute_window = Window::Minute.index(now_ms);
        let day_window = Window::Day.index(now_ms);
        let minute = if step.rpm.is_some() {
            entry.minute.at(minute_window)
        } else {
            0
        };
        let day = if step.rpd.is_some() {
            entry.day.at(day_window)
        } else {
            0
        };
        let bucket = step
            .take
            .map(|take| (take, refill(entry.stored_bucket(), take.tpm, now_ms)));

        let admitted = step.rpd.is_none_or(|limit| day < u64::from(limit))
            && step.rpm.is_none_or(|limit| minute < u64::from(limit))
            && bucket.is_none_or(|(take, (units, _))| units >= take.units);
        let tokens = bucket.map_or(0, |(_, (units, _))| units);
        if !admitted {
            return Snapshot {
                admitted,
                minute,
                day,
                tokens,
            };
        }
        let minute = if step.rpm.is_some() {
            entry.minute.increment(minute_window)
        } else {
            0
        };
        let day = if step.rpd.is_some() {
            entry.day.increment(day_window)
        } else {
            0
        };
        let tokens = match bucket {
            Some((take, (units, updated))) => {
                let left = units - take.units;
                entry.set_bucket(left, updated, take.tpm);
                left
            }
            None => 0,
        };
        Snapshot {
            admitted,
            minute,
            day,
            tokens,
        }
    }

    /// Adds `delta_units` (negative: takes) to the bucket, refilled first; never above
    /// capacity, never below `MIN_UNITS`.
    pub(crate) fn adjust(&self, subject: Uuid, tpm: u32, delta_units: i64, now_ms: i64) {
        let mut shard = self.shard(subject);
        let entry = shard.entry(subject, now_ms);
        let (units, updated) = refill(entry.stored_bucket(), tpm, now_ms);
        let units = units
            .saturating_add(delta_units)
            .clamp(super::MIN_UNITS, capacity_units(tpm));
        entry.set_bucket(units, updated, tpm);
    }

    /// The windows' counts and the refilled bucket now, counting nothing.
    pub(crate) fn peek(&self, subject: Uuid, tpm: Option<u32>, now_ms: i64) -> Snapshot {
        let shard = self.shard(subject);
        let entry = shard.entries.get(&subject);
        let stored = entry.and_then(Entry::stored_bucket);
        Snapshot {
            admitted: true,
            minute: entry.map_or(0, |e| e.minute.at(Window::Minute.index(now_ms))),
            day: entry.map_or(0, |e| e.day.at(Window::Day.index(now_ms))),
            tokens: tpm.map_or(0, |tpm| refill(stored, tpm, now_ms).0),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().map_or(0, |s| s.entries.len()))
            .sum()
    }
}

impl Shard {
    fn entry(&mut self, subject: Uuid, now_ms: i64) -> &mut Entry {
        if self.entries.len() >= self.sweep_mark && !self.entries.contains_key(&subject) {
            self.entries.retain(|_, entry| entry.is_live(now_ms));
            self.sweep_mark = (self.entries.len() * 2).max(MIN_SWEEP_MARK);
        }
        self.entries.entry(subject).or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ratelimit::Take;

    const STEP: Step = Step {
        rpm: Some(1),
        rpd: None,
        take: Some(Take {
            tpm: 10,
            tokens: 5,
            units: 5 * super::super::UNITS_PER_TOKEN,
        }),
    };

    #[test]
    fn passed_windows_and_full_buckets_are_evicted() {
        let store = MemoryStore::new();
        let t0 = 1_900_000_000_000;
        let first = SHARDS * MIN_SWEEP_MARK;
        for _ in 0..first {
            assert!(store.acquire(Uuid::new_v4(), &STEP, t0).admitted);
        }
        assert_eq!(store.len(), first);
        // Two minutes later every window has passed and every bucket refilled
        // (5 tokens at 10 per minute: 30 s), so growing sweeps them out.
        // Twice as many newcomers take every shard past its mark (at most twice
        // its old size), which sweeps all the old entries and keeps every new one.
        let later = t0 + 120_000;
        for _ in 0..2 * first {
            assert!(store.acquire(Uuid::new_v4(), &STEP, later).admitted);
        }
        assert_eq!(store.len(), 2 * first);
    }

    #[test]
    fn live_entries_survive_a_sweep() {
        let store = MemoryStore::new();
        let t0 = 1_900_000_000_000;
        let kept = Uuid::new_v4();
        assert!(store.acquire(kept, &STEP, t0).admitted);
        for _ in 0..SHARDS * MIN_SWEEP_MARK * 2 {
            store.acquire(Uuid::new_v4(), &STEP, t0 + 1_000);
        }
        // Still counted: the second request in the same minute is refused.
        assert!(!store.acquire(kept, &STEP, t0 + 2_000).admitted);
    }
}
