//! Skill zips built in the tests (honest and hostile), the upload helpers, and the
//! hostile-zip refusals: path traversal, absolute paths, symlinks, 10,000 files, and
//! a 1 GiB bomb that deflates to about 1 MiB (with honest headers, refused from the
//! central directory; with headers claiming 1 KB, refused while inflating). Each is a
//! 400 that writes nothing: no catalog row, no blob row, no blob directory.

use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::helpers::{ADMIN_TOKEN, Backend, Reply, TestApp, spawn_app};

pub fn skill_md(name: &str, description: &str, version: &str, body: &str) -> Vec<u8> {
    format!("---\nname: {name}\ndescription: {description}\nversion: \"{version}\"\n---\n\n{body}")
        .into_bytes()
}

/// A zip of `entries`, in order, with one compression method.
pub fn zip_with(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(method);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Deflated)
}

/// Renames an entry by rewriting its name bytes (same length) in the local and
/// central headers: how a hostile tool writes names a well-behaved writer refuses.
pub fn rename_entry(zip: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut replaced = 0;
    let mut i = 0;
    while i + from.len() <= zip.len() {
        if &zip[i..i + from.len()] == from {
            zip[i..i + from.len()].copy_from_slice(to);
            replaced += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert_eq!(
        replaced, 2,
        "expected the name in one local and one central header"
    );
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u16_at(bytes: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap()))
}

/// Makes the headers of entry `name` claim `size` bytes uncompressed (a lying bomb).
pub fn claim_size(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = false;
    for i in 0..zip.len().saturating_sub(46) {
        if u32_at(zip, i) != 0x0201_4b50 {
            continue;
        }
        let name_len = u16_at(zip, i + 28);
        if &zip[i + 46..i + 46 + name_len] != name.as_bytes() {
            continue;
        }
        zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
        let local = u32_at(zip, i + 42) as usize;
        assert_eq!(u32_at(zip, local), 0x0403_4b50, "local header");
        zip[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
        patched = true;
    }
    assert!(patched, "no central header for {name}");
}

/// SKILL.md plus 1 GiB of zeros deflated (about 1 MiB), built once per test run.
pub fn gigabyte_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9));
        writer.start_file("SKILL.md", options).unwrap();
        writer
            .write_all(&skill_md("bomb", "Looks harmless.", "1", "Hi"))
            .unwrap();
        writer.start_file("zeros.bin", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            writer.write_all(&chunk).unwrap();
        }
        writer.finish().unwrap().into_inner()
    })
}

pub async fn upload(app: &TestApp, path: &str, key: &str, body: Vec<u8>) -> Reply {
    app.send(
        app.request(Method::POST, path, Some(key))
            .header("content-type", "application/zip")
            .body(body),
    )
    .await
}

pub async fn enable_skills(app: &TestApp, platform_id: Uuid, key: &str) {
    let reply = app
        .patch(
            &format!("/v1/platforms/{platform_id}"),
            key,
            &json!({"skills_enabled": true}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.data()["skills_enabled"], true);
}

/// Blob files under the data directory's `blobs/`.
pub fn blob_files(data_dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(shards) = std::fs::read_dir(data_dir.join("blobs")) else {
        return found;
    };
    for shard in shards {
        for file in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            found.push(file.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    found.sort();
    found
}

pub async fn count(app: &TestApp, table: &str) -> i64 {
    let rows: Vec<(i64,)> = app
        .state
        .db
        .fetch_all(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .unwrap();
    rows[0].0
}

async fn assert_nothing_written(app: &TestApp, what: &str) {
    assert_eq!(count(app, "skills").await, 0, "{what}: a skill row");
    assert_eq!(count(app, "skill_blobs").await, 0, "{what}: a blob row");
    assert!(
        !app.data_dir.join("blobs").exists(),
        "{what}: the blob directory was created"
    );
}

async fn hostile_zips_are_refused_and_nothing_is_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let md = skill_md("hostile", "Tries things.", "1", "Nothing to see.");
    let refuse = |zip: Vec<u8>, what: &'static str, expected: &'static str| {
        let app = &app;
        async move {
            for (path, key) in [
                ("/v1/skills", app.platform_key.as_str()),
                ("/admin/v1/skills", ADMIN_TOKEN),
            ] {
                let reply = upload(app, path, key, zip.clone()).await;
                reply.assert_error(400, "bad_request");
                let message = reply.body["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains(expected),
                    "{what} on {path}: '{message}' does not mention '{expected}'"
                );
            }
            assert_nothing_written(app, what).await;
        }
    };

    let mut traversal = zip(&[("SKILL.md", &md), ("AA/evil.sh", b"rm -rf ~")]);
    rename_entry(&mut traversal, "AA/evil.sh", "../evil.sh");
    refuse(traversal, "traversal", "path traversal").await;

    let mut deep = zip(&[("SKILL.md", &md), ("a/AA/AA/evil.sh", b"x")]);
    rename_entry(&mut deep, "a/AA/AA/evil.sh", "a/../../evil.sh");
    refuse(deep, "nested traversal", "path traversal").await;

    let mut absolute = zip(&[("SKILL.md", &md), ("Aetc/cron.d/x", b"* * * * * root sh")]);
    rename_entry(&mut absolute, "Aetc/cron.d/x", "/etc/cron.d/x");
    refuse(absolute, "absolute path", "absolute paths").await;

    let mut drive = zip(&[("SKILL.md", &md), ("CC/Windows/x", b"x")]);
    rename_entry(&mut drive, "CC/Windows/x", "C:/Windows/x");
    refuse(drive, "drive letter", "drive-letter").await;

    let symlink = {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default();
        writer.start_file("SKILL.md", options).unwrap();
        writer.write_all(&md).unwrap();
        writer
            .add_symlink("secrets", "/etc/shadow", options)
            .unwrap();
        writer.finish().unwrap().into_inner()
    };
    refuse(symlink, "symlink", "symbolic links").await;

    let names: Vec<String> = (0..10_000).map(|i| format!("f/{i:05}.txt")).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("SKILL.md", &md)];
    entries.extend(names.iter().map(|n| (n.as_str(), b"x".as_slice())));
    refuse(
        zip_with(&entries, CompressionMethod::Stored),
        "10,000 files",
        "at most 1000 files",
    )
    .await;

    // 1 GiB of zeros in about 1 MiB: honest headers are refused from the central
    // directory, before anything is inflated.
    let bomb = gigabyte_bomb().to_vec();
    assert!(bomb.len() < 2 << 20, "the bomb is {} bytes", bomb.len());
    refuse(
        bomb.clone(),
        "zip bomb",
        "over the 8388608-byte cap per file",
    )
    .await;

    // The same bomb claiming 1 KB: caught while inflating, one byte past what it
    // declared, long before the per-file cap.
    let mut liar = bomb;
    claim_size(&mut liar, "zeros.bin", 1000);
    refuse(liar, "lying zip bomb", "refused as a zip bomb").await;

    // Files each under the per-file cap, together over the unpacked cap (32 MiB).
    let big = vec![7u8; 6 << 20];
    let mut sum: Vec<(&str, &[u8])> = vec![("SKILL.md", &md)];
    let parts: Vec<String> = (0..6).map(|i| format!("part{i}.bin")).collect();
    sum.extend(parts.iter().map(|n| (n.as_str(), big.as_slice())));
    refuse(zip(&sum), "unpacked total", "over the 33554432-byte cap").await;

    // Not a zip, no SKILL.md, a malformed SKILL.md: each a clear 400 too.
    refuse(
        b"PK\x03\x04 not really".to_vec(),
        "garbage",
        "not a readable zip",
    )
    .await;
    refuse(
        zip(&[("README.md", b"hi")]),
        "no SKILL.md",
        "SKILL.md is missing",
    )
    .await;
    refuse(
        zip(&[("SKILL.md", b"# Just a title")]),
        "no front matter",
        "front matter",
    )
    .await;
    refuse(
        zip(&[(
            "SKILL.md",
            b"---\nname: Bad Name\ndescription: x\nversion: '1'\n---\n",
        )]),
        "bad name",
        "lowercase letters",
    )
    .await;
}

async fn upload_requests_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let md = skill_md("ok", "Fine.", "1", "Body");
    let good = zip(&[("SKILL.md", &md)]);
    let (_, eu_key) = app.create_end_user("someone").await;

    // Wrong content type: 415; empty body: 400; end-user key: 403; no key: 401; a
    // platform key on the operator's route: 403.
    let json_body = app
        .send(
            app.request(Method::POST, "/v1/skills", Some(&app.platform_key))
                .json(&json!({"name": "ok"})),
        )
        .await;
    json_body.assert_error(415, "unsupported_media_type");
    upload(&app, "/v1/skills", &app.platform_key, Vec::new())
        .await
        .assert_error(400, "bad_request");
    upload(&app, "/v1/skills", &eu_key, good.clone())
        .await
        .assert_error(403, "forbidden");
    app.send(
        app.request(Method::POST, "/v1/skills", None)
            .header("content-type", "application/zip")
            .body(good.clone()),
    )
    .await
    .assert_error(401, "unauthorized");
    upload(&app, "/admin/v1/skills", &app.platform_key, good.clone())
        .await
        .assert_error(403, "forbidden");

    // One byte over the zip cap (8 MiB by default): 413. Sent raw and whole, so
    // the gateway has read every byte when it refuses (a client still writing a
    // body the server stopped reading may see the connection reset instead).
    let mut body = b"PK\x03\x04".to_vec();
    body.resize((8 << 20) + 1, b'x');
    let head = raw_send(&app, "POST /v1/skills", "application/zip", &body).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("payload_too_large"), "{head}");
    assert_nothing_written(&app, "refused requests").await;

    // Other JSON routes keep the global 1 MiB limit.
    // (One byte over, sent raw and whole, for the reason above.)
    let prefix = br#"{"display_name": ""#;
    let mut big_json = prefix.to_vec();
    big_json.resize((1 << 20) + 1 - 2, b'x');
    big_json.extend_from_slice(br#""}"#);
    let path = format!("PATCH /v1/platforms/{}", app.platform_id);
    let head = raw_send(&app, &path, "application/json", &big_json).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("payload_too_large"), "{head}");

    // The control: the same zip with the right key and type is published.
    let ok = upload(&app, "/v1/skills", &app.platform_key, good).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

/// Replaces the bytes `from` with `to` (same length) everywhere in `zip`: names a
/// well-behaved writer would not write (repeated, or not UTF-8).
fn patch_bytes(zip: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut replaced = 0;
    for at in 0..=zip.len() - from.len() {
        if &zip[at..at + from.len()] == from {
            zip[at..at + from.len()].copy_from_slice(to);
            replaced += 1;
        }
    }
    assert_eq!(replaced, 2, "expected one local and one central header");
}

/// Zips whose files would land differently depending on the tool or the file
/// system (which one of two `a.txt`? `A.txt` or `a.txt`? a CP437 or a UTF-8
/// name?) are refused, naming the entries, and nothing is written.
async fn ambiguous_zips_are_refused_naming_the_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    let md = skill_md("ambiguous", "Means two things.", "1", "Body");
    let refuse = |zip: Vec<u8>, what: &'static str, expected: String| {
        let app = &app;
        async move {
            let reply = upload(app, "/v1/skills", &app.platform_key, zip).await;
            reply.assert_error(400, "bad_request");
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(&expected),
                "{what}: '{message}' does not mention '{expected}'"
            );
            assert_nothing_written(app, what).await;
        }
    };

    let mut twice = zip(&[("SKILL.md", &md), ("a.txt", b"one"), ("b.txt", b"two")]);
    patch_bytes(&mut twice, b"b.txt", b"a.txt");
    refuse(twice, "one name twice", "two entries named 'a.txt'".into()).await;

    let mut skill_md_twice = zip(&[("SKILL.md", &md), ("SKILL.mx", b"---\nname: x\n")]);
    patch_bytes(&mut skill_md_twice, b"SKILL.mx", b"SKILL.md");
    refuse(
        skill_md_twice,
        "SKILL.md twice",
        "two entries named 'SKILL.md'".into(),
    )
    .await;

    refuse(
        zip(&[
            ("SKILL.md", &md),
            ("docs/A.txt", b"1"),
            ("docs/a.txt", b"2"),
        ]),
        "letter case",
        "'docs/A.txt' and 'docs/a.txt' are names that differ only in letter case".into(),
    )
    .await;
    refuse(
        zip(&[("SKILL.md", &md), ("skill.md", b"second manifest")]),
        "SKILL.md in another case",
        "differ only in letter case".into(),
    )
    .await;
    let (composed, decomposed) = ("caf\u{e9}.txt", "cafe\u{301}.txt");
    refuse(
        zip(&[("SKILL.md", &md), (composed, b"1"), (decomposed, b"2")]),
        "NFC and NFD",
        format!("'{decomposed}' (NFD) and '{composed}' (NFC) are the same name in two Unicode normal forms"),
    )
    .await;
    refuse(
        zip(&[("SKILL.md", &md), ("a", b"file"), ("a/b", b"in a folder")]),
        "a file and a folder",
        "'a' is a file and 'a/b' needs it to be a directory".into(),
    )
    .await;
    refuse(
        zip(&[
            ("SKILL.md", &md),
            ("Tools", b"file"),
            ("tools/run.sh", b"x"),
        ]),
        "a file and a folder in another case",
        "'Tools' is a file".into(),
    )
    .await;

    let mut cp437 = zip(&[("SKILL.md", &md), ("caf_.txt", b"x")]);
    patch_bytes(&mut cp437, b"caf_.txt", b"caf\x82.txt");
    refuse(cp437, "a CP437 name", "has a name that is not UTF-8".into()).await;

    let nul = skill_md("ambiguous", "Means two things.", "1", "Body\0hidden");
    refuse(
        zip(&[("SKILL.md", &nul)]),
        "NUL in SKILL.md",
        "SKILL.md: text must not contain NUL".into(),
    )
    .await;

    // The control: names that only look alike on paper are fine.
    let fine = zip(&[
        ("SKILL.md", &md),
        (composed, b"1"),
        ("docs/a.txt", b"2"),
        ("docs/a.txt.bak", b"3"),
        ("__MACOSX/._SKILL.md", b"clutter"),
    ]);
    let ok = upload(&app, "/v1/skills", &app.platform_key, fine).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    app.stop().await;
}

both_backends!(
    hostile_zips_are_refused_and_nothing_is_written,
    upload_requests_are_checked,
    ambiguous_zips_are_refused_naming_the_entry,
);

/// Sends `body` to `request_line` (`METHOD /path`) on a connection of its own,
/// whole, and returns what the gateway answers.
async fn raw_send(app: &TestApp, request_line: &str, content_type: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "{request_line} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.platform_key,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    stream.write_all(body).await.expect("body sent");
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the gateway answers")
    .expect("answer read");
    String::from_utf8_lossy(&answer).into_owned()
}
