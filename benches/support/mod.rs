//! What the benches share: CPU time from `/proc/<pid>/stat` and how figures print.

#![allow(dead_code)]

use std::time::Duration;

/// CPU time (user + system) of process `pid` (`"self"` for this one).
pub fn cpu_time_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses;
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ on Linux.
    Duration::from_millis(ticks * 10)
}

/// This process's CPU time so far.
pub fn cpu_time() -> Duration {
    cpu_time_of("self")
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
