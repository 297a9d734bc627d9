//! `assistiv admin capabilities show|set|providers|add|change|remove` on the
//! configured database, as an operator runs them (text and `--json`); the
//! provider secret goes in through an environment variable and never comes out.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Backend, fresh_postgres_database};

fn assistiv(dir: &std::path::Path, database_url: Option<&str>, group: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command.args(["admin", group]);
    command.env("ASSISTIV_DATA_DIR", dir);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

/// Admin commands never create a database: `migrate` does, first.
fn migrate(dir: &std::path::Path, database_url: Option<&str>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
        .arg("migrate")
        .args(["--data-dir", &dir.display().to_string()]);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let (ok, _, stderr) = run(&mut command);
    assert!(ok, "{stderr}");
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().expect("assistiv runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_of(command: &mut Command) -> Value {
    let (ok, stdout, stderr) = run(command.arg("--json"));
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn operator_manages_capabilities_from_the_cli(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    let url = url.as_deref();
    migrate(dir.path(), url);
    let caps = || assistiv(dir.path(), url, "capabilities");
    let platform =
        json_of(assistiv(dir.path(), url, "platform").args(["create", "--name", "acme"]));
    let pid = platform["id"].as_str().unwrap().to_owned();

    let set = json_of(caps().args([
        "set",
        "--platform",
        &pid,
        "--enabled",
        "true",
        "--mode",
        "curated",
        "--allowlist",
        "cap_geo_ipatlas, translation",
        "--max-cost-per-call-usd",
        "0.01",
    ]));
    assert_eq!(set["enabled"], true, "{set}");
    assert_eq!(set["mode"], "curated");
    assert_eq!(set["allowlist"], json!(["cap_geo_ipatlas", "translation"]));
    assert_eq!(set["max_cost_per_call_usd"], 0.01);
    let (ok, text, _) = run(caps().args(["show", "--platform", &pid]));
    assert!(
        ok && text.contains("enabled") && text.contains("0.01 USD"),
        "{text}"
    );
    let cleared = json_of(caps().args(["set", "--platform", &pid, "--no-ceiling"]));
    assert_eq!(cleared["max_cost_per_call_usd"], Value::Null);
    assert_eq!(cleared["mode"], "curated", "others kept");

    let file = dir.path().join("provider.json");
    std::fs::write(
        &file,
        json!({
            "uid": "cap_geo_local", "name": "Local Geo", "capability": "geolocation",
            "call_method": "POST", "endpoint": "http://127.0.0.1:9300/lookup",
            "pricing": {"kind": "fixed", "price_usd": 0.004},
            "input_schema": {"type": "object", "properties": {"ip": {"type": "string"}}},
            "input_example": {"ip": "8.8.8.8"}, "rating": 4.6, "verified": true,
            "auth": {"header": "X-Api-Key"}
        })
        .to_string(),
    )
    .unwrap();
    let (ok, stdout, stderr) = run(caps()
        .args(["add", "--secret-env", "GEO_SECRET", "--json", "--file"])
        .arg(&file)
        .env("GEO_SECRET", "geo-very-secret"));
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("geo-very-secret"), "{stdout}");
    let added: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(added["secret_set"], true, "{added}");
    assert_eq!(added["origin"], "operator");

    let listed = json_of(caps().arg("providers"));
    let uids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["uid"].as_str().unwrap())
        .collect();
    assert!(
        uids.contains(&"cap_geo_local") && uids.contains(&"cap_img_pixelforge"),
        "{uids:?}"
    );
    assert!(!listed.to_string().contains("geo-very-secret"));

    let patch = dir.path().join("patch.json");
    std::fs::write(&patch, r#"{"rating": 3.2}"#).unwrap();
    let changed = json_of(
        caps()
            .args(["change", "--uid", "cap_geo_local", "--file"])
            .arg(&patch),
    );
    assert_eq!(changed["rating"], 3.2);
    assert_eq!(changed["secret_set"], true, "the secret is kept");

    let removed = json_of(caps().args(["remove", "--uid", "cap_geo_local"]));
    assert_eq!(removed["removed"], true);
    let listed = json_of(caps().arg("providers"));
    assert!(!listed.to_string().contains("cap_geo_local"));

    // Refusals: a clear message, a failing exit status.
    let (ok, _, stderr) = run(caps().args(["set", "--platform", &pid, "--mode", "strict"]));
    assert!(!ok && stderr.contains("curated or open"), "{stderr}");
    let (ok, _, stderr) = run(caps().args(["set", "--platform", &pid, "--min-rating", "9"]));
    assert!(!ok && stderr.contains("min_rating"), "{stderr}");
    let other = uuid::Uuid::new_v4().to_string();
    let (ok, _, stderr) = run(caps().args(["show", "--platform", &other]));
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    let (ok, _, stderr) = run(caps().args(["remove", "--uid", "cap_geo_local"]));
    assert!(!ok && stderr.contains("no capability provider"), "{stderr}");
}

both_backends!(operator_manages_capabilities_from_the_cli);
