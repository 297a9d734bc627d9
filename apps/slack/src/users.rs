//! People: the workspace's users and one user's profile.

use assistiv_app_sdk::schema::tool_spec;
use assistiv_app_sdk::{AppError, ToolAnnotations, ToolOutput, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, Args, next_cursor};
use crate::compact::{self, list};
use crate::conversations::more;

pub(crate) fn specs() -> Vec<ToolSpec> {
    vec![
        tool_spec::<ListUsers>(
            "list_users",
            "List users",
            "List the workspace's users with their ids, names, titles and time zones. Pages \
             with `cursor`.",
            ToolAnnotations::READ,
        ),
        tool_spec::<UserProfile>(
            "get_user_profile",
            "Get a user's profile",
            "Get one user's profile: names, title, email, phone and status.",
            ToolAnnotations::READ,
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListUsers {
    /// Users per page (1-1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    #[schemars(length(min = 1))]
    cursor: Option<String>,
}

pub(crate) async fn list_users(api: &Api, a: ListUsers) -> Result<ToolOutput, AppError> {
    let args = Args::new()
        .set("limit", a.limit.unwrap_or(100))
        .opt("cursor", a.cursor);
    let body = api.get("users.list", &args).await?;
    let users = list(&body, "members", compact::user);
    let next = next_cursor(&body);
    let text = format!("{} users{}", users.len(), more(&next));
    Ok(ToolOutput::new(
        json!({"users": users, "next_cursor": next}),
        text,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserProfile {
    /// User id, e.g. `U012A3CDE`.
    #[schemars(length(min = 1, max = 64))]
    user: String,
}

pub(crate) async fn get_user_profile(api: &Api, a: UserProfile) -> Result<ToolOutput, AppError> {
    let args = Args::new().set("user", &a.user);
    let body = api.get("users.profile.get", &args).await?;
    let profile = compact::profile(&body["profile"]);
    let name = profile["real_name"]
        .as_str()
        .or(profile["display_name"].as_str())
        .unwrap_or(&a.user)
        .to_owned();
    let mut structured = json!({"user": a.user});
    if let (Some(out), Some(fields)) = (structured.as_object_mut(), profile.as_object()) {
        out.extend(fields.clone());
    }
    Ok(ToolOutput::new(structured, format!("Profile of {name}")))
}
