//! User tools: search, get, and the connected agent.

use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, Query};
use crate::compact;
use crate::s;
use crate::schema::{array, integer, object, tool};
use crate::tickets::json_id;

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool::<SearchUsers>(
            "search_users",
            "Search users",
            "Find users (end users, agents, admins) by name, email or phone, whole or in \
             part, e.g. `jane@acme.com` or `Jane`; also Zendesk's user search syntax \
             (`role:agent`, `organization:acme`). Pages with `page`/`per_page`.",
            ToolAnnotations::READ,
            object(
                &["page", "users"],
                json!({
                    "page": integer(),
                    "next_page": integer(),
                    "users": array(compact::user_schema()),
                }),
            ),
        ),
        tool::<GetUser>(
            "get_user",
            "Get a user",
            "Get one user: name, email, role, organization, time zone, state.",
            ToolAnnotations::READ,
            compact::user_schema(),
        ),
        tool::<GetMe>(
            "get_me",
            "Get the connected agent",
            "Get the Zendesk user this connection acts as (the agent whose name replies and \
             notes carry); its `id` is what `assignee_id` takes to assign to oneself.",
            ToolAnnotations::READ,
            compact::user_schema(),
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchUsers {
    /// Name, email or phone (or a part of one), or user search terms.
    #[schemars(length(min = 1, max = 500))]
    query: String,
    /// Page number, from 1.
    #[schemars(range(min = 1, max = 1000))]
    page: Option<u32>,
    /// Results per page (1-100, default 25).
    #[schemars(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

pub(crate) async fn search_users(api: &Api<'_>, a: SearchUsers) -> Result<ToolOutput, AppError> {
    let terms = a.query.trim();
    if terms.is_empty() {
        return Err(AppError::InvalidArguments("`query` is empty".into()));
    }
    let page = a.page.unwrap_or(1).max(1);
    let query = Query::new()
        .set("query", terms)
        .set("page", page)
        .set("per_page", a.per_page.unwrap_or(25).clamp(1, 100));
    let found = api.get(&["users", "search.json"], &query).await?;
    let users = compact::list(&found["users"], |u| compact::user(api, u));
    let mut text = format!("{} users match `{terms}`", users.len());
    for u in users.iter().take(5) {
        text.push_str(&format!(
            "\n- {} {} <{}> ({})",
            u["id"],
            s(&u["name"]),
            s(&u["email"]),
            s(&u["role"])
        ));
    }
    let mut structured = json!({"page": page, "users": users});
    if !found["next_page"].is_null() {
        structured["next_page"] = json!(page + 1);
    }
    Ok(ToolOutput::new(structured, text))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetUser {
    /// User id.
    #[schemars(range(min = 1))]
    user_id: u64,
}

pub(crate) async fn get_user(api: &Api<'_>, a: GetUser) -> Result<ToolOutput, AppError> {
    let found = api
        .get(&["users", &json_id(a.user_id)], &Query::new())
        .await?;
    Ok(user_output(api, &found["user"]))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetMe {}

pub(crate) async fn get_me(api: &Api<'_>, _: GetMe) -> Result<ToolOutput, AppError> {
    let found = api.get(&["users", "me.json"], &Query::new()).await?;
    Ok(user_output(api, &found["user"]))
}

fn user_output(api: &Api<'_>, raw: &Value) -> ToolOutput {
    let user = compact::user(api, raw);
    let text = format!(
        "{} {} <{}> ({})",
        user["id"],
        s(&user["name"]),
        s(&user["email"]),
        s(&user["role"])
    );
    ToolOutput::new(user, text)
}
