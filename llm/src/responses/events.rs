//! The Responses event stream: each event a JSON object with its `type` and
//! a `sequence_number` that grows by one, as SSE `event: <type>` +
//! `data: <json>` frames. [`Events`] numbers them and knows, for each output
//! item, the events that tell a client about it as it is added, filled and done.

use serde_json::{Value, json};

use super::items::{Item, Part};
use super::response::ResponseObject;

/// Numbers events and renders them as SSE frames.
#[derive(Debug, Default)]
pub struct Events {
    next: u64,
}

impl Events {
    /// One SSE frame of `event` (an object with `type`), numbered.
    pub fn frame(&mut self, mut event: Value) -> String {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned();
        if let Value::Object(map) = &mut event {
            map.insert("sequence_number".to_owned(), Value::from(self.next));
        }
        self.next += 1;
        format!("event: {kind}\ndata: {event}\n\n")
    }

    /// `response.created` / `response.in_progress` / `response.completed` ...
    pub fn lifecycle(&mut self, kind: &str, response: &ResponseObject) -> String {
        self.frame(json!({"type": kind, "response": response}))
    }

    /// Every event of one output item at `index`, added to done: for a message
    /// its text part and the text as `delta_chunks` deltas; for a function or
    /// MCP call its arguments; for an MCP call its progress and outcome.
    pub fn item(&mut self, index: usize, item: &Item, delta_chunks: &[&str]) -> Vec<String> {
        let item_id = item.id().unwrap_or_default().to_owned();
        if let Item::Message(message) = item {
            let mut frames = self.message_added(index, item);
            for (content_index, part) in message.content.iter().enumerate() {
                let text = part_text(part);
                let chunks: Vec<&str> = if delta_chunks.is_empty() {
                    vec![text]
                } else {
                    delta_chunks.to_vec()
                };
                for delta in chunks.into_iter().filter(|d| !d.is_empty()) {
                    frames.push(self.delta(index, &item_id, content_index, part, delta));
                }
            }
            frames.extend(self.message_done(index, item));
            return frames;
        }
        let mut frames = vec![self.frame(
            json!({"type": "response.output_item.added", "output_index": index, "item": in_progress(item)}),
        )];
        match item {
            Item::Message(_) => {}
            Item::FunctionCall(call) => {
                frames.push(self.frame(json!({
                    "type": "response.function_call_arguments.delta", "item_id": item_id,
                    "output_index": index, "delta": call.arguments
                })));
                frames.push(self.frame(json!({
                    "type": "response.function_call_arguments.done", "item_id": item_id,
                    "output_index": index, "arguments": call.arguments, "name": call.name
                })));
            }
            Item::McpListTools(_) => {
                frames.push(self.frame(json!({
                    "type": "response.mcp_list_tools.in_progress", "item_id": item_id, "output_index": index
                })));
                frames.push(self.frame(json!({
                    "type": "response.mcp_list_tools.completed", "item_id": item_id, "output_index": index
                })));
            }
            Item::McpCall(call) => {
                frames.push(self.frame(json!({
                    "type": "response.mcp_call_arguments.delta", "item_id": item_id,
                    "output_index": index, "delta": call.arguments
                })));
                frames.push(self.frame(json!({
                    "type": "response.mcp_call_arguments.done", "item_id": item_id,
                    "output_index": index, "arguments": call.arguments
                })));
                frames.push(self.frame(json!({
                    "type": "response.mcp_call.in_progress", "item_id": item_id, "output_index": index
                })));
                let outcome = if call.error.is_some() {
                    "response.mcp_call.failed"
                } else {
                    "response.mcp_call.completed"
                };
                frames.push(
                    self.frame(json!({"type": outcome, "item_id": item_id, "output_index": index})),
                );
            }
            Item::McpApprovalRequest(_)
            | Item::FunctionCallOutput(_)
            | Item::McpApprovalResponse(_) => {}
        }
        frames.push(self.frame(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        ));
        frames
    }

    /// A message item starts: `output_item.added` (no content yet) and
    /// `content_part.added` for each of its parts, empty.
    pub fn message_added(&mut self, index: usize, item: &Item) -> Vec<String> {
        let mut frames = vec![self.frame(
            json!({"type": "response.output_item.added", "output_index": index, "item": in_progress(item)}),
        )];
        if let Item::Message(message) = item {
            let item_id = item.id().unwrap_or_default();
            for (content_index, part) in message.content.iter().enumerate() {
                let empty = match part {
                    Part::Refusal { .. } => json!({"type": "refusal", "refusal": ""}),
                    _ => json!({"type": "output_text", "text": "", "annotations": []}),
                };
                frames.push(self.frame(json!({
                    "type": "response.content_part.added", "item_id": item_id,
                    "output_index": index, "content_index": content_index, "part": empty
                })));
            }
        }
        frames
    }

    /// A piece of a message part's text (or refusal).
    pub fn delta(
        &mut self,
        index: usize,
        item_id: &str,
        content_index: usize,
        part: &Part,
        delta: &str,
    ) -> String {
        let kind = match part {
            Part::Refusal { .. } => "response.refusal.delta",
            _ => "response.output_text.delta",
        };
        self.frame(json!({
            "type": kind, "item_id": item_id, "output_index": index,
            "content_index": content_index, "delta": delta, "logprobs": []
        }))
    }

    /// A message item is whole: each part's `done`, then the item's.
    pub fn message_done(&mut self, index: usize, item: &Item) -> Vec<String> {
        let mut frames = Vec::new();
        if let Item::Message(message) = item {
            let item_id = item.id().unwrap_or_default();
            for (content_index, part) in message.content.iter().enumerate() {
                let done = match part {
                    Part::Refusal { refusal } => json!({
                        "type": "response.refusal.done", "item_id": item_id, "output_index": index,
                        "content_index": content_index, "refusal": refusal}),
                    _ => json!({
                        "type": "response.output_text.done", "item_id": item_id, "output_index": index,
                        "content_index": content_index, "text": part_text(part), "logprobs": []}),
                };
                frames.push(self.frame(done));
                frames.push(self.frame(json!({
                    "type": "response.content_part.done", "item_id": item_id,
                    "output_index": index, "content_index": content_index, "part": part
                })));
            }
        }
        frames.push(self.frame(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        ));
        frames
    }

    /// An `error` event (the stream ends after it).
    pub fn error(&mut self, code: &str, message: &str) -> String {
        self.frame(json!({"type": "error", "code": code, "message": message, "param": null}))
    }
}

fn part_text(part: &Part) -> &str {
    match part {
        Part::InputText { text } | Part::OutputText { text, .. } => text,
        Part::Refusal { refusal } => refusal,
        Part::InputImage { .. } => "",
    }
}

/// The item as `output_item.added` shows it: not yet filled.
fn in_progress(item: &Item) -> Value {
    let mut value = serde_json::to_value(item).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        match item {
            Item::Message(_) => {
                map.insert("content".to_owned(), json!([]));
                map.insert("status".to_owned(), json!("in_progress"));
            }
            Item::FunctionCall(_) => {
                map.insert("arguments".to_owned(), json!(""));
                map.insert("status".to_owned(), json!("in_progress"));
            }
            Item::McpCall(_) => {
                map.insert("arguments".to_owned(), json!(""));
                map.insert("output".to_owned(), Value::Null);
                map.insert("error".to_owned(), Value::Null);
                map.insert("status".to_owned(), json!("in_progress"));
            }
            Item::McpListTools(_) => {
                map.insert("tools".to_owned(), json!([]));
            }
            _ => {}
        }
    }
    value
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::responses::items::MessageItem;

    fn data(frame: &str) -> Value {
        let line = frame.lines().find(|l| l.starts_with("data: ")).unwrap();
        serde_json::from_str(&line["data: ".len()..]).unwrap()
    }

    #[test]
    fn a_message_streams_as_added_deltas_done_with_growing_numbers() {
        let mut events = Events::default();
        let item = Item::Message(MessageItem::assistant_text("Hello there".into()));
        let frames = events.item(0, &item, &["Hello", " there"]);
        let kinds: Vec<String> = frames
            .iter()
            .map(|f| data(f)["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done"
            ]
        );
        let numbers: Vec<u64> = frames
            .iter()
            .map(|f| data(f)["sequence_number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, (0..7).collect::<Vec<_>>());
        assert!(frames[0].starts_with("event: response.output_item.added\n"));
        assert_eq!(data(&frames[4])["text"], "Hello there");
    }
}
