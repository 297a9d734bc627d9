//! Tool specs from argument types and the output-schema vocabulary, from the SDK.

pub(crate) use assistiv_app_sdk::schema::tool_spec_with_output as tool;
pub(crate) use assistiv_app_sdk::schema::{array, boolean, integer, object, string};
pub(crate) use assistiv_app_sdk::str_enum;
