//! `GET /v1/models` (either key kind), `GET /v1/models/{model}` and
//! `POST /v1/chat/completions` (end-user keys). OpenAI's shapes exactly, errors
//! included (`http::openai_error`), so the official SDKs work unmodified. The
//! cost and the remaining budget ride on headers: `x-assistiv-cost-usd`,
//! `x-assistiv-budget-remaining-usd` (streams: `x-assistiv-hold-usd` up front,
//! the cost in the final usage chunk).

use assistiv_llm::openai::ModelObject;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::charge::usd_text;
use super::completion::{self, Answered, Caller as Payer};
use super::relay::Relay;
use crate::auth::{Caller, KeyKind};
use crate::billing::Money;
use crate::error::Error;
use crate::http::extract::{ApiPath, refuse_nul_in_json};
use crate::http::openai_error::OpenAiError;
use crate::http::request_context;
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

pub const COST_HEADER: HeaderName = HeaderName::from_static("x-assistiv-cost-usd");
pub const REMAINING_HEADER: HeaderName = HeaderName::from_static("x-assistiv-budget-remaining-usd");
pub const HOLD_HEADER: HeaderName = HeaderName::from_static("x-assistiv-hold-usd");
pub const PROVIDER_HEADER: HeaderName = HeaderName::from_static("x-assistiv-provider");

/// `GET /v1/models`, as OpenAI answers it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ModelList {
    /// Always `list`.
    object: &'static str,
    data: Vec<ModelObject>,
}

/// A chat completion request, in OpenAI's shape, documented by its principal
/// fields; the other fields of OpenAI's Chat Completions API are accepted as
/// OpenAI documents them.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ChatCompletionRequest {
    /// A model `GET /v1/models` lists.
    pub model: String,
    /// The conversation: `{"role": "system" | "user" | "assistant" | "tool", "content": ...}`.
    pub messages: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Answer as server-sent events (`text/event-stream`), metered chunk by chunk.
    pub stream: Option<bool>,
}

/// The documented inference routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(models, model, chat_completions))]
pub struct Api;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get(Audience::AnyKey, "/v1/models", models),
        Route::get(Audience::AnyKey, "/v1/models/{*model}", model),
        Route::post(Audience::EndUser, "/v1/chat/completions", chat_completions),
    ]
}

#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "inference",
    security(("platform_key" = []), ("end_user_key" = [])),
    responses((status = 200, description = "The models this platform's providers serve", body = ModelList), crate::openapi::errors::OpenAiErrors),
)]
async fn models(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
) -> Result<Response, OpenAiError> {
    let Caller(ctx) = caller?;
    let routes = state.inference.routes(&state.db, ctx.platform_id).await?;
    Ok(Json(ModelList {
        object: "list",
        data: routes.model_list(),
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/v1/models/{model}",
    tag = "inference",
    params(("model" = String, Path, description = "The model id (may contain `/`)")),
    security(("platform_key" = []), ("end_user_key" = [])),
    responses((status = 200, description = "The model", body = ModelObject), crate::openapi::errors::OpenAiErrors),
)]
async fn model(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    path: Result<ApiPath<String>, Error>,
) -> Result<Response, OpenAiError> {
    let Caller(ctx) = caller?;
    let ApiPath(id) = path?;
    let routes = state.inference.routes(&state.db, ctx.platform_id).await?;
    routes
        .model_list()
        .into_iter()
        .find(|m| m.id == id)
        .map(|m| Json(m).into_response())
        .ok_or_else(|| {
            OpenAiError(
                Error::not_found(format!("the model '{id}' is not enabled on this platform"))
                    .with_code("model_not_found"),
            )
        })
}

/// Sets a USD money header (`x-assistiv-cost-usd`, ...).
pub(crate) fn money_header(response: &mut Response, name: HeaderName, money: Money) {
    if let Ok(value) = HeaderValue::from_str(&usd_text(money)) {
        response.headers_mut().insert(name, value);
    }
}

/// An error answered in OpenAI's shape, costing nothing.
fn refused(error: Error) -> Response {
    let mut response = OpenAiError(error).into_response();
    money_header(&mut response, COST_HEADER, Money::ZERO);
    response
}

#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    tag = "inference",
    request_body = ChatCompletionRequest,
    security(("end_user_key" = [])),
    responses(
        (status = 200, description = "OpenAI's chat completion object (or, with `stream`, its chunks as server-sent events); the cost in `x-assistiv-cost-usd`",
            content(
                (Object = "application/json"),
                (String = "text/event-stream"),
            ),
            headers(
                ("x-assistiv-cost-usd" = String, description = "What this call cost, USD"),
                ("x-assistiv-provider" = String, description = "The provider that answered"),
            ),
        ),
        (status = 402, description = "Refused on money: `budget_exceeded`, `wallet_insufficient`, ...", body = crate::openapi::errors::OpenAiErrorEnvelope),
        (status = 413, description = "The body is larger than the gateway accepts", body = crate::openapi::errors::OpenAiErrorEnvelope),
        (status = 502, description = "Every provider failed before the first byte", body = crate::openapi::errors::OpenAiErrorEnvelope),
        (status = 503, description = "No provider is available", body = crate::openapi::errors::OpenAiErrorEnvelope),
        crate::openapi::errors::OpenAiErrors,
    ),
)]
async fn chat_completions(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match chat(&state, caller, body).await {
        Ok(response) => response,
        Err(error) => refused(error),
    }
}

async fn chat(
    state: &AppState,
    caller: Result<Caller, Error>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let Caller(ctx) = caller?;
    let end_user_id = match (ctx.kind, ctx.end_user_id) {
        (KeyKind::EndUser, Some(id)) => id,
        _ => {
            return Err(completion::platform_key_refused(
                "chat completions",
                ctx.platform_id,
            ));
        }
    };
    let payer = Payer {
        platform_id: ctx.platform_id,
        end_user_id,
        request_id: request_context::current_request_id(),
    };
    let parsed = body.map_err(Error::from).and_then(|body| {
        refuse_nul_in_json(&body)?;
        serde_json::from_slice::<assistiv_llm::openai::ChatRequest>(&body)
            .map_err(|e| Error::bad_request(format!("invalid chat completion request: {e}")))
    });
    let request = match parsed {
        Ok(request) => request,
        Err(error) => {
            completion::log_refused(state, &payer, None, &error);
            return Err(error);
        }
    };
    // Admission, the call and its settlement run in their own task: a client
    // that leaves while they run cannot cut them between the hold (and the TPM
    // tokens) and their settlement; what it leaves behind settles on drop.
    let work = {
        let state = state.clone();
        tokio::spawn(async move {
            let stream = request.is_stream();
            let admitted = completion::admit(&state, &payer, request).await?;
            if stream {
                let hold = admitted.hold;
                Relay::open(&state, admitted)
                    .await
                    .map(|relay| Work::Stream(Box::new(relay), hold))
            } else {
                completion::complete(&state, admitted)
                    .await
                    .map(|answered| Work::Whole(Box::new(answered)))
            }
        })
    };
    let done = work
        .await
        .unwrap_or_else(|err| Err(Error::internal(format_args!("completion task: {err}"))))?;
    let answered = match done {
        Work::Stream(relay, hold) => return Ok(stream_answer(*relay, hold)),
        Work::Whole(answered) => *answered,
    };
    let Answered {
        body,
        provider,
        charged,
        remaining,
        usage_estimated,
    } = answered;
    let mut response = Json(body).into_response();
    money_header(&mut response, COST_HEADER, charged);
    if let Some(remaining) = remaining {
        money_header(&mut response, REMAINING_HEADER, remaining);
    }
    let headers = response.headers_mut();
    headers.insert(PROVIDER_HEADER, HeaderValue::from_static(provider));
    if usage_estimated {
        headers.insert(
            HeaderName::from_static("x-assistiv-usage-estimated"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// What an admitted completion came to.
enum Work {
    Stream(Box<Relay>, Money),
    Whole(Box<Answered>),
}

fn stream_answer(relay: Relay, hold: Money) -> Response {
    let provider = relay.provider();
    let mut response = Response::new(Body::from_stream(relay.into_body()));
    money_header(&mut response, HOLD_HEADER, hold);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(PROVIDER_HEADER, HeaderValue::from_static(provider));
    response
}
