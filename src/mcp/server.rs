//! The rmcp `ServerHandler`: tools listed and dispatched per request for the end
//! user the auth layer put in the request's extensions.

#[allow(deprecated)] // SetLevelRequestParams, see `set_level`
use rmcp::model::{
    CacheScope, CallToolRequestMethod, CallToolRequestParams, CallToolResponse, CancelTaskMethod,
    CompleteRequestMethod, ConstString, CustomRequest, CustomResult, DiscoverRequestMethod,
    ErrorCode, GetPromptRequestMethod, GetPromptRequestParams, GetPromptResponse,
    GetSkillRequestMethod, GetTaskMethod, Implementation, InitializeResultMethod,
    ListPromptsRequestMethod, ListResourceTemplatesRequestMethod, ListResourcesRequestMethod,
    ListSkillsRequestMethod, ListToolsRequestMethod, ListToolsResult, PaginatedRequestParams,
    PingRequestMethod, ProtocolVersion, ReadResourceDirectoryRequestMethod,
    ReadResourceRequestMethod, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig, SetLevelRequestMethod, SetLevelRequestParams, SubscribeRequestMethod,
    SubscriptionsListenRequestMethod, UnsubscribeRequestMethod, UpdateTaskMethod,
};
use rmcp::model::{
    DiscoverResult, GetSkillRequestParams, GetSkillResult, InitializeRequestParams,
    InitializeResult, ListResourcesResult, ListSkillsResult, ReadResourceDirectoryRequestParams,
    ReadResourceDirectoryResult, ReadResourceResult, SKILLS_EXTENSION_ID,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::error::{Error, ErrorKind};
use crate::skills::extension::SkillsExtension;
use crate::tools::{CallError, CallOutcome, Rounds, ToolCaller, Tools};

#[derive(Clone)]
pub struct GatewayServer {
    tools: Tools,
    list_ttl_ms: u64,
    /// The Skills extension, for callers whose platform serves skills.
    skills: Option<SkillsExtension>,
}

impl GatewayServer {
    pub fn new(tools: Tools, list_ttl_ms: u64) -> Self {
        Self {
            tools,
            list_ttl_ms,
            skills: None,
        }
    }

    pub fn with_skills(mut self, skills: SkillsExtension) -> Self {
        self.skills = Some(skills);
        self
    }

    /// The extension, when this caller is served it (its scope and platform).
    async fn skills_for(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Option<(&SkillsExtension, ToolCaller)>, McpError> {
        let Some(skills) = &self.skills else {
            return Ok(None);
        };
        let caller = caller(ctx)?;
        let served = skills.served_to(&caller).await.map_err(internal)?;
        Ok(served.then_some((skills, caller)))
    }

    /// What this caller is told the server offers: the skills extension only
    /// where it is served (rmcp checks `get_info`, which declares it for all).
    async fn info_for(&self, ctx: &RequestContext<RoleServer>) -> Result<ServerConfig, McpError> {
        let mut info = self.get_info();
        if self.skills_for(ctx).await?.is_none()
            && let Some(extensions) = info.capabilities.extensions.as_mut()
        {
            extensions.remove(SKILLS_EXTENSION_ID);
            if extensions.is_empty() {
                info.capabilities.extensions = None;
            }
        }
        Ok(info)
    }
}

fn internal(err: Error) -> McpError {
    McpError::internal_error(err.message().to_owned(), None)
}

/// A refusal of the skills extension: a client's mistake is invalid params.
fn skills_error(err: Error) -> McpError {
    match err.kind() {
        ErrorKind::NotFound | ErrorKind::BadRequest => {
            McpError::invalid_params(err.message().to_owned(), None)
        }
        _ => internal(err),
    }
}

/// The client requests rmcp types. One of them reaching [`ServerHandler::on_custom_request`]
/// had params that do not fit the method's (rmcp falls back to a custom request).
const TYPED_METHODS: &[&str] = &[
    CallToolRequestMethod::VALUE,
    ListToolsRequestMethod::VALUE,
    InitializeResultMethod::VALUE,
    PingRequestMethod::VALUE,
    DiscoverRequestMethod::VALUE,
    CompleteRequestMethod::VALUE,
    SetLevelRequestMethod::VALUE,
    GetPromptRequestMethod::VALUE,
    ListPromptsRequestMethod::VALUE,
    ListResourcesRequestMethod::VALUE,
    ListResourceTemplatesRequestMethod::VALUE,
    ReadResourceRequestMethod::VALUE,
    ReadResourceDirectoryRequestMethod::VALUE,
    SubscriptionsListenRequestMethod::VALUE,
    SubscribeRequestMethod::VALUE,
    UnsubscribeRequestMethod::VALUE,
    GetTaskMethod::VALUE,
    UpdateTaskMethod::VALUE,
    CancelTaskMethod::VALUE,
    ListSkillsRequestMethod::VALUE,
    GetSkillRequestMethod::VALUE,
];

/// The session-era methods the `2026-07-28` revision removed: its lifecycle has
/// no `initialize` and no `ping`, logging is asked for per request in `_meta`
/// and resources are watched through `subscriptions/listen`. On that revision
/// they are unknown methods: `-32601`, which rmcp sends with HTTP 404.
const REMOVED_IN_2026_07_28: &[&str] = &[
    InitializeResultMethod::VALUE,
    PingRequestMethod::VALUE,
    SetLevelRequestMethod::VALUE,
    SubscribeRequestMethod::VALUE,
    UnsubscribeRequestMethod::VALUE,
];

/// Whether the request speaks a revision without `initialize` (`2026-07-28`
/// on): the version its `_meta` or its session negotiated, else the HTTP
/// `MCP-Protocol-Version` header (rmcp reads no `_meta` of a request whose
/// params do not fit its method).
fn stateless_revision(ctx: &RequestContext<RoleServer>) -> bool {
    match ctx.protocol_version() {
        Some(version) => !version.has_initialize(),
        None => ctx
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.headers.get("mcp-protocol-version"))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v >= ProtocolVersion::NO_INITIALIZE.as_str()),
    }
}

fn method_not_found(method: &str) -> McpError {
    McpError::new(ErrorCode::METHOD_NOT_FOUND, method.to_owned(), None)
}

/// What this request's client can ask its user, and its answers to the last
/// round's questions. Questions travel in `input_required` results, which exist
/// from `2026-07-28` on; the client declares what it can show in the request's
/// `_meta` (an empty `elicitation` object means forms).
fn rounds(
    ctx: &RequestContext<RoleServer>,
    responses: Option<rmcp::model::InputResponses>,
) -> Rounds {
    if !stateless_revision(ctx) {
        return Rounds::none();
    }
    let elicitation = ctx.client_capabilities().and_then(|c| c.elicitation);
    Rounds {
        form: elicitation
            .as_ref()
            .is_some_and(|e| e.form.is_some() || e.url.is_none()),
        url: elicitation.as_ref().is_some_and(|e| e.url.is_some()),
        responses: responses.unwrap_or_default(),
        state: None,
    }
}

/// The caller the auth layer attached to this HTTP request.
fn caller(ctx: &RequestContext<RoleServer>) -> Result<ToolCaller, McpError> {
    ctx.extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ToolCaller>())
        .cloned()
        .ok_or_else(|| McpError::internal_error("request is not authenticated", None))
}

impl ServerHandler for GatewayServer {
    // Logging (deprecated by SEP-2577) is still advertised: clients on the older
    // revisions we serve may call `logging/setLevel`.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            // Prompts and resources are declared because their lists are served
            // (prompts empty; resources are the skill files where skills are
            // served, else empty), as `server/discover` says. The skills
            // extension is declared here so rmcp routes its methods;
            // `initialize` and `server/discover` drop it where it is not served.
            if self.skills.is_some() {
                ServerCapabilities::builder()
                    .enable_tools()
                    .enable_logging()
                    .enable_prompts()
                    .enable_resources()
                    .enable_skills_with_directory_read()
                    .build()
            } else {
                ServerCapabilities::builder()
                    .enable_tools()
                    .enable_logging()
                    .enable_prompts()
                    .enable_resources()
                    .build()
            },
        )
        .with_server_info(Implementation::new("assistiv", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Tools act as the connected end user. A tool answering `not_connected` carries a \
                 `connect_url` the user must open to connect that app before retrying; clients on \
                 2026-07-28 that declare URL elicitation are asked to open it in the call itself.",
        )
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        context.peer.set_peer_info(request.clone());
        let mut result = self.negotiate_initialize(&request)?;
        result.capabilities = self.info_for(&context).await?.capabilities;
        Ok(result)
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, McpError> {
        Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.info_for(&context).await?,
        ))
    }

    async fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, McpError> {
        let Some((skills, caller)) = self.skills_for(&context).await? else {
            return Err(method_not_found(ListSkillsRequestMethod::VALUE));
        };
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let (items, next) = skills
            .list(caller.platform_id, cursor)
            .await
            .map_err(skills_error)?;
        let mut result = ListSkillsResult::with_all_items(items)
            .with_ttl_ms(self.list_ttl_ms)
            .with_cache_scope(CacheScope::Private);
        result.next_cursor = next;
        Ok(result)
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, McpError> {
        let Some((skills, caller)) = self.skills_for(&context).await? else {
            return Err(method_not_found(GetSkillRequestMethod::VALUE));
        };
        let skill = skills
            .get(caller.platform_id, &request.uri)
            .await
            .map_err(skills_error)?;
        Ok(GetSkillResult::new(skill)
            .with_ttl_ms(self.list_ttl_ms)
            .with_cache_scope(CacheScope::Private))
    }

    async fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceDirectoryResult, McpError> {
        let Some((skills, caller)) = self.skills_for(&context).await? else {
            return Err(method_not_found(ReadResourceDirectoryRequestMethod::VALUE));
        };
        if request.cursor.is_some() {
            // Every child fits one page, so no page follows the first.
            return Err(McpError::invalid_params(
                "invalid cursor: a directory is read in one page",
                None,
            ));
        }
        let children = skills
            .read_directory(caller.platform_id, &request.uri)
            .await
            .map_err(skills_error)?;
        Ok(ListResourcesResult::with_all_items(children))
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let Some((skills, caller)) = self.skills_for(&context).await? else {
            return Ok(ListResourcesResult::default());
        };
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let (items, next) = skills
            .list_resources(caller.platform_id, cursor)
            .await
            .map_err(skills_error)?;
        let mut result = ListResourcesResult::with_all_items(items)
            .with_ttl_ms(self.list_ttl_ms)
            .with_cache_scope(CacheScope::Private);
        result.next_cursor = next;
        Ok(result)
    }

    /// Accepted so clients of the session era may set a level; the gateway sends
    /// no log messages. Gone from `2026-07-28`, where it is an unknown method.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if stateless_revision(&context) {
            return Err(method_not_found(SetLevelRequestMethod::VALUE));
        }
        Ok(())
    }

    /// A known method with unfitting params (`tools/call` with a numeric `name`,
    /// array `arguments`, no `name`) is invalid params; anything else is unknown,
    /// as is a method `2026-07-28` removed when the request speaks that revision
    /// (whatever its params).
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        let method = request.method.as_str();
        if REMOVED_IN_2026_07_28.contains(&method) && stateless_revision(&context) {
            Err(method_not_found(method))
        } else if TYPED_METHODS.contains(&method) {
            Err(McpError::invalid_params(
                format!("invalid params for {}", request.method),
                None,
            ))
        } else {
            Err(method_not_found(method))
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = caller(&context)?;
        let tools = self
            .tools
            .list(&caller)
            .await
            .map_err(|e| McpError::internal_error(e.message().to_owned(), None))?;
        // A deterministic order (sources, then each source's fixed order) and a
        // private cache hint, so clients need not re-list every turn.
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(self.list_ttl_ms)
            .with_cache_scope(CacheScope::Private))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        Err(McpError::invalid_params(
            format!(
                "no prompt named '{}' (this server offers none)",
                request.name
            ),
            None,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        // rmcp sends the code as `-32602` from 2026-07-28 on (SEP-2164), which
        // also asks for the URI in `data`.
        let not_found = |message: String| {
            McpError::resource_not_found(message, Some(serde_json::json!({ "uri": request.uri })))
        };
        let Some((skills, caller)) = self.skills_for(&context).await? else {
            return Err(not_found(format!(
                "no resource at '{}' (this server offers none)",
                request.uri
            )));
        };
        match skills.read(caller.platform_id, &request.uri).await {
            Ok(contents) => Ok(ReadResourceResult::new(vec![contents])
                .with_ttl_ms(self.list_ttl_ms)
                .with_cache_scope(CacheScope::Private)
                .into()),
            Err(err) if err.kind() == ErrorKind::NotFound => {
                Err(not_found(err.message().to_owned()))
            }
            Err(err) => Err(internal(err)),
        }
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = caller(&context)?;
        let rounds = rounds(&context, request.input_responses);
        let arguments = request.arguments.unwrap_or_default();
        let outcome = self
            .tools
            .call_in_rounds(
                &caller,
                &request.name,
                arguments,
                rounds,
                request.request_state.as_deref(),
            )
            .await;
        match outcome {
            Ok(CallOutcome::Complete(result)) => Ok(result.into()),
            Ok(CallOutcome::InputRequired(asked)) => Ok(asked.into()),
            Err(CallError::RequestState(err)) => {
                tracing::info!(tool = %request.name, request_id = %caller.request_id, "requestState refused: {err}");
                Err(McpError::invalid_params(err.to_string(), None))
            }
            Err(CallError::UnknownTool(name)) => {
                // The client's mistake, not the operator's: INFO (rmcp's WARN is muted).
                tracing::info!(tool = ?name, request_id = %caller.request_id, "call of an unknown MCP tool refused");
                Err(McpError::invalid_params(
                    format!("unknown tool: {name}"),
                    None,
                ))
            }
            Err(CallError::Internal(err)) => {
                Err(McpError::internal_error(err.message().to_owned(), None))
            }
        }
    }
}
