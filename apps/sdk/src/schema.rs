//! Input schemas derived from argument types (feature `schema`): the type a tool's
//! handler deserializes is the one its JSON Schema comes from, so they cannot drift.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::{ToolAnnotations, ToolSpec};

/// A tool whose input schema is derived from its argument type `A`: JSON Schema draft
/// 2020-12, subschemas inlined, `additionalProperties: false` from
/// `#[serde(deny_unknown_fields)]`, field docs as descriptions, optional fields as their
/// plain type.
pub fn tool_spec<A: JsonSchema>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
) -> ToolSpec {
    let mut input_schema = schema_for::<A>();
    if let Some(schema) = input_schema.as_object_mut() {
        // Some MCP clients and model APIs insist on `properties`, even when empty.
        schema
            .entry("properties")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    ToolSpec {
        name,
        title,
        description,
        input_schema,
        output_schema: None,
        annotations,
    }
}

/// [`tool_spec`] whose structured output is described by `output_schema`.
pub fn tool_spec_with_output<A: JsonSchema>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
    output_schema: Value,
) -> ToolSpec {
    ToolSpec {
        output_schema: Some(output_schema),
        ..tool_spec::<A>(name, title, description, annotations)
    }
}

/// The JSON Schema (draft 2020-12, subschemas inlined, without the Rust type's name as
/// `title`) of `T`, made plainer by [`tidy`]: for argument types and for output types
/// whose `None` fields are left out.
pub fn schema_for<T: JsonSchema>() -> Value {
    let mut schema = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    tidy(&mut schema);
    if let Some(schema) = schema.as_object_mut() {
        schema.remove("title"); // the Rust type's name
    }
    schema
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

// The small vocabulary hand-written output schemas are built from.

/// An object schema: `required` keys are always present, the others when known.
pub fn object(required: &[&str], properties: Value) -> Value {
    serde_json::json!({"type": "object", "required": required, "properties": properties})
}

pub fn array(items: Value) -> Value {
    serde_json::json!({"type": "array", "items": items})
}

pub fn string() -> Value {
    serde_json::json!({"type": "string"})
}

pub fn boolean() -> Value {
    serde_json::json!({"type": "boolean"})
}

pub fn integer() -> Value {
    serde_json::json!({"type": "integer"})
}

/// A string enum for arguments: serde names, JSON Schema `enum`, `as_str` for queries,
/// `Display`. The calling crate depends on `serde` (derive) and `schemars`.
#[macro_export]
macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Deserialize, ::serde::Serialize, ::schemars::JsonSchema)]
        pub(crate) enum $name {
            $(#[serde(rename = $s)] $variant),+
        }

        impl $name {
            #[allow(dead_code)]
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
