//! The `webhook_endpoints` rows. The signing secrets are sealed before they get
//! here (bound to the row id, see `sealing::columns`).

use sqlx::types::Json;
use uuid::Uuid;

use crate::args;
use crate::store::Db;
use crate::store::tx::Tx;

/// One endpoint as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Json<Vec<String>>,
    pub enabled: bool,
    pub secret_enc: Vec<u8>,
    pub previous_secret_enc: Option<Vec<u8>>,
    pub previous_secret_until_ms: Option<i64>,
    pub disabled_reason: Option<String>,
    pub disabled_at_ms: Option<i64>,
    pub failing_since_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "id, platform_id, url, description, event_types, enabled, secret_enc, \
     previous_secret_enc, previous_secret_until_ms, disabled_reason, disabled_at_ms, \
     failing_since_ms, created_at_ms, updated_at_ms";

const COUNT: &str = "SELECT COUNT(*) FROM webhook_endpoints WHERE platform_id = $1";

/// What create and update write: the fields the caller sets, and when.
pub struct EndpointFields {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub now_ms: i64,
}

/// The platform's endpoint `id` (`None` for another platform's).
pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> Result<Option<EndpointRow>, sqlx::Error> {
    db.fetch_optional(
        &format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND platform_id = $2"),
        &args![id, platform_id],
    )
    .await
}

/// Endpoint `id` of any platform, read in the worker's claim.
pub async fn by_id(tx: &mut Tx, id: Uuid) -> Result<Option<EndpointRow>, sqlx::Error> {
    tx.fetch_optional(
        &format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"),
        &args![id],
    )
    .await
}

/// The platform's enabled endpoints, read in the dispatch transaction.
pub async fn enabled(tx: &mut Tx, platform_id: Uuid) -> Result<Vec<EndpointRow>, sqlx::Error> {
    tx.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM webhook_endpoints WHERE platform_id = $1 AND enabled = TRUE"
        ),
        &args![platform_id],
    )
    .await
}

/// A page of the platform's endpoints, oldest first.
pub async fn page(
    db: &Db,
    platform_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    db.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM webhook_endpoints WHERE platform_id = $1 \
             ORDER BY created_at_ms, id LIMIT $2 OFFSET $3"
        ),
        &args![platform_id, limit, offset],
    )
    .await
}

/// How many endpoints the platform has.
pub async fn count(db: &Db, platform_id: Uuid) -> Result<i64, sqlx::Error> {
    let total: Option<(i64,)> = db.fetch_optional(COUNT, &args![platform_id]).await?;
    Ok(total.map_or(0, |(n,)| n))
}

/// How many endpoints the platform has, counted in the transaction that adds one.
pub async fn count_in(tx: &mut Tx, platform_id: Uuid) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = tx.fetch_one(COUNT, &args![platform_id]).await?;
    Ok(count)
}

/// A new endpoint of the platform, with its sealed secret.
pub async fn insert(
    tx: &mut Tx,
    platform_id: Uuid,
    id: Uuid,
    fields: &EndpointFields,
    secret_enc: Vec<u8>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO webhook_endpoints (id, platform_id, url, description, event_types, enabled, \
         secret_enc, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        &args![
            id,
            platform_id,
            fields.url.as_str(),
            fields.description.clone(),
            serde_json::json!(fields.event_types),
            fields.enabled,
            secret_enc,
            fields.now_ms
        ],
    )
    .await
    .map(|_| ())
}

/// Writes `fields` to the platform's endpoint `id`, in its own transaction;
/// `reenabled` also clears why it was disabled and its failure streak.
pub async fn update(
    db: &Db,
    platform_id: Uuid,
    id: Uuid,
    fields: &EndpointFields,
    reenabled: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, enabled = $4, \
         disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
         disabled_at_ms = CASE WHEN $5 THEN NULL ELSE disabled_at_ms END, \
         failing_since_ms = CASE WHEN $5 THEN NULL ELSE failing_since_ms END, \
         updated_at_ms = $6 WHERE id = $7 AND platform_id = $8",
        &args![
            fields.url.as_str(),
            fields.description.clone(),
            serde_json::json!(fields.event_types),
            fields.enabled,
            reenabled,
            fields.now_ms,
            id,
            platform_id
        ],
    )
    .await?;
    tx.commit().await
}

/// Deletes the platform's endpoint `id` (its deliveries go with it); whether
/// there was one.
pub async fn delete(db: &Db, platform_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = tx
        .execute(
            "DELETE FROM webhook_endpoints WHERE id = $1 AND platform_id = $2",
            &args![id, platform_id],
        )
        .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}

/// Replaces `row`'s secret with `secret_enc`, keeping the current one as
/// `previous_enc` until `previous_until_ms`. Matches the old ciphertext, so of two
/// rotations at once one wins; whether this one did.
pub async fn rotate_secret(
    db: &Db,
    row: &EndpointRow,
    secret_enc: Vec<u8>,
    previous_enc: Vec<u8>,
    previous_until_ms: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = tx
        .execute(
            "UPDATE webhook_endpoints SET secret_enc = $1, previous_secret_enc = $2, \
             previous_secret_until_ms = $3, updated_at_ms = $4 \
             WHERE id = $5 AND platform_id = $6 AND secret_enc = $7",
            &args![
                secret_enc,
                previous_enc,
                previous_until_ms,
                now_ms,
                row.id,
                row.platform_id,
                row.secret_enc.clone()
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(changed > 0)
}

/// After a success: the endpoint's failure streak ends.
pub async fn clear_failing(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE webhook_endpoints SET failing_since_ms = NULL \
         WHERE id = $1 AND failing_since_ms IS NOT NULL",
        &args![id],
    )
    .await
    .map(|_| ())
}

/// After a failure: the streak starts now unless it already runs.
pub async fn mark_failing(tx: &mut Tx, id: Uuid, now_ms: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE webhook_endpoints SET failing_since_ms = COALESCE(failing_since_ms, $1) WHERE id = $2",
        &args![now_ms, id],
    )
    .await
    .map(|_| ())
}

/// Disables the endpoint (if still enabled) for `reason`; with
/// `failing_since_ms`, only if its failure streak began then or earlier.
pub async fn disable(
    tx: &mut Tx,
    id: Uuid,
    reason: String,
    now_ms: i64,
    failing_since_ms: Option<i64>,
) -> Result<(), sqlx::Error> {
    const DISABLE: &str = "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $1, \
         disabled_at_ms = $2, updated_at_ms = $2 WHERE id = $3 AND enabled = TRUE";
    match failing_since_ms {
        None => tx.execute(DISABLE, &args![reason, now_ms, id]).await,
        Some(since) => {
            tx.execute(
                &format!("{DISABLE} AND failing_since_ms <= $4"),
                &args![reason, now_ms, id, since],
            )
            .await
        }
    }
    .map(|_| ())
}
