//! Master-key rotation: every sealed value not yet under the current key is opened
//! (under a previous key, or the current one for values from before key ids) and
//! sealed again under the current key, with the same associated data.
//!
//! Database columns go in batches, one transaction each: a batch selects values
//! whose key-id header is not the current one, so an interrupted run resumes where
//! it stopped and a finished run finds nothing left. Each update also matches the
//! old ciphertext, so a value a live instance rewrote meanwhile is left alone (that
//! instance sealed it under the current key already). Skill blobs are rewritten file
//! by file (temporary file, then rename).

use std::sync::Arc;

use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::columns::{KeyType, SEALED_COLUMNS, SealedColumn};
use crate::oauth::vault::{Vault, aad};
use crate::skills::blobs::BlobStore;
use crate::store::{Backend, Db};
use crate::with_pool;

/// What a rotation rewrote.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Hex id of the key everything is now sealed under.
    pub key_id: String,
    /// `table.column` -> values re-encrypted.
    pub columns: Vec<ColumnReport>,
    pub blobs_resealed: u64,
    pub batches: u64,
}

#[derive(Debug, Serialize)]
pub struct ColumnReport {
    pub column: String,
    pub resealed: u64,
}

/// Why a rotation stopped.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(
        "{what} does not decrypt with the current or any previous master key; \
         add the key it was sealed with to ASSISTIV_PREVIOUS_MASTER_KEYS and run again"
    )]
    Undecryptable { what: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// A primary-key value as read from a row.
#[derive(Debug, Clone)]
enum KeyValue {
    Uuid(Uuid),
    Text(String),
}

impl KeyValue {
    fn as_aad_part(&self) -> String {
        match self {
            Self::Uuid(u) => u.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// A value to rewrite: its key, old and new ciphertext.
struct Rewrite {
    key: Vec<KeyValue>,
    old: Vec<u8>,
    new: Vec<u8>,
}

/// Re-encrypts every sealed column under the vault's current key, `batch` rows per
/// transaction.
pub async fn rotate_columns(
    db: &Db,
    vault: &Vault,
    batch: u32,
    report: &mut Report,
) -> Result<(), RotateError> {
    for column in SEALED_COLUMNS {
        let resealed = rotate_column(db, vault, column, batch.max(1), &mut report.batches).await?;
        report.columns.push(ColumnReport {
            column: column.name(),
            resealed,
        });
    }
    Ok(())
}

async fn rotate_column(
    db: &Db,
    vault: &Vault,
    column: &SealedColumn,
    batch: u32,
    batches: &mut u64,
) -> Result<u64, RotateError> {
    let header = vault.current_header();
    let keys: Vec<&str> = column.key.iter().map(|(name, _)| *name).collect();
    let (table, col) = (column.table, column.column);
    let lock = if db.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let select = format!(
        "SELECT {}, {col} FROM {table} WHERE {col} IS NOT NULL \
         AND (length({col}) <= $1 OR substr({col}, 1, $1) <> $2) LIMIT $3{lock}",
        keys.join(", ")
    );
    let matches: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", i + 2))
        .collect();
    let update = format!(
        "UPDATE {table} SET {col} = $1 WHERE {} AND {col} = ${}",
        matches.join(" AND "),
        keys.len() + 2
    );
    let mut total = 0u64;
    loop {
        let resealed: Option<u64> = with_pool!(db.write(), pool => {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(&select)
                .bind(header.len() as i32)
                .bind(header.clone())
                .bind(i64::from(batch))
                .fetch_all(&mut *tx)
                .await?;
            let mut rewrites = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut key = Vec::with_capacity(column.key.len());
                for (i, (_, kind)) in column.key.iter().enumerate() {
                    key.push(match kind {
                        KeyType::Uuid => KeyValue::Uuid(row.try_get::<Uuid, _>(i)?),
                        KeyType::Text => KeyValue::Text(row.try_get::<String, _>(i)?),
                    });
                }
                let old: Vec<u8> = row.try_get(column.key.len())?;
                rewrites.push(reseal_row(vault, column, key, old)?);
            }
            let mut done = 0u64;
            for rewrite in &rewrites {
                let mut query = sqlx::query(&update).bind(rewrite.new.clone());
                for value in &rewrite.key {
                    query = match value {
                        KeyValue::Uuid(u) => query.bind(*u),
                        KeyValue::Text(t) => query.bind(t.clone()),
                    };
                }
                done += query
                    .bind(rewrite.old.clone())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            if rows.is_empty() {
                None
            } else {
                Some(done)
            }
        });
        let Some(resealed) = resealed else { break };
        *batches += 1;
        total += resealed;
        tracing::info!(column = %column.name(), resealed, total, "re-encrypted a batch");
    }
    Ok(total)
}

fn reseal_row(
    vault: &Vault,
    column: &SealedColumn,
    key: Vec<KeyValue>,
    old: Vec<u8>,
) -> Result<Rewrite, RotateError> {
    let parts: Vec<String> = key.iter().map(KeyValue::as_aad_part).collect();
    let aad = column.aad_of(&parts).map_err(RotateError::Other)?;
    let undecryptable = || RotateError::Undecryptable {
        what: format!("{} of the row {}", column.name(), parts.join("/")),
    };
    let new = vault
        .reseal(&old, &aad)
        .map_err(|_| undecryptable())?
        .ok_or_else(undecryptable)?;
    Ok(Rewrite { key, old, new })
}

/// Re-encrypts every skill blob the database knows of under the current key.
pub async fn rotate_blobs(
    db: &Db,
    store: Arc<dyn BlobStore>,
    vault: &Vault,
) -> Result<u64, RotateError> {
    let addresses: Vec<String> = with_pool!(db.read(), pool => {
        sqlx::query_scalar("SELECT sha256 FROM skill_blobs ORDER BY sha256")
            .fetch_all(pool)
            .await
    })?;
    let mut resealed = 0u64;
    for address in addresses {
        let Some(sealed) = store.get(&address).await? else {
            tracing::warn!(%address, "a skill blob is missing from the blob store; skipped");
            continue;
        };
        let Some(new) = vault
            .reseal(&sealed, &aad::skill_blob(&address))
            .map_err(|_| RotateError::Undecryptable {
                what: format!("the skill blob {address}"),
            })?
        else {
            continue;
        };
        store.replace(&address, &new).await?;
        resealed += 1;
    }
    Ok(resealed)
}

/// Rotates the columns, then the blobs.
pub async fn rotate_all(
    db: &Db,
    blobs: Arc<dyn BlobStore>,
    vault: &Vault,
    batch: u32,
) -> Result<Report, RotateError> {
    let mut report = Report {
        key_id: hex::encode(vault.current_key_id()),
        ..Report::default()
    };
    rotate_columns(db, vault, batch, &mut report).await?;
    report.blobs_resealed = rotate_blobs(db, blobs, vault).await?;
    Ok(report)
}
