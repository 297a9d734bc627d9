//! Values that arrive from outside, parsed once into types that cannot be invalid.

pub mod nul;
pub mod paging;
pub mod patch;

use serde_json::Value;

use crate::error::Error;

fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn bounded_text(field: &str, value: String, max_chars: usize) -> Result<String, Error> {
    let len = value.chars().count();
    if len == 0 || value.trim().is_empty() {
        return Err(Error::bad_request(format!("{field} must not be empty")));
    }
    if len > max_chars {
        return Err(Error::bad_request(format!(
            "{field} is too long: at most {max_chars} characters"
        )));
    }
    if has_control_chars(&value) {
        return Err(Error::bad_request(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(value)
}

/// The platform's own identifier for an end user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(value: String) -> Result<Self, Error> {
        bounded_text("external_id", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A human-readable name (of an end user, a key, a platform).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, value: String) -> Result<Self, Error> {
        bounded_text(field, value, Self::MAX_CHARS).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A platform's unique slug: lowercase letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformName(String);

impl PlatformName {
    pub fn parse(value: String) -> Result<Self, Error> {
        let valid = (1..=63).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-');
        if !valid {
            return Err(Error::bad_request(
                "name must be 1-63 lowercase letters, digits or hyphens, not starting with a hyphen",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Opaque JSON the platform keeps on an end user: an object of bounded size.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata(Value);

impl Metadata {
    pub const MAX_BYTES: usize = 16 * 1024;

    pub fn parse(value: Value) -> Result<Self, Error> {
        if !value.is_object() {
            return Err(Error::bad_request("metadata must be a JSON object"));
        }
        if value.to_string().len() > Self::MAX_BYTES {
            return Err(Error::bad_request(format!(
                "metadata is too large: at most {} bytes",
                Self::MAX_BYTES
            )));
        }
        Ok(Self(value))
    }

    pub fn empty() -> Self {
        Self(Value::Object(Default::default()))
    }

    pub fn into_inner(self) -> Value {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_bounded_and_printable() {
        assert!(ExternalId::parse("user-42".into()).is_ok());
        assert!(ExternalId::parse("".into()).is_err());
        assert!(ExternalId::parse("  ".into()).is_err());
        assert!(ExternalId::parse("a\u{0}b".into()).is_err());
        assert!(ExternalId::parse("x".repeat(256)).is_err());
        assert!(ExternalId::parse("é".repeat(255)).is_ok());
    }

    #[test]
    fn platform_names_are_slugs() {
        assert!(PlatformName::parse("acme-2".into()).is_ok());
        assert!(PlatformName::parse("Acme".into()).is_err());
        assert!(PlatformName::parse("-acme".into()).is_err());
        assert!(PlatformName::parse("a".repeat(64)).is_err());
    }

    #[test]
    fn metadata_is_a_bounded_object() {
        assert!(Metadata::parse(serde_json::json!({"plan": "pro"})).is_ok());
        assert!(Metadata::parse(serde_json::json!([1])).is_err());
        assert!(Metadata::parse(serde_json::json!({"x": "y".repeat(20_000)})).is_err());
    }
}
