//! `POST /v1/responses`, `GET` / `DELETE /v1/responses/{id}` and
//! `GET /v1/responses/{id}/input_items`, end-user keys only, in OpenAI's
//! shapes (errors included, `http::openai_error`). The run happens in its own
//! task: a client that leaves cannot cut a turn's settlement in half, and a
//! stored response is readable as soon as the answer (or `response.completed`)
//! reaches the client.

use assistiv_llm::responses::items as llm_items;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::Responses;
use super::plan::{self, Requester};
use super::report::Reporter;
use super::store;
use super::stored::{Owner, Stored, not_found};
use super::turns::{self, Finished, Plan};
use crate::auth::cache::AuthContext;
use crate::auth::{Caller, KeyKind};
use crate::billing::Money;
use crate::error::Error;
use crate::http::extract::{ApiPath, ApiQuery, refuse_nul_in_json};
use crate::http::openai_error::OpenAiError;
use crate::http::routes::{Audience, Route};
use crate::inference::completion;
use crate::inference::routes::{COST_HEADER, HOLD_HEADER, REMAINING_HEADER, money_header};
use crate::state::AppState;

/// `DELETE /v1/responses/{id}`, as OpenAI answers it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ResponseDeleted)]
pub struct Deleted {
    id: String,
    /// Always `response`.
    object: &'static str,
    deleted: bool,
}

/// A page of a stored response's input items, as OpenAI answers it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemPage<'a> {
    /// Always `list`.
    object: &'static str,
    /// Input items in OpenAI's shapes (`message`, `function_call_output`, ...).
    #[schema(value_type = Vec<Object>)]
    data: Vec<&'a llm_items::Item>,
    first_id: Option<&'a str>,
    last_id: Option<&'a str>,
    has_more: bool,
}

/// The documented Responses API routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, retrieve, delete, input_items))]
pub struct Api;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post(Audience::EndUser, "/v1/responses", create),
        Route::get(Audience::EndUser, "/v1/responses/{id}", retrieve),
        Route::delete(Audience::EndUser, "/v1/responses/{id}", delete),
        Route::get(
            Audience::EndUser,
            "/v1/responses/{id}/input_items",
            input_items,
        ),
    ]
}

/// The end user behind an `sk-eu_*` key; a platform key is 403.
fn end_user(caller: Result<Caller, Error>) -> Result<(AuthContext, Owner), Error> {
    let Caller(key) = caller?;
    match (key.kind, key.end_user_id) {
        (KeyKind::EndUser, Some(end_user_id)) => {
            let owner = Owner {
                platform_id: key.platform_id,
                end_user_id,
            };
            Ok((key, owner))
        }
        _ => Err(completion::platform_key_refused(
            "responses",
            key.platform_id,
        )),
    }
}

#[utoipa::path(
    post,
    path = "/v1/responses",
    tag = "inference",
    request_body(content = Object, description = "OpenAI's Responses API request: `model`, `input`, optional `tools` (function tools and hosted `mcp` tools of this gateway's `/mcp` paths), `previous_response_id`, `stream`, ..."),
    security(("end_user_key" = [])),
    responses(
        (status = 200, description = "OpenAI's Response object (or, with `stream`, its events as server-sent events); the cost in `x-assistiv-cost-usd`",
            content(
                (Object = "application/json"),
                (String = "text/event-stream"),
            ),
            headers(("x-assistiv-cost-usd" = String, description = "What the turns cost, USD")),
        ),
        (status = 402, description = "Refused on money: `budget_exceeded`, `wallet_insufficient`, ...", body = crate::openapi::errors::OpenAiErrorEnvelope),
        (status = 413, description = "The body is larger than the gateway accepts", body = crate::openapi::errors::OpenAiErrorEnvelope),
        (status = 502, description = "Every provider failed before the first byte", body = crate::openapi::errors::OpenAiErrorEnvelope),
        (status = 503, description = "No provider is available", body = crate::openapi::errors::OpenAiErrorEnvelope),
        crate::openapi::errors::OpenAiErrors,
    ),
)]
async fn create(
    State(state): State<AppState>,
    Extension(service): Extension<Responses>,
    caller: Result<Caller, Error>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match start(&state, &service, caller, &headers, body).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = OpenAiError(error).into_response();
            money_header(&mut response, COST_HEADER, Money::ZERO);
            response
        }
    }
}

async fn start(
    state: &AppState,
    service: &Responses,
    caller: Result<Caller, Error>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let (key, owner) = end_user(caller)?;
    let response_id = plan::response_id();
    let payer = completion::Caller {
        platform_id: owner.platform_id,
        end_user_id: owner.end_user_id,
        request_id: response_id.clone(),
    };
    let parsed = body.map_err(Error::from).and_then(|body| {
        refuse_nul_in_json(&body)?;
        assistiv_llm::responses::CreateResponse::parse(&body).map_err(Error::bad_request)
    });
    let request = match parsed {
        Ok(request) => request,
        Err(error) => {
            completion::log_refused(state, &payer, None, &error);
            return Err(error);
        }
    };
    let stream = request.is_stream();
    let model = request.model.clone();
    let requester = Requester {
        key: &key,
        end_user_id: owner.end_user_id,
        host: headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok()),
    };
    let plan = match plan::plan(state, service, &requester, response_id, request).await {
        Ok(plan) => plan,
        Err(error) => {
            completion::log_refused(state, &payer, Some(&model), &error);
            return Err(error);
        }
    };
    let (events, receiver) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let mut reporter = if stream {
        Reporter::streaming(events)
    } else {
        Reporter::silent()
    };
    let (admitted, admission) = tokio::sync::oneshot::channel::<Result<Money, Error>>();
    let task = {
        let (state, service) = (state.clone(), service.clone());
        tokio::spawn(
            async move { run(&state, &service, owner, plan, &mut reporter, admitted).await },
        )
    };
    // The first turn's admission decides the status (402, 429, 404 model, ...).
    let hold = admission
        .await
        .unwrap_or_else(|_| Err(Error::internal("the response task ended before admission")))?;
    if stream {
        return Ok(event_stream(receiver, hold));
    }
    let Finished {
        response,
        charged,
        remaining,
        ..
    } = task
        .await
        .unwrap_or_else(|err| Err(Error::internal(format_args!("response task: {err}"))))?;
    let mut answer = Json(response).into_response();
    money_header(&mut answer, COST_HEADER, charged);
    if let Some(remaining) = remaining {
        money_header(&mut answer, REMAINING_HEADER, remaining);
    }
    Ok(answer)
}

/// The whole response in its own task, from the first turn's admission (told
/// to the handler at once) to the stored row and the last event: a client that
/// leaves at any point cannot cut a hold from its settlement.
async fn run(
    state: &AppState,
    service: &Responses,
    owner: Owner,
    plan: Plan,
    reporter: &mut Reporter,
    admitted: tokio::sync::oneshot::Sender<Result<Money, Error>>,
) -> Result<Finished, Error> {
    let offer_tools = plan.max_turns > 1;
    let first_request = plan.chat_request(&[], offer_tools, true);
    let first = match completion::admit(state, &plan.payer, first_request).await {
        Ok(first) => first,
        Err(error) => {
            let _ = admitted.send(Err(error.clone()));
            return Err(error);
        }
    };
    let _ = admitted.send(Ok(first.hold));
    reporter.lifecycle("response.created", &plan.response);
    reporter.lifecycle("response.in_progress", &plan.response);
    let mut in_progress = plan.response.clone();
    match turns::run(state, service, plan, first, reporter).await {
        Ok(finished) => {
            keep(state, service, owner, &finished).await;
            let kind = match finished.response.status.as_str() {
                "completed" => "response.completed",
                "incomplete" => "response.incomplete",
                _ => "response.failed",
            };
            reporter.lifecycle(kind, &finished.response);
            Ok(finished)
        }
        Err(error) => {
            reporter.error(error.code(), error.message());
            in_progress.status = "failed".to_owned();
            in_progress.error = Some(turns::failure(&error));
            reporter.lifecycle("response.failed", &in_progress);
            Err(error)
        }
    }
}

/// Stores a finished response (unless `store: false`) with the conversation
/// it ends, so `previous_response_id` can continue it at once.
async fn keep(state: &AppState, service: &Responses, owner: Owner, finished: &Finished) {
    if !finished.response.store {
        return;
    }
    let context = finished
        .prior
        .iter()
        .chain(&finished.input)
        .chain(&finished.response.output)
        .cloned()
        .collect();
    let stored = Stored {
        response: finished.response.clone(),
        input_items: finished.input.clone(),
        context,
    };
    if let Err(error) = stored
        .save(&state.db, service.vault(), owner, state.clock.now())
        .await
    {
        tracing::error!(response = %finished.response.id, error = %error, "storing a response failed");
    }
}

/// The event stream's response: `response.created`, `response.in_progress`,
/// each output item's events, then `response.completed` (or `incomplete` /
/// `failed`), as the run reports them.
fn event_stream(
    mut receiver: tokio::sync::mpsc::UnboundedReceiver<Bytes>,
    hold: Money,
) -> Response {
    let body = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
        .map(Ok::<_, std::convert::Infallible>);
    let mut response = Response::new(Body::from_stream(body));
    money_header(&mut response, HOLD_HEADER, hold);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[utoipa::path(
    get,
    path = "/v1/responses/{id}",
    tag = "inference",
    params(("id" = String, Path, description = "The response id (`resp_...`)")),
    security(("end_user_key" = [])),
    responses((status = 200, description = "The stored Response object, in OpenAI's shape", body = Object), crate::openapi::errors::OpenAiErrors),
)]
async fn retrieve(
    State(state): State<AppState>,
    Extension(service): Extension<Responses>,
    caller: Result<Caller, Error>,
    path: Result<ApiPath<String>, Error>,
) -> Result<Response, OpenAiError> {
    let (_, owner) = end_user(caller)?;
    let ApiPath(id) = path?;
    let stored = Stored::load(&state.db, service.vault(), owner, &id).await?;
    Ok(Json(stored.response).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/responses/{id}",
    tag = "inference",
    params(("id" = String, Path, description = "The response id (`resp_...`)")),
    security(("end_user_key" = [])),
    responses((status = 200, description = "The stored response is deleted", body = Deleted), crate::openapi::errors::OpenAiErrors),
)]
async fn delete(
    State(state): State<AppState>,
    caller: Result<Caller, Error>,
    path: Result<ApiPath<String>, Error>,
) -> Result<Response, OpenAiError> {
    let (_, owner) = end_user(caller)?;
    let ApiPath(id) = path?;
    if !store::delete(&state.db, owner.platform_id, owner.end_user_id, &id)
        .await
        .map_err(Error::from)?
    {
        return Err(not_found(&id).into());
    }
    Ok(Json(Deleted {
        id,
        object: "response",
        deleted: true,
    })
    .into_response())
}

/// `GET /v1/responses/{id}/input_items` query: OpenAI's cursor paging.
/// (`include` is accepted and changes nothing: items carry all they have.)
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ItemsQuery {
    after: Option<String>,
    before: Option<String>,
    limit: Option<i64>,
    order: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/responses/{id}/input_items",
    tag = "inference",
    params(("id" = String, Path, description = "The response id (`resp_...`)"), ItemsQuery),
    security(("end_user_key" = [])),
    responses((status = 200, description = "The response's input items, OpenAI's cursor paging", body = ItemPage), crate::openapi::errors::OpenAiErrors),
)]
async fn input_items(
    State(state): State<AppState>,
    Extension(service): Extension<Responses>,
    caller: Result<Caller, Error>,
    path: Result<ApiPath<String>, Error>,
    query: Result<ApiQuery<ItemsQuery>, Error>,
) -> Result<Response, OpenAiError> {
    let (_, owner) = end_user(caller)?;
    let ApiPath(id) = path?;
    let ApiQuery(query) = query?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Error::bad_request("limit must be between 1 and 100").into());
    }
    let descending = match query.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(
                Error::bad_request(format!("order must be asc or desc, not '{other}'")).into(),
            );
        }
    };
    let stored = Stored::load(&state.db, service.vault(), owner, &id).await?;
    let mut items = stored.input_items;
    if descending {
        items.reverse();
    }
    let position = |cursor: &str| {
        items
            .iter()
            .position(|item| item.id() == Some(cursor))
            .ok_or_else(|| Error::bad_request(format!("no input item '{cursor}' in this response")))
    };
    let start = match &query.after {
        Some(after) => position(after)? + 1,
        None => 0,
    };
    let end = match &query.before {
        Some(before) => position(before)?,
        None => items.len(),
    };
    let window = items.get(start..end.max(start)).unwrap_or_default();
    let limit = usize::try_from(limit).unwrap_or(20);
    let page: Vec<_> = window.iter().take(limit).collect();
    let has_more = window.len() > page.len();
    Ok(Json(ItemPage {
        object: "list",
        first_id: page.first().and_then(|item| item.id()),
        last_id: page.last().and_then(|item| item.id()),
        data: page,
        has_more,
    })
    .into_response())
}
