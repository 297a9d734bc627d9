//! The `skill_reviews` table.

use uuid::Uuid;

use crate::args;
use crate::error::{Error, Result};
use crate::skills::reviews::{NewReview, Review};
use crate::store::{Db, is_unique_violation};

const COLUMNS: &str = "id, skill_id, skill_version, platform_id, end_user_id, \
    CAST(correctness AS BIGINT) AS correctness, CAST(clarity AS BIGINT) AS clarity, \
    CAST(safety AS BIGINT) AS safety, CAST(usefulness AS BIGINT) AS usefulness, \
    comment, created_at";

/// Records a review; 409 when this end user already reviewed this version.
pub async fn insert(db: &Db, review: NewReview) -> Result<Review> {
    let sql = format!(
        "INSERT INTO skill_reviews (id, skill_id, skill_version, platform_id, end_user_id, \
         correctness, clarity, safety, usefulness, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let inserted = tx
        .fetch_one::<Review>(
            &sql,
            &args![
                Uuid::now_v7(),
                review.skill_id,
                review.skill_version.as_str(),
                review.platform_id,
                review.end_user_id,
                review.scores.correctness,
                review.scores.clarity,
                review.scores.safety,
                review.scores.usefulness,
                review.comment,
                review.now
            ],
        )
        .await;
    match inserted {
        Ok(row) => {
            tx.commit().await?;
            Ok(row)
        }
        Err(err) if is_unique_violation(&err) => Err(Error::conflict(format!(
            "this end user already reviewed version {} of this skill",
            review.skill_version
        ))),
        Err(err) => Err(err.into()),
    }
}

/// Newest first: every review of a skill, or only those of one platform's end users.
pub async fn list(
    db: &Db,
    skill_id: Uuid,
    platform_id: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Review>, i64), sqlx::Error> {
    let filter = match platform_id {
        Some(_) => "skill_id = $1 AND platform_id = $2",
        None => "skill_id = $1 AND $2 IS NULL",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM skill_reviews WHERE {filter} \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    let rows = db
        .fetch_all(&sql, &args![skill_id, platform_id, limit, offset])
        .await?;
    let count = format!("SELECT COUNT(*) FROM skill_reviews WHERE {filter}");
    let total: Vec<(i64,)> = db.fetch_all(&count, &args![skill_id, platform_id]).await?;
    Ok((rows, total.first().map_or(0, |t| t.0)))
}
