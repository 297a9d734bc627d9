//! Gemini `GenerateContentResponse` → `chat.completion`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ids::{completion_id, tool_call_id, unix_now};
use crate::openai::{
    AssistantMessage, ChatCompletion, Choice, CompletionTokensDetails, FinishReason,
    PromptTokensDetails, ToolCall, Usage,
};

/// A `generateContent` answer (and each event of a stream).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub model_version: Option<String>,
    #[serde(default)]
    pub response_id: Option<String>,
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
}

/// One candidate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default)]
    pub content: Option<Content>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// A candidate's content.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Content {
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// A part: text (a thought summary when `thought`), or a function call.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thought: Option<bool>,
    #[serde(default)]
    pub function_call: Option<FunctionCall>,
    /// Gemini 3 signs function calls; the signature must come back with the
    /// call on the next turn, so it travels inside the tool call's id.
    #[serde(default)]
    pub thought_signature: Option<String>,
}

/// Marks a tool-call id that carries a Gemini thought signature:
/// `call_<hex>_ts_<signature>`.
const SIGNATURE_MARK: &str = "_ts_";

/// A tool-call id for a Gemini function call, carrying its signature.
pub fn signed_call_id(signature: Option<&str>) -> String {
    match signature {
        Some(signature) if !signature.is_empty() => {
            let id = tool_call_id();
            let short = id.get(..13).unwrap_or(&id);
            format!("{short}{SIGNATURE_MARK}{signature}")
        }
        _ => tool_call_id(),
    }
}

/// The thought signature a tool-call id carries, if it came from Gemini.
pub fn signature_of_call_id(id: &str) -> Option<&str> {
    id.strip_prefix("call_")?
        .split_once(SIGNATURE_MARK)
        .map(|(_, signature)| signature)
        .filter(|signature| !signature.is_empty())
}

/// A function call the model made (whole: Gemini does not split arguments).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    #[serde(default)]
    pub args: Option<Value>,
    #[serde(default)]
    pub id: Option<String>,
}

/// Why the prompt was blocked, if it was.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// Gemini usage: `promptTokenCount` includes the cached tokens; thoughts
/// are billed as output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
}

impl UsageMetadata {
    /// OpenAI usage: prompt = prompt + tool-use prompt, completion =
    /// candidates + thoughts (reported as `reasoning_tokens`).
    pub fn to_openai(&self) -> Usage {
        let prompt = self
            .prompt_token_count
            .saturating_add(self.tool_use_prompt_token_count);
        let completion = self
            .candidates_token_count
            .saturating_add(self.thoughts_token_count);
        let mut usage = Usage::new(prompt, completion);
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(self.cached_content_token_count),
            cache_write_tokens: None,
            extra: Map::new(),
        });
        if self.thoughts_token_count > 0 {
            usage.completion_tokens_details = Some(CompletionTokensDetails {
                reasoning_tokens: Some(self.thoughts_token_count),
                extra: Map::new(),
            });
        }
        usage
    }
}

/// Maps a finish reason; a stop with function calls is `tool_calls`.
pub fn finish_reason(reason: &str, has_tool_calls: bool) -> Option<FinishReason> {
    Some(match reason {
        "FINISH_REASON_UNSPECIFIED" => return None,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "LANGUAGE" => FinishReason::ContentFilter,
        _ if has_tool_calls => FinishReason::ToolCalls,
        // STOP, MALFORMED_FUNCTION_CALL, OTHER and any newer reason.
        _ => FinishReason::Stop,
    })
}

/// The visible text and the function calls of a candidate's parts
/// (thought summaries skipped). Calls get fresh `call_...` ids unless
/// Gemini gave one.
pub fn split_parts(parts: &[Part]) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        if part.thought == Some(true) {
            continue;
        }
        if let Some(part_text) = &part.text {
            text.push_str(part_text);
        }
        if let Some(call) = &part.function_call {
            let arguments = call
                .args
                .clone()
                .unwrap_or_else(|| Value::Object(Map::new()))
                .to_string();
            let id = match &call.id {
                Some(id) if part.thought_signature.is_none() => id.clone(),
                _ => signed_call_id(part.thought_signature.as_deref()),
            };
            calls.push(ToolCall::function(id, call.name.clone(), arguments));
        }
    }
    (text, calls)
}

/// Translates a `generateContent` answer; `model` is the requested model
/// (used when Gemini reports no `modelVersion`).
pub fn to_chat_completion(response: GenerateContentResponse, model: &str) -> ChatCompletion {
    let candidate = response.candidates.into_iter().next();
    let (text, tool_calls, finish) = match candidate {
        Some(candidate) => {
            let parts = candidate
                .content
                .map(|content| content.parts)
                .unwrap_or_default();
            let (text, calls) = split_parts(&parts);
            let finish = candidate
                .finish_reason
                .as_deref()
                .and_then(|reason| finish_reason(reason, !calls.is_empty()));
            (text, calls, finish)
        }
        // No candidate: the prompt itself was blocked.
        None => (String::new(), Vec::new(), Some(FinishReason::ContentFilter)),
    };
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    ChatCompletion {
        id: response
            .response_id
            .map(|id| format!("chatcmpl-{id}"))
            .unwrap_or_else(completion_id),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: response.model_version.unwrap_or_else(|| model.to_owned()),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage::new(content, tool_calls),
            finish_reason: finish,
            logprobs: None,
        }],
        usage: Some(response.usage_metadata.unwrap_or_default().to_openai()),
        system_fingerprint: None,
        extra: Map::new(),
    }
}
