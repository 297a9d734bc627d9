//! Serde helpers for partial updates (PATCH bodies), shared by every service.

/// For optional fields where `null` means "clear": absent → `None`, `null` →
/// `Some(None)`, a value → `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}
