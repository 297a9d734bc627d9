//! One response, turn by turn: each model turn is a chat completion through
//! the inference plane's money path (TPM, hold, providers with fallback,
//! settlement, one usage row); between turns the hosted MCP calls the model
//! made run through the tool pipeline as the end user. The loop stops when
//! the model answers, calls a client function, or asks for a call that needs
//! the user's approval; the last allowed turn is told to use no tools.

use assistiv_llm::openai::{
    ChatRequest, FinishReason, ResponseFormat, Tool as ChatTool, ToolChoice, ToolChoiceMode,
};
use assistiv_llm::responses::chat;
use assistiv_llm::responses::items::{
    FunctionCallItem, McpApprovalRequestItem, MessageItem, Part, new_id,
};
use assistiv_llm::responses::response::ResponseError;
use assistiv_llm::responses::{Item, ResponseObject, ResponseUsage};
use serde_json::json;

use super::Responses;
use super::answer::{self, TurnAnswer};
use super::hosted::Hosted;
use super::report::Reporter;
use crate::billing::Money;
use crate::error::Error;
use crate::inference::completion::{self, Admitted, Caller as Payer};
use crate::state::AppState;

/// Everything decided before the first model turn.
pub struct Plan {
    pub response: ResponseObject,
    pub payer: Payer,
    pub hosted: Hosted,
    /// The client's function tools and the hosted ones, as the model sees them.
    pub tools: Vec<ChatTool>,
    pub tool_choice: Option<ToolChoice>,
    pub response_format: Option<ResponseFormat>,
    pub instructions: Option<String>,
    /// The conversation before this request, then this request's input.
    pub prior: Vec<Item>,
    pub input: Vec<Item>,
    /// Approved calls to run before the first turn.
    pub approved: Vec<McpApprovalRequestItem>,
    pub max_turns: u32,
    pub max_tool_calls: Option<u32>,
}

/// What a response came to.
pub struct Finished {
    pub response: ResponseObject,
    pub charged: Money,
    pub remaining: Option<Money>,
    /// The conversation before this request, and this request's input.
    pub prior: Vec<Item>,
    pub input: Vec<Item>,
}

impl Plan {
    /// The chat request of the next turn over everything so far.
    pub fn chat_request(
        &self,
        output: &[Item],
        offer_tools: bool,
        first_turn: bool,
    ) -> ChatRequest {
        let conversation: Vec<Item> = self
            .prior
            .iter()
            .chain(&self.input)
            .chain(output)
            .cloned()
            .collect();
        let r = &self.response;
        let has_tools = !self.tools.is_empty();
        let tool_choice = match (has_tools, offer_tools, first_turn) {
            (false, _, _) => None,
            (true, false, _) => Some(ToolChoice::Mode(ToolChoiceMode::None)),
            (true, true, true) => self.tool_choice.clone(),
            (true, true, false) => None,
        };
        let mut request = ChatRequest {
            model: r.model.clone(),
            messages: chat::messages(self.instructions.as_deref(), &conversation),
            tools: None,
            tool_choice: None,
            parallel_tool_calls: None,
            response_format: None,
            max_tokens: None,
            max_completion_tokens: None,
            temperature: None,
            top_p: None,
            stop: None,
            seed: None,
            user: None,
            metadata: None,
            n: None,
            stream: None,
            stream_options: None,
            extra: serde_json::Map::new(),
        };
        request.tools = has_tools.then(|| self.tools.clone());
        request.tool_choice = tool_choice;
        request.parallel_tool_calls = if has_tools && offer_tools {
            Some(r.parallel_tool_calls)
        } else {
            None
        };
        request.response_format = self.response_format.clone();
        request.max_completion_tokens = r.max_output_tokens;
        request.temperature = r.temperature;
        request.top_p = r.top_p;
        request.user = r.user.clone();
        request
    }
}

/// Runs the plan from its admitted first turn to the end. An `Err` is a
/// failure before anything was produced (the caller answers it as an HTTP
/// error); a later failure ends the response as `failed`.
pub async fn run(
    state: &AppState,
    service: &Responses,
    mut plan: Plan,
    first: Admitted,
    reporter: &mut Reporter,
) -> Result<Finished, Error> {
    let mut output: Vec<Item> = Vec::new();
    let mut usage = ResponseUsage::default();
    let mut charged = Money::ZERO;
    let mut remaining = None;
    let listed_before: Vec<Item> = plan.prior.iter().chain(&plan.input).cloned().collect();
    for item in plan.hosted.listings(&listed_before) {
        push(&mut output, item, reporter);
    }
    for request in std::mem::take(&mut plan.approved) {
        if let Some(server) = plan.hosted.server(&request.server_label) {
            let call = server
                .call(
                    service.tools(),
                    &request.name,
                    &request.arguments,
                    Some(request.id.clone()),
                )
                .await;
            push(&mut output, Item::McpCall(call), reporter);
        }
    }
    let mut first = Some(first);
    let mut calls_run: u32 = 0;
    let mut turn: u32 = 0;
    let status = loop {
        let offer_tools =
            turn + 1 < plan.max_turns && plan.max_tool_calls.is_none_or(|max| calls_run < max);
        let request = plan.chat_request(&output, offer_tools, turn == 0);
        let admitted = match first.take() {
            Some(mut admitted) => {
                admitted.request = request;
                Ok(admitted)
            }
            None => completion::admit(state, &plan.payer, request).await,
        };
        let answered = match admitted {
            Ok(admitted) => answer::answer(state, admitted, reporter, output.len()).await,
            Err(error) => Err(error),
        };
        let turn_answer = match answered {
            Ok(answered) => answered,
            Err(error) if output.is_empty() => return Err(error),
            Err(error) => break Outcome::Failed(error),
        };
        charged = charged.checked_add(turn_answer.charged).unwrap_or(charged);
        remaining = turn_answer.remaining.or(remaining);
        if let Some(turn_usage) = &turn_answer.usage {
            usage.add(turn_usage);
        }
        let TurnAnswer {
            text,
            refusal,
            tool_calls,
            finish,
            streamed_message,
            ..
        } = turn_answer;
        if let Some(message) = streamed_message {
            output.push(message);
        } else if let Some(refusal) = refusal.filter(|r| !r.is_empty()) {
            let mut item = MessageItem::assistant_text(String::new());
            item.content = vec![Part::Refusal { refusal }];
            push(&mut output, Item::Message(item), reporter);
        } else if !text.is_empty() || tool_calls.is_empty() {
            push(
                &mut output,
                Item::Message(MessageItem::assistant_text(text)),
                reporter,
            );
        }
        let mut waits = false;
        let mut ran = 0;
        let mut skipped = false;
        for call in tool_calls {
            let name = call.function.name;
            let arguments = call.function.arguments;
            match plan.hosted.find(&name) {
                Some((server, _)) if !offer_tools => {
                    // The last turn was told to use no tools; a call now is not run.
                    tracing::info!(server = %server.label, tool = %name, "tool call past the turn limit not run");
                    skipped = true;
                }
                Some((server, tool)) if server.needs_approval(tool) => {
                    let item = Item::McpApprovalRequest(McpApprovalRequestItem {
                        id: new_id("mcpr"),
                        server_label: server.label.clone(),
                        name,
                        arguments,
                    });
                    push(&mut output, item, reporter);
                    waits = true;
                }
                Some((server, _)) => {
                    let item = server.call(service.tools(), &name, &arguments, None).await;
                    push(&mut output, Item::McpCall(item), reporter);
                    ran += 1;
                }
                None => {
                    let item = Item::FunctionCall(FunctionCallItem {
                        id: Some(new_id("fc")),
                        call_id: call.id,
                        name,
                        arguments,
                        status: Some("completed".to_owned()),
                    });
                    push(&mut output, item, reporter);
                    waits = true;
                }
            }
        }
        if finish == Some(FinishReason::Length) {
            break Outcome::Incomplete("max_output_tokens");
        }
        if finish == Some(FinishReason::ContentFilter) {
            break Outcome::Incomplete("content_filter");
        }
        if skipped {
            break Outcome::Incomplete("max_turns");
        }
        if waits || ran == 0 {
            break Outcome::Completed;
        }
        calls_run += ran;
        turn += 1;
    };
    let Plan {
        mut response,
        prior,
        input,
        ..
    } = plan;
    response.output = output;
    response.usage = Some(usage);
    match status {
        Outcome::Completed => {
            response.status = "completed".to_owned();
            response.completed_at = Some(assistiv_llm::ids::unix_now());
        }
        Outcome::Incomplete(reason) => {
            response.status = "incomplete".to_owned();
            response.incomplete_details = Some(json!({"reason": reason}));
        }
        Outcome::Failed(error) => {
            response.status = "failed".to_owned();
            response.error = Some(failure(&error));
        }
    }
    Ok(Finished {
        response,
        charged,
        remaining,
        prior,
        input,
    })
}

/// A failed response's `error`: the error's stable code and message.
pub fn failure(error: &Error) -> ResponseError {
    ResponseError {
        code: error.code().to_owned(),
        message: error.message().to_owned(),
    }
}

enum Outcome {
    Completed,
    Incomplete(&'static str),
    Failed(Error),
}

fn push(output: &mut Vec<Item>, item: Item, reporter: &mut Reporter) {
    reporter.item(output.len(), &item);
    output.push(item);
}
