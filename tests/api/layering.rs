//! The layering holds: money and tenancy know no protocol (no HTTP, no MCP), and
//! app crates never reach the database. Read from the sources, so a stray import
//! fails here before it spreads.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// Every `(file, line)` under `dir` that names one of `forbidden`.
fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    assert!(root.is_dir(), "{} is not a directory", root.display());
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if let Some(name) = forbidden.iter().find(|name| code.contains(*name)) {
                found.push(format!("{}:{}: {name}", file.display(), number + 1));
            }
        }
    }
    found
}

const PROTOCOLS: &[&str] = &["crate::http", "crate::mcp", "axum::", "rmcp::"];

#[test]
fn money_and_tenancy_know_no_protocol() {
    for layer in ["src/billing", "src/tenancy"] {
        let found = offenders(layer, PROTOCOLS);
        assert!(
            found.is_empty(),
            "{layer} imports a protocol edge:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn app_crates_never_reach_the_database() {
    let apps = Path::new(env!("CARGO_MANIFEST_DIR")).join("apps");
    for entry in std::fs::read_dir(&apps).unwrap() {
        let crate_dir = entry.unwrap().path();
        if !crate_dir.join("Cargo.toml").is_file() {
            continue;
        }
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
        for forbidden in ["sqlx", "redis", "assistiv = ", "path = \"../..\""] {
            assert!(
                !manifest.contains(forbidden),
                "{} depends on {forbidden}",
                crate_dir.display()
            );
        }
        let relative = crate_dir.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        let found = offenders(
            &relative.join("src").to_string_lossy(),
            &["sqlx", "assistiv::store", "assistiv::billing"],
        );
        assert!(
            found.is_empty(),
            "an app reaches the database:\n{}",
            found.join("\n")
        );
    }
}

/// The checks see what they are meant to see: a forbidden name in a scanned
/// folder is found (so an empty answer above means something).
#[test]
fn the_scan_finds_what_it_looks_for() {
    let found = offenders("src/http", &["crate::error"]);
    assert!(!found.is_empty());
}
