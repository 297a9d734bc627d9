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

/// Tool sources implement the contract in `tools`, below the MCP server, so the
/// Responses API can run them without MCP; the pipeline itself knows no edge.
#[test]
fn tool_sources_live_below_the_mcp_server() {
    for layer in ["src/tools", "src/skills", "src/capabilities", "src/apps"] {
        let found = offenders(layer, &["crate::mcp"]);
        assert!(
            found.is_empty(),
            "{layer} imports the MCP server:\n{}",
            found.join("\n")
        );
    }
    let found = offenders("src/tools", &["crate::http", "axum::"]);
    assert!(
        found.is_empty(),
        "the tool pipeline imports HTTP:\n{}",
        found.join("\n")
    );
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

/// Where SQL may be written: the data modules (`store/`, a feature's `store.rs`
/// or `store/`, and billing's money modules, each a set of transactions).
fn may_hold_sql(path: &str) -> bool {
    const MONEY: &[&str] = &[
        "src/billing/accounts.rs",
        "src/billing/budgets.rs",
        "src/billing/events.rs",
        "src/billing/holds.rs",
        "src/billing/idempotency.rs",
        "src/billing/ledger.rs",
        "src/billing/wallets.rs",
    ];
    // Master-key rotation generates its statements from the sealed-column list.
    const GENERATED: &[&str] = &["src/sealing/rotate.rs"];
    path.starts_with("src/store/")
        || path.ends_with("/store.rs")
        || path.contains("/store/")
        || MONEY.contains(&path)
        || GENERATED.contains(&path)
}

/// How a statement starts in a string literal.
const STATEMENTS: &[&str] = &[
    "\"SELECT ",
    "\"INSERT INTO ",
    "\"DELETE FROM ",
    "\"UPDATE ",
    "\"WITH ",
];

/// The calls that run SQL (`Db`'s and `Tx`'s query methods, sqlx's own), so a
/// statement put together from pieces (`format!("{COLUMNS} ...")`) is found too.
const QUERY_CALLS: &[&str] = &[
    ".fetch_all(",
    ".fetch_all::<",
    ".fetch_optional(",
    ".fetch_optional::<",
    ".fetch_one(",
    ".fetch_one::<",
    ".fetch_each(",
    ".execute(",
    ".execute_each(",
    ".defer(",
    "sqlx::query",
];

/// The numbers of the lines of `text` that write or run SQL (comments aside).
fn sql_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or_default();
            STATEMENTS.iter().any(|s| code.contains(s))
                || QUERY_CALLS.iter().any(|c| code.contains(c))
        })
        .map(|(number, _)| number + 1)
        .collect()
}

#[test]
fn sql_lives_in_data_modules_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files(&root.join("src")) {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if may_hold_sql(&relative) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        found.extend(
            sql_lines(&text)
                .into_iter()
                .map(|number| format!("{relative}:{number}")),
        );
    }
    assert!(
        found.is_empty(),
        "SQL outside the data modules:\n{}",
        found.join("\n")
    );
}

/// The SQL check sees what it is meant to see: the webhook logic is no data
/// module (its store is), and the shapes of statement the webhooks write are
/// found, so SQL written back beside the logic fails the check above.
#[test]
fn the_sql_scan_would_catch_webhook_sql_outside_its_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stores = 0;
    for file in rust_files(&root.join("src/webhooks")) {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative.starts_with("src/webhooks/store/") {
            assert!(may_hold_sql(&relative), "{relative}");
            if !relative.ends_with("/mod.rs") {
                let text = std::fs::read_to_string(&file).unwrap();
                assert!(!sql_lines(&text).is_empty(), "{relative}: no SQL found");
                stores += 1;
            }
        } else {
            assert!(!may_hold_sql(&relative), "{relative} may hold SQL");
        }
    }
    assert!(stores > 0, "no webhook store files found");
    for path in ["src/webhooks/store.rs", "src/inference/store.rs"] {
        assert!(may_hold_sql(path), "{path}");
    }
    for path in [
        "src/webhooks/worker.rs",
        "src/webhooks/restore.rs",
        "src/http/routes.rs",
    ] {
        assert!(!may_hold_sql(path), "{path}");
    }

    let claim = r#"        let claimed = tx
            .execute(
                &format!(
                    "WITH picked AS (SELECT d.id FROM webhook_deliveries d \
                     ORDER BY d.next_attempt_ms LIMIT $2{lock}) \
                     UPDATE webhook_deliveries SET lease_token = $3 \
                     WHERE id IN (SELECT id FROM picked)"
                ),"#;
    assert_eq!(sql_lines(claim), [2, 4]);
    let page = r#"        let rows: Vec<DeliveryRow> = self.db.fetch_all(
                &format!("{DELIVERY} WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2"),"#;
    assert_eq!(sql_lines(page), [1]);
    let row =
        r#"            .fetch_optional::<EndpointRow>(&format!("{COLUMNS} WHERE id = $1"), &a)"#;
    assert_eq!(sql_lines(row), [1]);
    for statement in [
        r#"const DELIVERY: &str = "SELECT d.id, d.endpoint_id FROM webhook_deliveries d";"#,
        r#"tx.defer("INSERT INTO webhook_messages (id) VALUES ($1)", &a).await?;"#,
        r#"let sql = "UPDATE webhook_endpoints SET enabled = FALSE";"#,
        r#"let sql = "DELETE FROM webhook_deliveries WHERE updated_at_ms < $1";"#,
        r##"let sql = r#"SELECT body FROM webhook_messages"#;"##,
    ] {
        assert_eq!(sql_lines(statement), [1], "{statement}");
    }
    assert!(
        sql_lines(r#"// tx.execute("UPDATE webhook_endpoints SET enabled = FALSE")"#).is_empty()
    );
    assert!(sql_lines(r#"let why = "update the endpoint, then select it";"#).is_empty());
}
