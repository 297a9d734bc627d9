//! Tool specs from argument types, and the small vocabulary the output schemas are
//! written in.

use assistiv_app_sdk::{ToolAnnotations, ToolSpec};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// A tool whose input schema is derived from its argument type `A` (the same type
/// `call` deserializes, so the schema and the parser cannot drift): JSON Schema draft
/// 2020-12, subschemas inlined, `additionalProperties: false` from
/// `#[serde(deny_unknown_fields)]`, field docs as descriptions. `output` is the JSON
/// Schema of the structured result.
pub(crate) fn tool<A: JsonSchema>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
    output: Value,
) -> ToolSpec {
    let mut input_schema = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<A>()
        .to_value();
    tidy(&mut input_schema);
    if let Some(schema) = input_schema.as_object_mut() {
        schema.remove("title"); // the Rust type's name
        // Some MCP clients and model APIs insist on `properties`, even when empty.
        schema
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    ToolSpec {
        name,
        title,
        description,
        input_schema,
        output_schema: Some(output),
        annotations,
    }
}

/// Makes a generated schema plainer for model APIs with partial JSON Schema support:
/// optional arguments are their plain type (`"string"`, not `["string", "null"]`; serde
/// still reads an explicit null as absent), and schemars' non-standard integer formats
/// (`uint32`, ...) are dropped (the bounds stay as `minimum`/`maximum`).
fn tidy(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get("type") {
                let mut kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                let plain = if kept.len() == 1 {
                    kept.remove(0)
                } else {
                    Value::Array(kept)
                };
                o.insert("type".into(), plain);
            }
            if let Some(Value::Array(values)) = o.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            let int_format = o
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("int") || f.starts_with("uint"));
            if int_format {
                o.remove("format");
            }
            o.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// An object schema: `required` keys are always present, the others when known.
pub(crate) fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

pub(crate) fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

pub(crate) fn string() -> Value {
    json!({"type": "string"})
}

pub(crate) fn boolean() -> Value {
    json!({"type": "boolean"})
}

pub(crate) fn integer() -> Value {
    json!({"type": "integer"})
}

/// A string enum for arguments: serde names, JSON Schema `enum`, `as_str` for queries.
macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
        pub(crate) enum $name {
            $(#[serde(rename = $s)] $variant),+
        }

        impl $name {
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;
