//! The provider clients over real HTTP against the stand-ins: translation
//! accepted by the provider-side validation, answers translated back,
//! streams, injected failures and what they mean for fallback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assistiv_llm::openai::{ChatRequest, FinishReason, Usage};
use assistiv_llm::stand_in::{StandIn, StandInKind};
use assistiv_llm::{
    ChunkStream, Provider, ProviderConfig, ProviderError, ProviderKind, StreamEvent,
};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};

const KEY: &str = "sk-test-stand-in-key-0123456789";

fn stand_in_kind(kind: ProviderKind) -> StandInKind {
    match kind {
        ProviderKind::Anthropic => StandInKind::Anthropic,
        ProviderKind::Google => StandInKind::Gemini,
        _ => StandInKind::OpenAi,
    }
}

async fn setup(kind: ProviderKind) -> (StandIn, Provider) {
    let stand_in = StandIn::start(stand_in_kind(kind), KEY).await.unwrap();
    let provider = Provider::new(
        ProviderConfig::new(kind, SecretString::from(KEY)).with_base_url(stand_in.base_url()),
    )
    .unwrap();
    (stand_in, provider)
}

fn model_for(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Anthropic => "claude-sonnet-4-6",
        ProviderKind::Google => "gemini-2.0-flash",
        ProviderKind::Xai => "grok-2",
        _ => "gpt-4o-mini",
    }
}

fn chat(kind: ProviderKind, body: Value) -> ChatRequest {
    let mut request: ChatRequest = serde_json::from_value(body).unwrap();
    request.model = model_for(kind).into();
    request
}

fn fixture_request(kind: ProviderKind, name: &str) -> ChatRequest {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/requests")
        .join(name);
    let text: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    chat(kind, serde_json::from_str(&text).unwrap())
}

const TRANSLATED: [ProviderKind; 3] = [
    ProviderKind::OpenAi,
    ProviderKind::Anthropic,
    ProviderKind::Google,
];

/// A stream's text, tool calls (name, reassembled arguments), finish reason,
/// usage event and error.
#[derive(Debug, Default)]
struct Collected {
    text: String,
    calls: Vec<(String, String, String)>,
    finish: Option<FinishReason>,
    usage_chunk: Option<Usage>,
    usage: Option<Usage>,
    error: Option<ProviderError>,
}

async fn collect(mut stream: ChunkStream) -> Collected {
    let mut collected = Collected::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Chunk(chunk)) => {
                if let Some(usage) = chunk.usage {
                    collected.usage_chunk = Some(usage);
                }
                for choice in chunk.choices {
                    collected
                        .text
                        .push_str(choice.delta.content.as_deref().unwrap_or(""));
                    for call in choice.delta.tool_calls.into_iter().flatten() {
                        let index = call.index as usize;
                        if collected.calls.len() <= index {
                            collected.calls.resize(index + 1, Default::default());
                        }
                        let entry = &mut collected.calls[index];
                        if let Some(id) = call.id {
                            entry.0 = id;
                        }
                        if let Some(function) = call.function {
                            entry.1.push_str(function.name.as_deref().unwrap_or(""));
                            entry
                                .2
                                .push_str(function.arguments.as_deref().unwrap_or(""));
                        }
                    }
                    if choice.finish_reason.is_some() {
                        collected.finish = choice.finish_reason;
                    }
                }
            }
            Ok(StreamEvent::Usage(usage)) => collected.usage = Some(usage),
            Err(error) => collected.error = Some(error),
        }
    }
    collected
}

#[tokio::test]
async fn every_provider_echoes_and_reports_usage() {
    for kind in TRANSLATED {
        let (stand_in, provider) = setup(kind).await;
        let request = chat(
            kind,
            json!({"model": "x", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Say hi to Tokyo"}
            ]}),
        );
        let completion = provider.complete(&request).await.unwrap();
        let message = &completion.response.choices[0].message;
        assert_eq!(
            message.content.as_deref(),
            Some("Say hi to Tokyo"),
            "{kind}"
        );
        assert_eq!(
            completion.response.choices[0].finish_reason,
            Some(FinishReason::Stop)
        );
        assert!(!completion.usage_estimated);
        assert_eq!(completion.usage.completion_tokens, 4, "{kind}");
        assert!(completion.usage.prompt_tokens > 0);
        let recorded = stand_in.last_request().unwrap();
        match kind {
            ProviderKind::Anthropic => {
                assert_eq!(recorded.header("x-api-key"), Some(KEY));
                assert_eq!(recorded.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(recorded.body["max_tokens"], 4096);
            }
            ProviderKind::Google => {
                assert_eq!(recorded.header("x-goog-api-key"), Some(KEY));
                assert_eq!(
                    recorded.path,
                    "/v1beta/models/gemini-2.0-flash:generateContent"
                );
            }
            _ => assert_eq!(
                recorded.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            ),
        }
    }
}

#[tokio::test]
async fn every_provider_streams_text_with_the_usage_chunk_only_when_asked() {
    for kind in TRANSLATED {
        for wants_usage in [true, false] {
            let (stand_in, provider) = setup(kind).await;
            let request = chat(
                kind,
                json!({"model": "x", "stream": true,
                "stream_options": {"include_usage": wants_usage},
                "messages": [{"role": "user", "content": "one two three"}]}),
            );
            let collected = collect(provider.stream(&request).await.unwrap()).await;
            assert_eq!(collected.text, "one two three", "{kind}");
            assert_eq!(collected.finish, Some(FinishReason::Stop), "{kind}");
            assert!(collected.error.is_none(), "{kind}: {:?}", collected.error);
            let usage = collected.usage.expect("the usage event always comes");
            assert_eq!(usage.completion_tokens, 4, "{kind}");
            assert_eq!(collected.usage_chunk.is_some(), wants_usage, "{kind}");
            if kind == ProviderKind::OpenAi {
                // Upstream is always asked for usage.
                let body = stand_in.last_request().unwrap().body;
                assert_eq!(body["stream_options"]["include_usage"], true);
            }
            if kind == ProviderKind::Google {
                assert!(
                    stand_in
                        .last_request()
                        .unwrap()
                        .path
                        .ends_with(":streamGenerateContent?alt=sse")
                );
            }
        }
    }
}

#[tokio::test]
async fn tool_calls_come_back_whole_and_the_conversation_continues() {
    for kind in TRANSLATED {
        let (_stand_in, provider) = setup(kind).await;
        let tools = json!([{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
        let mut request = chat(
            kind,
            json!({"model": "x", "tools": tools,
            "messages": [{"role": "user", "content": "Paris"}]}),
        );
        let completion = provider.complete(&request).await.unwrap();
        let choice = &completion.response.choices[0];
        assert_eq!(
            choice.finish_reason,
            Some(FinishReason::ToolCalls),
            "{kind}"
        );
        let call = choice.message.tool_calls.as_ref().unwrap()[0].clone();
        assert_eq!(call.function.name, "get_weather");
        assert_eq!(
            serde_json::from_str::<Value>(&call.function.arguments).unwrap(),
            json!({"city": "Paris"})
        );

        request.stream = Some(true);
        let collected = collect(provider.stream(&request).await.unwrap()).await;
        assert_eq!(collected.finish, Some(FinishReason::ToolCalls), "{kind}");
        assert_eq!(collected.calls.len(), 1);
        assert_eq!(collected.calls[0].1, "get_weather");
        assert_eq!(
            serde_json::from_str::<Value>(&collected.calls[0].2).unwrap(),
            json!({"city": "Paris"})
        );
        assert!(!collected.calls[0].0.is_empty());

        // Second turn: the tool result goes back; the provider accepts the
        // pairing and answers with text.
        let mut follow_up = serde_json::to_value(&request).unwrap();
        follow_up["stream"] = json!(false);
        follow_up["messages"].as_array_mut().unwrap().extend([
            json!({"role": "assistant", "content": null, "tool_calls": [call]}),
            json!({"role": "tool", "tool_call_id": call.id, "content": "sunny"}),
        ]);
        let follow_up: ChatRequest = serde_json::from_value(follow_up).unwrap();
        let answer = provider.complete(&follow_up).await.unwrap();
        assert_eq!(
            answer.response.choices[0].message.content.as_deref(),
            Some("Paris"),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn the_multi_turn_fixture_passes_provider_validation() {
    for kind in TRANSLATED {
        let (_stand_in, provider) = setup(kind).await;
        let request = fixture_request(kind, "multi_turn_tools.json");
        let collected = collect(provider.stream(&request).await.unwrap()).await;
        assert!(collected.error.is_none(), "{kind}: {:?}", collected.error);
        // Tools are given and the last message is the user's, so the model calls one.
        assert_eq!(collected.finish, Some(FinishReason::ToolCalls), "{kind}");
    }
}

#[tokio::test]
async fn structured_output_answers_json_matching_the_schema() {
    for kind in TRANSLATED {
        let (_stand_in, provider) = setup(kind).await;
        let request = fixture_request(kind, "structured_output.json");
        let completion = provider.complete(&request).await.unwrap();
        let content = completion.response.choices[0]
            .message
            .content
            .clone()
            .unwrap();
        let parsed: Value = serde_json::from_str(&content).unwrap();
        assert!(
            parsed["name"].is_string() && parsed["participants"].is_array(),
            "{kind}: {parsed}"
        );
    }
}

#[tokio::test]
async fn failures_before_the_first_byte_say_whether_to_fall_back() {
    for kind in TRANSLATED {
        let (stand_in, provider) = setup(kind).await;
        let request = chat(
            kind,
            json!({"model": "x", "messages": [{"role": "user", "content": "hi"}]}),
        );
        for (status, retryable) in [(500, true), (429, true), (503, true), (401, false)] {
            stand_in.fail_next(1, status);
            let error = provider.complete(&request).await.unwrap_err();
            assert_eq!(error.upstream_status(), Some(status), "{kind}");
            assert_eq!(error.is_retryable(), retryable, "{kind} {status}");
            assert!(!error.to_string().contains(KEY));
            stand_in.fail_next(1, status);
            let error = provider.stream(&request).await.err().unwrap();
            assert_eq!(error.is_retryable(), retryable, "{kind} {status} stream");
        }
        assert!(provider.complete(&request).await.is_ok(), "{kind} recovers");
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_never_echoed() {
    for kind in TRANSLATED {
        let stand_in = StandIn::start(stand_in_kind(kind), KEY).await.unwrap();
        let wrong = "sk-wrong-key-9876543210";
        let provider = Provider::new(
            ProviderConfig::new(kind, SecretString::from(wrong)).with_base_url(stand_in.base_url()),
        )
        .unwrap();
        let request = chat(
            kind,
            json!({"model": "x", "messages": [{"role": "user", "content": "hi"}]}),
        );
        let error = provider.complete(&request).await.unwrap_err();
        assert!(!error.is_retryable(), "{kind}: {error}");
        assert!(!error.to_string().contains(wrong) && !format!("{error:?}").contains(wrong));
        assert!(
            !format!("{provider:?}").contains(wrong),
            "Debug never shows the key"
        );
    }
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_an_error_item_and_no_usage() {
    for kind in TRANSLATED {
        let (stand_in, provider) = setup(kind).await;
        stand_in.die_after_events(Some(2));
        let request = chat(
            kind,
            json!({"model": "x", "stream": true,
            "messages": [{"role": "user", "content": "a b c d e f g"}]}),
        );
        let collected = collect(provider.stream(&request).await.unwrap()).await;
        let error = collected.error.expect("the cut is an item of the stream");
        assert!(
            matches!(error, ProviderError::Connect { .. }),
            "{kind}: {error:?}"
        );
        assert!(collected.usage.is_none(), "{kind}");
        assert!(collected.finish.is_none(), "{kind}");
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_a_retryable_connect_error() {
    for kind in TRANSLATED {
        let base_url = {
            let (stand_in, _) = setup(kind).await;
            stand_in.base_url()
        };
        // The stand-in is gone: nothing listens there any more.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let provider = Provider::new(
            ProviderConfig::new(kind, SecretString::from(KEY)).with_base_url(base_url),
        )
        .unwrap();
        let request = chat(
            kind,
            json!({"model": "x", "messages": [{"role": "user", "content": "hi"}]}),
        );
        let error = provider.complete(&request).await.unwrap_err();
        assert!(
            matches!(error, ProviderError::Connect { .. }),
            "{kind}: {error:?}"
        );
        assert!(error.is_retryable());
    }
}

#[tokio::test]
async fn openai_passthrough_forwards_unknown_fields_unchanged() {
    for kind in [
        ProviderKind::OpenAi,
        ProviderKind::Xai,
        ProviderKind::OpenAiCompatible,
    ] {
        let (stand_in, provider) = setup(kind).await;
        let request = chat(
            kind,
            json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
            "logit_bias": {"50256": -100}, "reasoning_effort": "low", "store": true,
            "metadata": {"team": "a"}, "user": "user-42", "seed": 7, "n": 1}),
        );
        provider.complete(&request).await.unwrap();
        let body = stand_in.last_request().unwrap().body;
        for field in [
            "logit_bias",
            "reasoning_effort",
            "store",
            "metadata",
            "user",
            "seed",
            "n",
        ] {
            assert_eq!(
                body[field],
                serde_json::to_value(&request).unwrap()[field],
                "{kind} {field}"
            );
        }
        assert!(body.get("stream_options").is_none());
    }
}

#[tokio::test]
async fn the_mock_answers_without_http() {
    let provider = Provider::new(ProviderConfig::new(
        ProviderKind::Mock,
        SecretString::from(""),
    ))
    .unwrap();
    let mut request: ChatRequest = serde_json::from_value(json!({"model": "mock-fast",
        "messages": [{"role": "user", "content": "hello mock world"}],
        "stream_options": {"include_usage": true}}))
    .unwrap();
    let completion = provider.complete(&request).await.unwrap();
    assert_eq!(
        completion.response.choices[0].message.content.as_deref(),
        Some("hello mock world")
    );
    assert_eq!(completion.usage.completion_tokens, 4);
    request.stream = Some(true);
    let collected = collect(provider.stream(&request).await.unwrap()).await;
    assert_eq!(collected.text, "hello mock world");
    assert_eq!(collected.usage_chunk, collected.usage);
    request.model = "gpt-4o".into();
    assert_eq!(
        provider
            .complete(&request)
            .await
            .unwrap_err()
            .upstream_status(),
        Some(404)
    );
}

#[tokio::test]
async fn a_stream_idle_longer_than_the_idle_timeout_ends_with_a_timeout_item() {
    for kind in TRANSLATED {
        let stand_in = StandIn::start(stand_in_kind(kind), KEY).await.unwrap();
        // Each event comes 600 ms after the previous; the client waits 100 ms.
        stand_in.set_chunk_delay(std::time::Duration::from_millis(600));
        let config = ProviderConfig {
            timeouts: assistiv_llm::Timeouts {
                idle: std::time::Duration::from_millis(100),
                ..assistiv_llm::Timeouts::default()
            },
            ..ProviderConfig::new(kind, SecretString::from(KEY)).with_base_url(stand_in.base_url())
        };
        let provider = Provider::new(config).unwrap();
        let request = chat(
            kind,
            json!({"model": "x", "stream": true,
            "messages": [{"role": "user", "content": "slow"}]}),
        );
        let collected = collect(provider.stream(&request).await.unwrap()).await;
        assert!(
            matches!(collected.error, Some(ProviderError::Timeout { .. })),
            "{kind}: {:?}",
            collected.error
        );
    }
}

#[tokio::test]
async fn a_whole_answer_slower_than_the_idle_timeout_still_arrives() {
    // The idle timeout is for gaps inside a stream; a non-streamed answer
    // that takes a while (a long generation) has the request timeout only.
    for kind in TRANSLATED {
        let stand_in = StandIn::start(stand_in_kind(kind), KEY).await.unwrap();
        stand_in.set_chunk_delay(std::time::Duration::from_millis(400));
        let config = ProviderConfig {
            timeouts: assistiv_llm::Timeouts {
                idle: std::time::Duration::from_millis(100),
                ..assistiv_llm::Timeouts::default()
            },
            ..ProviderConfig::new(kind, SecretString::from(KEY)).with_base_url(stand_in.base_url())
        };
        let provider = Provider::new(config).unwrap();
        let request = chat(
            kind,
            json!({"model": "x", "messages": [{"role": "user", "content": "think long"}]}),
        );
        let completion = provider.complete(&request).await;
        assert!(completion.is_ok(), "{kind}: {:?}", completion.err());
    }
}

#[tokio::test]
async fn the_openai_stand_in_lists_models_to_the_right_key_only() {
    let stand_in = StandIn::start(StandInKind::OpenAi, KEY).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/models", stand_in.base_url());
    let list: Value = http
        .get(&url)
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["object"], "list");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|model| model["id"] == "gpt-4o-mini")
    );
    let refused = http.get(&url).bearer_auth("sk-other").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(stand_in.request_count(), 2);
}
