//! The `agents` table.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::args;
use crate::store::Db;

const COLUMNS: &str =
    "id, platform_id, name, config, allowed_apps, read_only, created_at, updated_at";

#[derive(Debug, sqlx::FromRow)]
pub struct AgentRow {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub name: String,
    pub config: Json<Value>,
    pub allowed_apps: Json<Vec<String>>,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewAgent {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub name: String,
    pub config: Value,
    pub allowed_apps: Vec<String>,
    pub read_only: bool,
    pub now: DateTime<Utc>,
}

/// What an update sets (`None`: unchanged).
pub struct AgentChange {
    pub name: Option<String>,
    pub config: Option<Value>,
    pub allowed_apps: Option<Vec<String>>,
    pub read_only: Option<bool>,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &Db, agent: NewAgent) -> Result<AgentRow, sqlx::Error> {
    let sql = format!(
        "INSERT INTO agents (id, platform_id, name, config, allowed_apps, read_only, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row: AgentRow = tx
        .fetch_one(
            &sql,
            &args![
                agent.id,
                agent.platform_id,
                agent.name,
                agent.config,
                Value::from(agent.allowed_apps),
                agent.read_only,
                agent.now
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> Result<Option<AgentRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM agents WHERE platform_id = $1 AND id = $2");
    db.fetch_optional::<AgentRow>(&sql, &args![platform_id, id])
        .await
}

/// One page of a platform's agents, and how many it has.
pub async fn list(
    db: &Db,
    platform_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AgentRow>, i64), sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM agents WHERE platform_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<AgentRow> = db
        .fetch_all(&sql, &args![platform_id, limit, offset])
        .await?;
    let total: Vec<(i64,)> = db
        .fetch_all(
            "SELECT COUNT(*) FROM agents WHERE platform_id = $1",
            &args![platform_id],
        )
        .await?;
    Ok((rows, total.first().map_or(0, |t| t.0)))
}

pub async fn update(
    db: &Db,
    platform_id: Uuid,
    id: Uuid,
    change: AgentChange,
) -> Result<Option<AgentRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE agents SET name = COALESCE($3, name), config = COALESCE($4, config), \
         allowed_apps = COALESCE($5, allowed_apps), read_only = COALESCE($6, read_only), updated_at = $7 \
         WHERE platform_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row: Option<AgentRow> = tx
        .fetch_optional(
            &sql,
            &args![
                platform_id,
                id,
                change.name,
                change.config,
                change.allowed_apps.map(Value::from),
                change.read_only,
                change.now
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// Whether the agent was there to delete.
pub async fn delete(db: &Db, platform_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = tx
        .execute(
            "DELETE FROM agents WHERE platform_id = $1 AND id = $2",
            &args![platform_id, id],
        )
        .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}
