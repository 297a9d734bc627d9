//! What the benches share: CPU time from `/proc/<pid>/stat` (of one process or
//! of a process and its descendants) and how figures print.

#![allow(dead_code)]

use std::time::Duration;

/// CPU time (user + system) of process `pid` (`"self"` for this one).
pub fn cpu_time_of(pid: &str) -> Duration {
    try_cpu_time_of(pid).unwrap()
}

/// CPU time (user + system) of process `pid`, if it is there.
fn try_cpu_time_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses;
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// CPU time of process `pid` and its live descendants (threads included),
/// plus the children it has already reaped.
pub fn cpu_time_of_tree(pid: u32) -> Duration {
    descendants_of(pid)
        .into_iter()
        .filter_map(|child| try_cpu_time_of(&child.to_string()))
        .sum::<Duration>()
        + cpu_time_of(&pid.to_string())
        + reaped_children_cpu(pid)
}

/// The live descendants of process `pid` (processes that exit meanwhile are skipped).
pub fn descendants_of(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|entry| {
                    let candidate = entry.ok()?.file_name().to_str()?.parse::<u32>().ok()?;
                    let stat = std::fs::read_to_string(format!("/proc/{candidate}/stat")).ok()?;
                    let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
                    Some((candidate, ppid.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for &(child, _) in parents.iter().filter(|(_, ppid)| *ppid == parent) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// cutime + cstime of `pid`: the CPU of the children it has waited for.
fn reaped_children_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[13].parse::<u64>().unwrap() + fields[14].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// This process's CPU time so far.
pub fn cpu_time() -> Duration {
    cpu_time_of("self")
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The money path every paid call takes: a hold reserved, then settled.
/// A gateway serving on SQLite in a fresh data directory, with an admin token
/// and no mock provider: (base URL, first platform id, its key).
pub async fn serve_gateway(admin_token: &str) -> (String, uuid::Uuid, String) {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut config = assistiv::config::Config::for_data_dir(dir);
    config.admin_token = Some(secrecy::SecretString::from(admin_token));
    config.mock_provider = false;
    let app = assistiv::startup::Application::build(config).await.unwrap();
    let created = app.provisioned.as_ref().unwrap();
    let (pid, pkey) = (created.platform.id, created.api_key.raw_key.clone());
    let base = format!("http://{}", app.addr().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    (base, pid, pkey)
}

pub mod money {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use assistiv::billing::budgets::{self, Actor, BudgetInput};
    use assistiv::billing::{Money, Period, SharedClock, holds};
    use assistiv::store::Db;
    use assistiv::tenancy::end_users::{self, CreateEndUser};
    use uuid::Uuid;

    /// `n` end users of `platform`, each with a budget it cannot spend in a bench.
    pub async fn users_with_budgets(
        db: &Db,
        clock: &SharedClock,
        platform: Uuid,
        n: usize,
    ) -> Vec<Uuid> {
        let actor = Actor("bench".into());
        let mut users = Vec::new();
        for i in 0..n {
            let request = CreateEndUser {
                external_id: format!("user-{i}"),
                display_name: None,
                metadata: None,
                budget: None,
                rate_limits: None,
            };
            let (user, _) = end_users::create_or_get(db, clock, platform, request, &actor)
                .await
                .expect("user");
            let input = BudgetInput {
                max_usd: serde_json::Number::from(1_000_000),
                period: Period::Monthly,
                auto_replenish: None,
                replenish_amount: None,
                low_balance_threshold: None,
            };
            budgets::create(db, clock, platform, user.end_user.id, &input, &actor)
                .await
                .expect("budget");
            users.push(user.end_user.id);
        }
        users
    }

    /// `per_user` reserve+settle pairs (0.001 USD) in a row by each of `users`,
    /// all users at once: each pair's latency (sorted) and the wall time.
    pub async fn pairs(
        db: &Db,
        clock: &SharedClock,
        platform: Uuid,
        users: &[Uuid],
        per_user: usize,
    ) -> (Vec<Duration>, Duration) {
        let started = Instant::now();
        let tasks = users.iter().map(|&euid| {
            let (db, clock) = (db.clone(), Arc::clone(clock));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_user);
                for _ in 0..per_user {
                    let t = Instant::now();
                    let amount = Money::from_micros(1_000);
                    let hold = holds::reserve(
                        &db,
                        &clock,
                        platform,
                        euid,
                        amount,
                        "bench",
                        Duration::from_secs(60),
                    )
                    .await
                    .expect("reserve");
                    holds::settle(&db, &clock, &hold, amount)
                        .await
                        .expect("settle");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        });
        let mut latencies: Vec<Duration> = Vec::new();
        for task in futures::future::join_all(tasks).await {
            latencies.extend(task.expect("task"));
        }
        let elapsed = started.elapsed();
        latencies.sort();
        (latencies, elapsed)
    }

    /// The `p` quantile (0..=1) of sorted latencies.
    pub fn quantile(sorted: &[Duration], p: f64) -> Duration {
        sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
    }
}
