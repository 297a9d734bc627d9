//! `SKILL.md`: YAML front matter (`name`, `description`, `version`) between `---`
//! lines, then the instructions. Other front-matter keys (`license`,
//! `allowed-tools`, ...) are kept in the file and ignored here.

use serde::Deserialize;

use crate::error::{Error, Result};

const MAX_FRONT_MATTER_BYTES: usize = 16 * 1024;
const MAX_NAME_CHARS: usize = 64;
const MAX_DESCRIPTION_CHARS: usize = 1024;
const MAX_VERSION_CHARS: usize = 64;
/// How much of the instructions the search index sees.
const MAX_INDEXED_BODY_BYTES: usize = 64 * 1024;

/// What the catalog keeps from a `SKILL.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    pub version: String,
    /// The instructions (possibly cut) for the search index.
    pub body: String,
}

#[derive(Deserialize)]
struct FrontMatter {
    name: Option<String>,
    description: Option<String>,
    version: Option<VersionField>,
}

/// `version: 2` (a YAML integer) is as good as `version: "2"`; anything else
/// (`1.0` is a float to YAML) must be quoted.
#[derive(Deserialize)]
#[serde(untagged)]
enum VersionField {
    Text(String),
    Integer(i64),
    Other(serde::de::IgnoredAny),
}

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("SKILL.md: {message}"))
}

/// `(front matter, body)` when `text` starts with a `---` fenced block.
fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// Whether `text` opens with front matter (a `---` line).
pub fn has_front_matter(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.starts_with("---\n") || text.starts_with("---\r\n")
}

/// The front matter of a published `SKILL.md` as a JSON object, every key the
/// author wrote (the Skills extension serves it verbatim). `None` when it does
/// not read as a YAML mapping with string keys (publishing checked only the
/// fields the catalog keeps).
pub fn front_matter_json(content: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let text = std::str::from_utf8(content).ok()?;
    let (front, _) = split(text)?;
    if front.len() > MAX_FRONT_MATTER_BYTES {
        return None;
    }
    serde_saphyr::from_str(front).ok()
}

/// Parses a `SKILL.md`; every problem is a 400 saying what to fix.
pub fn parse(content: &[u8]) -> Result<Manifest> {
    let text = std::str::from_utf8(content).map_err(|_| invalid("the file is not UTF-8 text"))?;
    let (front, body) = split(text).ok_or_else(|| {
        invalid(
            "it must start with YAML front matter between two '---' lines \
             (name, description, version)",
        )
    })?;
    if front.len() > MAX_FRONT_MATTER_BYTES {
        return Err(invalid(format!(
            "the front matter is over {MAX_FRONT_MATTER_BYTES} bytes"
        )));
    }
    let front: FrontMatter = serde_saphyr::from_str(front)
        .map_err(|e| invalid(format!("the front matter is not valid YAML: {e}")))?;
    let name = front
        .name
        .ok_or_else(|| invalid("the front matter has no 'name'"))?;
    let description = front
        .description
        .ok_or_else(|| invalid("the front matter has no 'description'"))?;
    let version = match front.version {
        None => return Err(invalid("the front matter has no 'version'")),
        Some(VersionField::Text(v)) => v,
        Some(VersionField::Integer(v)) => v.to_string(),
        Some(VersionField::Other(_)) => {
            return Err(invalid(
                "write 'version' as a string (version: \"1.0\"): YAML reads 1.0 as a number",
            ));
        }
    };
    Ok(Manifest {
        name: validate_name(&name)?,
        description: validate_description(&description)?,
        version: validate_version(&version)?,
        body: indexed_body(body),
    })
}

/// A name: 1-64 lowercase letters, digits and single hyphens (`pdf-tools`).
pub fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !ok {
        return Err(invalid(format!(
            "name '{}' must be 1-{MAX_NAME_CHARS} lowercase letters, digits and single \
             hyphens (e.g. pdf-tools)",
            name.chars().take(80).collect::<String>()
        )));
    }
    Ok(name.to_owned())
}

pub fn validate_description(description: &str) -> Result<String> {
    let description = description.trim();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid(format!(
            "description must be 1-{MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if description
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid("description must not contain control characters"));
    }
    Ok(description.to_owned())
}

/// A version: 1-64 of letters, digits, `.`, `-`, `+`, `_` (`1.2.0`, `2026-11-01`).
pub fn validate_version(version: &str) -> Result<String> {
    let version = version.trim();
    let ok = !version.is_empty()
        && version.len() <= MAX_VERSION_CHARS
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
    if !ok {
        return Err(invalid(format!(
            "version must be 1-{MAX_VERSION_CHARS} letters, digits, '.', '-', '+' or '_'"
        )));
    }
    Ok(version.to_owned())
}

fn indexed_body(body: &str) -> String {
    let body = body.trim_start_matches(['\r', '\n']);
    if body.len() <= MAX_INDEXED_BODY_BYTES {
        return body.to_owned();
    }
    let mut end = MAX_INDEXED_BODY_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_owned()
}

/// Front matter for a `SKILL.md` the gateway writes (values as YAML
/// double-quoted scalars, which JSON strings are).
pub fn render_front_matter(name: &str, description: &str, version: &str) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "---\nname: {}\ndescription: {}\nversion: {}\n---\n",
        quote(name),
        quote(description),
        quote(version)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_the_front_matter_and_the_body() {
        let text = "---\nname: pdf-tools\ndescription: Fill and merge PDFs.\nversion: 1.2.0\n\
                    license: MIT\nallowed-tools: [Bash]\n---\n\n# PDF tools\nRun it.\n";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.name, "pdf-tools");
        assert_eq!(m.description, "Fill and merge PDFs.");
        assert_eq!(m.version, "1.2.0");
        assert_eq!(m.body, "# PDF tools\nRun it.\n");
        let int = parse(b"---\nname: a\ndescription: b\nversion: 3\n---\n").unwrap();
        assert_eq!(int.version, "3");
    }

    #[test]
    fn malformed_manifests_say_what_is_wrong() {
        let cases: [(&[u8], &str); 8] = [
            (b"# no front matter", "front matter"),
            (
                b"---\nname: a\ndescription: b\nversion: '1'\n",
                "front matter",
            ),
            (b"---\nname: [unclosed\n---\n", "valid YAML"),
            (b"---\ndescription: b\nversion: '1'\n---\n", "'name'"),
            (b"---\nname: a\nversion: '1'\n---\n", "'description'"),
            (b"---\nname: a\ndescription: b\n---\n", "'version'"),
            (
                b"---\nname: Not A Slug\ndescription: b\nversion: '1'\n---\n",
                "lowercase",
            ),
            (
                b"---\nname: a\ndescription: b\nversion: 1.0\n---\n",
                "string",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::BadRequest);
            assert!(
                err.message().contains(expected),
                "{:?}: {}",
                String::from_utf8_lossy(text),
                err.message()
            );
        }
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn alias_bombs_in_the_front_matter_are_refused() {
        let mut yaml = String::from("---\nname: a\ndescription: b\nversion: '1'\nx0: &a0 [lol]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            yaml.push_str(&format!("x{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        yaml.push_str("---\n");
        assert!(parse(yaml.as_bytes()).is_err());
    }

    #[test]
    fn rendered_front_matter_parses_back() {
        let text = format!(
            "{}body",
            render_front_matter("x", "Says \"hi\": to: you\n", "1.0")
        );
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.description, "Says \"hi\": to: you");
        assert_eq!(m.version, "1.0");
    }
}
