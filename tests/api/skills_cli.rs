//! `assistiv admin skills upload|list|delete` on the configured database and blob
//! directory, as an operator runs them (text and `--json`).

use std::process::Command;

use serde_json::Value;

use crate::helpers::{Backend, fresh_postgres_database};
use crate::skill_zips::{blob_files, skill_md, zip};

fn assistiv(dir: &std::path::Path, database_url: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command.args(["admin", "skills"]);
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

fn json(command: &mut Command) -> Value {
    let (ok, stdout, stderr) = run(command.arg("--json"));
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn operator_manages_public_skills_from_the_cli(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    let url = url.as_deref();
    migrate(dir.path(), url);
    let file = dir.path().join("skill.zip");
    let md = skill_md(
        "changelog-writer",
        "Draft a changelog from merged PRs.",
        "1.2",
        "Steps.",
    );
    std::fs::write(
        &file,
        zip(&[("SKILL.md", &md), ("template.md", b"## Changes")]),
    )
    .unwrap();

    let uploaded = json(
        assistiv(dir.path(), url)
            .arg("upload")
            .arg("--file")
            .arg(&file),
    );
    assert_eq!(uploaded["change"], "created", "{uploaded}");
    assert_eq!(uploaded["skill"]["visibility"], "public");
    let id = uploaded["skill"]["id"].as_str().unwrap().to_owned();
    assert_eq!(blob_files(dir.path()).len(), 1);

    let (ok, text, stderr) = run(assistiv(dir.path(), url)
        .arg("upload")
        .arg("--file")
        .arg(&file));
    assert!(ok, "{stderr}");
    assert!(text.starts_with("Unchanged:"), "{text}");

    let listed = json(assistiv(dir.path(), url).arg("list"));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    let (ok, text, _) = run(assistiv(dir.path(), url).arg("list"));
    assert!(ok && text.contains("changelog-writer 1.2"), "{text}");

    // A hostile zip: a clear refusal, a failing exit status, nothing written.
    let bad = dir.path().join("bad.zip");
    let mut hostile = zip(&[("SKILL.md", &md), ("AA/x", b"x")]);
    crate::skill_zips::rename_entry(&mut hostile, "AA/x", "../x");
    std::fs::write(&bad, hostile).unwrap();
    let (ok, _, stderr) = run(assistiv(dir.path(), url)
        .arg("upload")
        .arg("--file")
        .arg(&bad));
    assert!(!ok);
    assert!(stderr.contains("path traversal"), "{stderr}");

    let deleted = json(assistiv(dir.path(), url).args(["delete", "--id", &id]));
    assert_eq!(deleted["deleted"], true);
    assert!(
        json(assistiv(dir.path(), url).arg("list"))
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(blob_files(dir.path()).is_empty());
    let (ok, _, stderr) = run(assistiv(dir.path(), url).args(["delete", "--id", &id]));
    assert!(!ok && stderr.contains("not found"), "{stderr}");
}

both_backends!(operator_manages_public_skills_from_the_cli);
