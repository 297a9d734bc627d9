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
