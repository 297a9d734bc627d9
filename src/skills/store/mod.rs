//! SQL of the skill catalog: `skills`, `skill_blobs` (one row per stored blob,
//! the lock that keeps blob writes and deletes apart) and the review totals
//! shown beside each skill.

pub mod reviews;
pub mod search;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::args;
use crate::store::Db;
use crate::store::tx::Tx;

/// One file of a skill as listed (the content is in the blob).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FileEntry {
    pub path: String,
    pub size: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SkillRow {
    pub id: Uuid,
    /// `None` for a public skill.
    pub platform_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub version: String,
    pub sha256: String,
    pub files: Json<Vec<FileEntry>>,
    pub file_count: i64,
    pub size_bytes: i64,
    pub source: String,
    pub created_by_end_user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Sums of the current version's reviews.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct ReviewTotals {
    pub review_count: i64,
    pub correctness_sum: i64,
    pub clarity_sum: i64,
    pub safety_sum: i64,
    pub usefulness_sum: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedRow {
    #[sqlx(flatten)]
    pub skill: SkillRow,
    #[sqlx(flatten)]
    pub totals: ReviewTotals,
}

/// The columns of [`SkillRow`] on a table aliased `s`.
pub const COLUMNS: &str = "s.id, s.platform_id, s.name, s.description, s.version, s.sha256, \
    s.files, s.file_count, s.size_bytes, s.source, s.created_by_end_user_id, s.created_at, \
    s.updated_at";

/// The columns of [`SkillRow`] unqualified, for `RETURNING`.
const RETURNING: &str = "id, platform_id, name, description, version, sha256, files, \
    file_count, size_bytes, source, created_by_end_user_id, created_at, updated_at";

/// The [`ReviewTotals`] of a `LEFT JOIN skill_reviews r` grouped by skill.
pub const TOTALS: &str = "COUNT(r.id) AS review_count, \
    COALESCE(SUM(r.correctness), 0) AS correctness_sum, \
    COALESCE(SUM(r.clarity), 0) AS clarity_sum, \
    COALESCE(SUM(r.safety), 0) AS safety_sum, \
    COALESCE(SUM(r.usefulness), 0) AS usefulness_sum";

/// Reviews that count for a skill: those of its current version.
pub const REVIEWS_JOIN: &str =
    "LEFT JOIN skill_reviews r ON r.skill_id = s.id AND r.skill_version = s.version";

/// A skill's catalog row as written.
pub struct NewSkill<'a> {
    pub id: Uuid,
    pub platform_id: Option<Uuid>,
    pub name: &'a str,
    pub description: &'a str,
    pub version: &'a str,
    pub body: &'a str,
    pub sha256: &'a str,
    pub files: Vec<FileEntry>,
    pub size_bytes: i64,
    pub source: &'a str,
    pub created_by_end_user_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// Claims the blob row for `sha256` (inserting it if new) and holds its lock
/// until commit, so a concurrent delete cannot remove the blob under us.
pub async fn claim_blob(
    tx: &mut Tx,
    sha256: &str,
    size: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO skill_blobs (sha256, size_bytes, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (sha256) DO UPDATE SET size_bytes = excluded.size_bytes",
        &args![sha256, size, now],
    )
    .await
    .map(|_| ())
}

/// Drops the blob row when no skill refers to it any more; whether it did (then
/// the caller deletes the blob itself before committing).
pub async fn release_blob(tx: &mut Tx, sha256: &str) -> Result<bool, sqlx::Error> {
    let lock = format!(
        "SELECT sha256 FROM skill_blobs WHERE sha256 = $1{}",
        tx.for_update()
    );
    if tx
        .fetch_optional::<(String,)>(&lock, &args![sha256])
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let (refs,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM skills WHERE sha256 = $1",
            &args![sha256],
        )
        .await?;
    if refs > 0 {
        return Ok(false);
    }
    tx.execute("DELETE FROM skill_blobs WHERE sha256 = $1", &args![sha256])
        .await?;
    Ok(true)
}

/// The skill of this owner with this name, locked for update.
pub async fn by_name_for_update(
    tx: &mut Tx,
    platform_id: Option<Uuid>,
    name: &str,
) -> Result<Option<SkillRow>, sqlx::Error> {
    let sql = match platform_id {
        Some(_) => format!(
            "SELECT {COLUMNS} FROM skills s WHERE s.platform_id = $1 AND s.name = $2{}",
            tx.for_update()
        ),
        None => format!(
            "SELECT {COLUMNS} FROM skills s WHERE s.platform_id IS NULL AND s.name = $2 \
             AND $1 IS NULL{}",
            tx.for_update()
        ),
    };
    tx.fetch_optional(&sql, &args![platform_id, name]).await
}

pub async fn insert(tx: &mut Tx, skill: &NewSkill<'_>) -> Result<SkillRow, sqlx::Error> {
    let sql = format!(
        "INSERT INTO skills (id, platform_id, name, description, version, body, sha256, \
         files, file_count, size_bytes, source, created_by_end_user_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING {RETURNING}"
    );
    tx.fetch_one(
        &sql,
        &args![
            skill.id,
            skill.platform_id,
            skill.name,
            skill.description,
            skill.version,
            skill.body,
            skill.sha256,
            files_json(&skill.files),
            skill.files.len() as i64,
            skill.size_bytes,
            skill.source,
            skill.created_by_end_user_id,
            skill.now
        ],
    )
    .await
}

/// A new version of an existing skill (same id, new content).
pub async fn replace_content(
    tx: &mut Tx,
    id: Uuid,
    skill: &NewSkill<'_>,
) -> Result<SkillRow, sqlx::Error> {
    let sql = format!(
        "UPDATE skills SET description = $2, version = $3, body = $4, sha256 = $5, \
         files = $6, file_count = $7, size_bytes = $8, source = $9, \
         created_by_end_user_id = $10, updated_at = $11 WHERE id = $1 RETURNING {RETURNING}"
    );
    tx.fetch_one(
        &sql,
        &args![
            id,
            skill.description,
            skill.version,
            skill.body,
            skill.sha256,
            files_json(&skill.files),
            skill.files.len() as i64,
            skill.size_bytes,
            skill.source,
            skill.created_by_end_user_id,
            skill.now
        ],
    )
    .await
}

fn files_json(files: &[FileEntry]) -> Value {
    serde_json::to_value(files).unwrap_or(Value::Array(Vec::new()))
}

/// Deletes one skill (of `platform_id`, or public when `None`); its blob address.
pub async fn delete(
    tx: &mut Tx,
    id: Uuid,
    platform_id: Option<Uuid>,
) -> Result<Option<String>, sqlx::Error> {
    let sql = match platform_id {
        Some(_) => "DELETE FROM skills WHERE id = $1 AND platform_id = $2 RETURNING sha256",
        None => "DELETE FROM skills WHERE id = $1 AND $2 IS NULL RETURNING sha256",
    };
    Ok(tx
        .fetch_optional::<(String,)>(sql, &args![id, platform_id])
        .await?
        .map(|(sha,)| sha))
}

/// Deletes any skill (the operator's moderation); its blob address.
pub async fn delete_any(tx: &mut Tx, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    Ok(tx
        .fetch_optional::<(String,)>(
            "DELETE FROM skills WHERE id = $1 RETURNING sha256",
            &args![id],
        )
        .await?
        .map(|(sha,)| sha))
}

/// One skill with its review totals, whoever owns it.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<ListedRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, {TOTALS} FROM skills s {REVIEWS_JOIN} WHERE s.id = $1 GROUP BY s.id"
    );
    db.fetch_optional(&sql, &args![id]).await
}

/// Which skills a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Public skills and this platform's private ones.
    VisibleTo(Uuid),
    /// Only this platform's private skills.
    PrivateOf(Uuid),
    /// Only public skills.
    Public,
    /// Every skill (the operator).
    All,
}

impl Listing {
    fn filter(self) -> (&'static str, Option<Uuid>) {
        match self {
            Self::VisibleTo(p) => ("(s.platform_id IS NULL OR s.platform_id = $1)", Some(p)),
            Self::PrivateOf(p) => ("s.platform_id = $1", Some(p)),
            Self::Public => ("s.platform_id IS NULL AND $1 IS NULL", None),
            Self::All => ("$1 IS NULL", None),
        }
    }
}

/// A page of skills by name, with review totals, and how many there are.
pub async fn list(
    db: &Db,
    listing: Listing,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ListedRow>, i64), sqlx::Error> {
    let (filter, platform) = listing.filter();
    let sql = format!(
        "SELECT {COLUMNS}, {TOTALS} FROM skills s {REVIEWS_JOIN} WHERE {filter} \
         GROUP BY s.id ORDER BY s.name, s.platform_id, s.id LIMIT $2 OFFSET $3"
    );
    let rows = db.fetch_all(&sql, &args![platform, limit, offset]).await?;
    let count = format!("SELECT COUNT(*) FROM skills s WHERE {filter}");
    let total: Vec<(i64,)> = db.fetch_all(&count, &args![platform]).await?;
    Ok((rows, total.first().map_or(0, |t| t.0)))
}
