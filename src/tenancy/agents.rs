//! Agents: a name, an opaque `config`, and the apps (and whether only read-only
//! tools) that its MCP URL `/mcp/agents/{id}` exposes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::apps::{AppRegistry, AppSlug};
use crate::domain::DisplayName;
use crate::domain::paging::PageRequest;
use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::agents::{self as store, AgentChange, AgentRow, NewAgent};

const CONFIG_MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub name: String,
    pub config: Value,
    pub allowed_apps: Vec<String>,
    pub read_only: bool,
    /// Path of this agent's MCP endpoint.
    pub mcp_path: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AgentRow> for Agent {
    fn from(row: AgentRow) -> Self {
        Self {
            mcp_path: format!("/mcp/agents/{}", row.id),
            id: row.id,
            platform_id: row.platform_id,
            name: row.name,
            config: row.config.0,
            allowed_apps: row.allowed_apps.0,
            read_only: row.read_only,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    pub name: Option<String>,
    pub config: Option<Value>,
    pub allowed_apps: Option<Vec<String>>,
    pub read_only: Option<bool>,
}

struct Valid {
    name: Option<String>,
    config: Option<Value>,
    allowed_apps: Option<Vec<String>>,
}

fn validate(apps: &AppRegistry, input: &AgentInput) -> Result<Valid> {
    let name = input
        .name
        .clone()
        .map(|n| DisplayName::parse("name", n).map(DisplayName::into_inner))
        .transpose()?;
    if let Some(config) = &input.config
        && (!config.is_object() || config.to_string().len() > CONFIG_MAX_BYTES)
    {
        return Err(Error::bad_request(format!(
            "config must be a JSON object of at most {CONFIG_MAX_BYTES} bytes"
        )));
    }
    let allowed_apps = input
        .allowed_apps
        .as_ref()
        .map(|list| {
            let mut slugs: Vec<String> = list
                .iter()
                .map(|raw| {
                    AppSlug::parse(apps, raw)
                        .map(|s| s.as_str().to_owned())
                        .map_err(|_| {
                            Error::bad_request(format!("allowed_apps: unknown app '{raw}'"))
                        })
                })
                .collect::<Result<_>>()?;
            slugs.sort();
            slugs.dedup();
            Ok::<_, Error>(slugs)
        })
        .transpose()?;
    Ok(Valid {
        name,
        config: input.config.clone(),
        allowed_apps,
    })
}

pub async fn create(
    db: &Db,
    apps: &AppRegistry,
    platform_id: Uuid,
    input: &AgentInput,
    now: DateTime<Utc>,
) -> Result<Agent> {
    let valid = validate(apps, input)?;
    let name = valid
        .name
        .ok_or_else(|| Error::bad_request("name is required"))?;
    let row = store::insert(
        db,
        NewAgent {
            id: Uuid::now_v7(),
            platform_id,
            name,
            config: valid
                .config
                .unwrap_or_else(|| Value::Object(Default::default())),
            allowed_apps: valid.allowed_apps.unwrap_or_default(),
            read_only: input.read_only.unwrap_or(false),
            now,
        },
    )
    .await?;
    Ok(row.into())
}

pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> Result<Agent> {
    store::get(db, platform_id, id)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("agent not found"))
}

pub async fn list(db: &Db, platform_id: Uuid, page: PageRequest) -> Result<(Vec<Agent>, i64)> {
    let (rows, total) = store::list(db, platform_id, i64::from(page.limit), page.offset()).await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

pub async fn update(
    db: &Db,
    apps: &AppRegistry,
    platform_id: Uuid,
    id: Uuid,
    input: &AgentInput,
    now: DateTime<Utc>,
) -> Result<Agent> {
    let valid = validate(apps, input)?;
    let change = AgentChange {
        name: valid.name,
        config: valid.config,
        allowed_apps: valid.allowed_apps,
        read_only: input.read_only,
        now,
    };
    store::update(db, platform_id, id, change)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("agent not found"))
}

pub async fn delete(db: &Db, platform_id: Uuid, id: Uuid) -> Result<()> {
    if !store::delete(db, platform_id, id).await? {
        return Err(Error::not_found("agent not found"));
    }
    Ok(())
}
