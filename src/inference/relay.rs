//! A streamed answer relayed as SSE (`data: {chunk}` ... `data: [DONE]`), metered
//! as it goes. Each delivered chunk moves the reservation's meter to the cost of
//! the prompt and the output delivered so far (counted from the text: bytes / 4,
//! rounded up). Then:
//!
//! - the provider's usage arrives: settle at it (the usage chunk, when the client
//!   asked for one, carries the cost and the remaining budget);
//! - the provider dies mid-stream: settle what was delivered (marked estimated)
//!   and send an error event;
//! - the client goes away: the relay is dropped, and with it the reservation,
//!   whose drop settles what the meter says was delivered.
//!
//! Either way the TPM reservation is reconciled with the tokens used.

use std::collections::VecDeque;
use std::convert::Infallible;

use assistiv_llm::openai::{ChatCompletionChunk, Usage};
use assistiv_llm::{ChunkStream, ProviderError, StreamEvent};
use axum::body::Bytes;
use futures::{Stream, StreamExt};
use serde_json::json;

use super::charge;
use super::completion::{self, Admitted, Opened, provider_error, record_usage};
use super::routing::Candidate;
use crate::billing::Money;
use crate::billing::pipeline::{Charge, Meter, Reservation};
use crate::error::Error;
use crate::http::request_context;
use crate::ratelimit::{RateLimiter, TokenReservation};
use crate::state::AppState;

/// What a relayed stream comes to, item by item.
pub enum Relayed {
    /// A chunk of the answer (metered as delivered).
    Chunk(ChatCompletionChunk),
    /// The end: settled at `usage` (the provider's, or counted when `estimated`).
    Settled(Settled),
    /// The provider failed mid-stream; what was delivered is charged.
    Failed(Error),
}

/// A settled stream's usage and money.
pub struct Settled {
    pub usage: Usage,
    pub charged: Money,
    pub remaining: Option<Money>,
    pub estimated: bool,
}

pub struct Relay {
    limiter: RateLimiter,
    clock: crate::billing::SharedClock,
    reservation: Option<Reservation>,
    tokens: Option<TokenReservation>,
    meter: Meter,
    candidate: Candidate,
    markup_bps: u32,
    prompt_tokens: u64,
    delivered_bytes: u64,
    include_usage: bool,
    usage_chunk: Option<ChatCompletionChunk>,
    first: Option<StreamEvent>,
    upstream: ChunkStream,
    pending: VecDeque<Bytes>,
    request_id: String,
    done: bool,
}

impl Relay {
    /// Opens the stream (falling back before the first byte) and relays it; no
    /// provider answering releases the hold and is the error.
    pub async fn open(state: &AppState, admitted: Admitted) -> Result<Self, Error> {
        let opened = match completion::open_stream(&admitted).await {
            Ok(opened) => opened,
            Err(error) => {
                completion::release(state, admitted, &error).await;
                return Err(error);
            }
        };
        let include_usage = admitted.request.wants_stream_usage();
        let Admitted {
            markup_bps,
            estimate,
            mut reservation,
            tokens,
            ..
        } = admitted;
        let Opened {
            candidate,
            first,
            rest,
            ttft,
        } = opened;
        let prompt_tokens = estimate.prompt_tokens;
        record_usage(
            &mut reservation,
            &candidate,
            markup_bps,
            &Usage::new(prompt_tokens, 0),
            true,
        );
        reservation.usage_mut().ttft_ms = Some(i64::try_from(ttft.as_millis()).unwrap_or(i64::MAX));
        Ok(Self {
            limiter: state.limiter.clone(),
            clock: state.clock.clone(),
            meter: reservation.meter(),
            reservation: Some(reservation),
            tokens: Some(tokens),
            candidate,
            markup_bps,
            prompt_tokens,
            delivered_bytes: 0,
            include_usage,
            usage_chunk: None,
            first: Some(first),
            upstream: rest,
            pending: VecDeque::new(),
            request_id: request_context::current_request_id(),
            done: false,
        })
    }

    /// The provider kind that answers.
    pub fn provider(&self) -> &'static str {
        self.candidate.provider.kind.as_str()
    }

    /// The SSE body.
    pub fn into_body(self) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
        futures::stream::unfold(self, |mut relay| async move {
            relay.next_frame().await.map(|frame| (Ok(frame), relay))
        })
    }

    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            match self.next_relayed().await? {
                Relayed::Chunk(chunk) => return Some(frame(&chunk)),
                Relayed::Settled(settled) => {
                    if self.include_usage {
                        let mut chunk = self.usage_chunk.take().unwrap_or_else(|| {
                            ChatCompletionChunk::usage_only(
                                &assistiv_llm::openai::ChunkMeta {
                                    id: String::new(),
                                    created: 0,
                                    model: self.candidate.model.clone(),
                                },
                                settled.usage.clone(),
                            )
                        });
                        chunk.extra.insert(
                            "assistiv".into(),
                            cost_report(settled.charged, settled.remaining, settled.estimated),
                        );
                        self.pending.push_back(frame(&chunk));
                    }
                    self.pending
                        .push_back(Bytes::from_static(b"data: [DONE]\n\n"));
                }
                Relayed::Failed(error) => {
                    let event = json!({
                        "error": {
                            "message": error.message(),
                            "type": error.error_type(),
                            "code": error.code(),
                            "param": null,
                        },
                        "request_id": self.request_id,
                    });
                    self.pending
                        .push_back(Bytes::from(format!("data: {event}\n\n")));
                }
            }
        }
    }

    /// The next thing the stream comes to: a chunk to deliver (already metered),
    /// then its end, settled: at the provider's usage, or, cut by the provider,
    /// at what was delivered. `None` after the end.
    pub async fn next_relayed(&mut self) -> Option<Relayed> {
        loop {
            if self.done {
                return None;
            }
            let item = match self.first.take() {
                Some(first) => Some(Ok(first)),
                None => self.upstream.next().await,
            };
            match item {
                Some(Ok(StreamEvent::Chunk(chunk))) => {
                    if chunk.choices.is_empty() && chunk.usage.is_some() {
                        // Sent after the settlement, with the cost.
                        self.usage_chunk = Some(chunk);
                        continue;
                    }
                    self.count(&chunk);
                    return Some(Relayed::Chunk(chunk));
                }
                Some(Ok(StreamEvent::Usage(usage))) => {
                    return Some(Relayed::Settled(self.settle(usage, false).await));
                }
                Some(Err(error)) => return Some(Relayed::Failed(self.fail(&error).await)),
                None => {
                    let usage = self.counted();
                    return Some(Relayed::Settled(self.settle(usage, true).await));
                }
            }
        }
    }

    fn counted(&self) -> Usage {
        charge::counted_usage(self.prompt_tokens, self.delivered_bytes)
    }

    /// Moves the meter to what has been delivered.
    fn count(&mut self, chunk: &ChatCompletionChunk) {
        let mut bytes = 0usize;
        for choice in &chunk.choices {
            let delta = &choice.delta;
            bytes += delta.content.as_ref().map_or(0, String::len);
            bytes += delta.refusal.as_ref().map_or(0, String::len);
            for call in delta.tool_calls.iter().flatten() {
                if let Some(function) = &call.function {
                    bytes += function.arguments.as_ref().map_or(0, String::len);
                }
            }
        }
        if bytes == 0 {
            return;
        }
        self.delivered_bytes = self.delivered_bytes.saturating_add(bytes as u64);
        let usage = self.counted();
        self.meter
            .set(charge::cost(&usage, &self.candidate.price, self.markup_bps));
        if let Some(reservation) = &mut self.reservation {
            record_usage(reservation, &self.candidate, self.markup_bps, &usage, true);
        }
    }

    async fn settle(&mut self, usage: Usage, estimated: bool) -> Settled {
        self.done = true;
        let Some(mut reservation) = self.reservation.take() else {
            return Settled {
                usage,
                charged: Money::ZERO,
                remaining: None,
                estimated,
            };
        };
        record_usage(
            &mut reservation,
            &self.candidate,
            self.markup_bps,
            &usage,
            estimated,
        );
        let cost = charge::cost(&usage, &self.candidate.price, self.markup_bps);
        let (charged, remaining) = completion::settle(reservation, Charge::Bill(cost)).await;
        self.reconcile(usage.total_tokens).await;
        Settled {
            usage,
            charged,
            remaining,
            estimated,
        }
    }

    /// The provider failed after the first byte: charge what was delivered and
    /// tell the client in the stream (the SDKs raise on an `error` event).
    async fn fail(&mut self, error: &ProviderError) -> Error {
        self.done = true;
        let usage = self.counted();
        if let Some(mut reservation) = self.reservation.take() {
            record_usage(
                &mut reservation,
                &self.candidate,
                self.markup_bps,
                &usage,
                true,
            );
            let charge = Charge::Fail {
                charge: self.meter.consumed(),
                code: "upstream_error",
            };
            completion::settle(reservation, charge).await;
        }
        self.reconcile(usage.total_tokens).await;
        provider_error(error)
    }

    async fn reconcile(&mut self, used: u64) {
        if let Some(tokens) = self.tokens.take() {
            self.limiter.reconcile(tokens, used, self.clock.now()).await;
        }
    }
}

impl Drop for Relay {
    /// The client went away: the reservation's own drop settles the meter; the
    /// tokens delivered so far go back to the TPM bucket's books here.
    fn drop(&mut self) {
        let Some(tokens) = self.tokens.take() else {
            return;
        };
        let used = self.counted().total_tokens;
        let (limiter, now) = (self.limiter.clone(), self.clock.now());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { limiter.reconcile(tokens, used, now).await });
        }
    }
}

/// What the final usage chunk adds: the cost and the remaining budget.
pub fn cost_report(charged: Money, remaining: Option<Money>, estimated: bool) -> serde_json::Value {
    json!({
        "cost_usd": charged,
        "budget_remaining_usd": remaining,
        "usage_estimated": estimated,
    })
}

fn frame(chunk: &ChatCompletionChunk) -> Bytes {
    match serde_json::to_string(chunk) {
        Ok(text) => Bytes::from(format!("data: {text}\n\n")),
        Err(_) => Bytes::new(),
    }
}
