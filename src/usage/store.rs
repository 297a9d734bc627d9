//! The `usage_logs` table: the writer's batches and the logs' pages.

use uuid::Uuid;

use super::UsageRecord;
use super::query::{LogQuery, LogRow};
use crate::args;
use crate::store::Db;

/// One batch in one transaction.
pub(super) async fn insert(db: &Db, batch: &[UsageRecord]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for r in batch {
        tx.execute(
            "INSERT INTO usage_logs (id, platform_id, end_user_id, kind, app, tool, model, status, error_code, \
             latency_ms, input_tokens, output_tokens, cost_micros, request_id, created_at, created_at_ms, \
             provider, cached_tokens, ttft_ms, tokens_estimated, price) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21)",
            &args![
                r.id,
                r.platform_id,
                r.end_user_id,
                r.kind,
                r.app.clone(),
                r.tool.clone(),
                r.model.clone(),
                r.status,
                r.error_code.clone(),
                r.latency_ms,
                r.input_tokens,
                r.output_tokens,
                r.cost_micros,
                r.request_id.as_str(),
                r.created_at,
                r.created_at.timestamp_millis(),
                r.provider.clone(),
                r.cached_tokens,
                r.ttft_ms,
                r.tokens_estimated,
                r.price.clone()
            ],
        )
        .await?;
    }
    tx.commit().await
}

/// Up to `fetch` rows of the platform's logs older than `before` (a `seq`),
/// newest first, filtered as `query` says.
pub(super) async fn page(
    db: &Db,
    platform_id: Uuid,
    query: &LogQuery,
    before: i64,
    fetch: i64,
) -> Result<Vec<LogRow>, sqlx::Error> {
    db.fetch_all(
            "SELECT seq, id, end_user_id, kind, app, tool, model, status, error_code, latency_ms, \
             input_tokens, output_tokens, cost_micros, request_id, created_at, provider, cached_tokens, \
             ttft_ms, tokens_estimated, price FROM usage_logs \
             WHERE platform_id = $1 AND seq < $2 \
             AND ($3 IS NULL OR end_user_id = $3) AND ($4 IS NULL OR model = $4) \
             AND ($5 IS NULL OR kind = $5) AND ($6 IS NULL OR status = $6) \
             AND ($7 IS NULL OR created_at_ms >= $7) AND ($8 IS NULL OR created_at_ms < $8) \
             ORDER BY seq DESC LIMIT $9",
            &args![
                platform_id,
                before,
                query.end_user_id,
                query.model.clone(),
                query.kind.clone(),
                query.status.clone(),
                query.since.map(|t| t.timestamp_millis()),
                query.until.map(|t| t.timestamp_millis()),
                fetch
            ],
        )
        .await
}
