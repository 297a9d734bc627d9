//! Zoho Mail ids (accounts, folders, messages): 64-bit numbers, beyond what a JSON
//! number keeps exactly in most clients (2^53), so the tools exchange them as strings of
//! digits and send them to Zoho as JSON integers, which serde writes exactly.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

/// A Zoho id: 1 to 19 decimal digits that fit in a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ZohoId(u64);

impl ZohoId {
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty() && raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| raw.parse().ok().map(Self)).flatten()
    }

    /// An id as Zoho answers it: a number, or a string of digits.
    pub(crate) fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Number(n) => n.as_u64().map(Self),
            Value::String(s) => Self::parse(s),
            _ => None,
        }
    }

    /// The decimal form, for URL path segments and tool output.
    pub(crate) fn segment(self) -> String {
        self.0.to_string()
    }
}

impl fmt::Display for ZohoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for ZohoId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a Zoho Mail id is a string of up to 19 digits, got {raw:?}"
            ))
        })
    }
}

/// Request bodies carry ids as JSON integers (Zoho documents them as longs).
impl Serialize for ZohoId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl JsonSchema for ZohoId {
    fn schema_name() -> Cow<'static, str> {
        "ZohoId".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let Value::Object(schema) = json!({"type": "string", "pattern": "^[0-9]{1,19}$"}) else {
            return Schema::from(Map::new());
        };
        Schema::from(schema)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_are_digits_that_fit_in_64_bits() {
        assert_eq!(
            ZohoId::parse("1709876190693100009").unwrap().segment(),
            "1709876190693100009"
        );
        for bad in ["", "-1", "1.5", "12a", "../1", "99999999999999999999", " 1"] {
            assert!(ZohoId::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            ZohoId::from_value(&json!(9000000000905_u64))
                .unwrap()
                .segment(),
            "9000000000905"
        );
        assert_eq!(
            serde_json::to_string(&ZohoId::parse("1781108289537154100").unwrap()).unwrap(),
            "1781108289537154100"
        );
        assert!(serde_json::from_value::<ZohoId>(json!(12)).is_err());
    }
}
