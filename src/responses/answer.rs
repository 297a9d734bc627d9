//! One model turn's answer, through the inference plane's money path: whole
//! (`completion::complete`) for a non-streamed response, or streamed through
//! the metered relay, its text reported to the client delta by delta as the
//! provider sends it. Either way the turn is settled before this returns.

use std::collections::BTreeMap;

use assistiv_llm::openai::{FinishReason, ToolCall, Usage};
use assistiv_llm::responses::Item;
use assistiv_llm::responses::items::{MessageItem, Part, new_id};

use super::report::Reporter;
use crate::billing::Money;
use crate::error::Error;
use crate::inference::completion::{self, Admitted, Answered};
use crate::inference::relay::{Relay, Relayed};
use crate::state::AppState;

/// What a model turn answered and cost.
pub struct TurnAnswer {
    pub text: String,
    pub refusal: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Option<FinishReason>,
    pub usage: Option<Usage>,
    pub charged: Money,
    pub remaining: Option<Money>,
    /// The message item already reported as it streamed (its text whole).
    pub streamed_message: Option<Item>,
}

/// Runs the admitted turn. `index` is where a streamed message would go in
/// the output.
pub async fn answer(
    state: &AppState,
    mut admitted: Admitted,
    reporter: &mut Reporter,
    index: usize,
) -> Result<TurnAnswer, Error> {
    if !reporter.is_streaming() {
        let Answered {
            body,
            charged,
            remaining,
            ..
        } = completion::complete(state, admitted).await?;
        let usage = body.usage;
        let Some(choice) = body.choices.into_iter().next() else {
            return Err(Error::upstream("the model answered no choice"));
        };
        return Ok(TurnAnswer {
            text: choice.message.content.unwrap_or_default(),
            refusal: choice.message.refusal,
            tool_calls: choice.message.tool_calls.unwrap_or_default(),
            finish: choice.finish_reason,
            usage,
            charged,
            remaining,
            streamed_message: None,
        });
    }
    admitted.request.stream = Some(true);
    let mut relay = Relay::open(state, admitted).await?;
    let mut turn = TurnAnswer {
        text: String::new(),
        refusal: None,
        tool_calls: Vec::new(),
        finish: None,
        usage: None,
        charged: Money::ZERO,
        remaining: None,
        streamed_message: None,
    };
    let mut message_id: Option<String> = None;
    let mut calls: BTreeMap<u32, ToolCall> = BTreeMap::new();
    while let Some(relayed) = relay.next_relayed().await {
        match relayed {
            Relayed::Chunk(chunk) => {
                for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
                    let delta = choice.delta;
                    if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                        let id = message_id.get_or_insert_with(|| {
                            let id = new_id("msg");
                            let mut started = MessageItem::assistant_text(String::new());
                            started.id = Some(id.clone());
                            reporter.message_started(index, &Item::Message(started));
                            id
                        });
                        reporter.text_delta(index, id, &text);
                        turn.text.push_str(&text);
                    }
                    if let Some(refusal) = delta.refusal {
                        turn.refusal
                            .get_or_insert_with(String::new)
                            .push_str(&refusal);
                    }
                    for call in delta.tool_calls.into_iter().flatten() {
                        let entry = calls
                            .entry(call.index)
                            .or_insert_with(|| ToolCall::function("", "", String::new()));
                        if let Some(id) = call.id {
                            entry.id = id;
                        }
                        if let Some(function) = call.function {
                            if let Some(name) = function.name {
                                entry.function.name.push_str(&name);
                            }
                            if let Some(arguments) = function.arguments {
                                entry.function.arguments.push_str(&arguments);
                            }
                        }
                    }
                    if choice.finish_reason.is_some() {
                        turn.finish = choice.finish_reason;
                    }
                }
            }
            Relayed::Settled(settled) => {
                turn.usage = Some(settled.usage);
                turn.charged = settled.charged;
                turn.remaining = settled.remaining;
            }
            Relayed::Failed(error) => return Err(error),
        }
    }
    turn.tool_calls = calls
        .into_values()
        .map(|mut call| {
            if call.id.is_empty() {
                call.id = assistiv_llm::ids::tool_call_id();
            }
            call
        })
        .collect();
    if let Some(id) = message_id {
        let mut message = MessageItem::assistant_text(turn.text.clone());
        message.id = Some(id);
        if let Some(refusal) = turn.refusal.take() {
            message.content.push(Part::Refusal { refusal });
        }
        let item = Item::Message(message);
        reporter.message_finished(index, &item);
        turn.streamed_message = Some(item);
    }
    Ok(turn)
}
