//! Backend-neutral transactions for multi-statement money moves: [`Tx`] wraps a
//! SQLite or PostgreSQL transaction, and statements take their binds as [`Arg`]s,
//! so one function body serves both databases.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};
use uuid::Uuid;

use super::{Db, Pool};

/// One bind value.
#[derive(Debug, Clone)]
pub enum Arg {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    I64(i64),
    OptI64(Option<i64>),
    F64(f64),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    OptBool(Option<bool>),
    Time(DateTime<Utc>),
    Json(Value),
    OptJson(Option<Value>),
    /// BLOB on SQLite, BYTEA on PostgreSQL.
    Bytes(Vec<u8>),
    OptBytes(Option<Vec<u8>>),
}

impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Self::Uuid(v)
    }
}
impl From<Option<Uuid>> for Arg {
    fn from(v: Option<Uuid>) -> Self {
        Self::OptUuid(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::I64(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Self::OptI64(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Self::F64(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::OptText(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Self::OptText(v.map(str::to_owned))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Self::OptBool(v)
    }
}
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Self::Time(v)
    }
}
impl From<Value> for Arg {
    fn from(v: Value) -> Self {
        Self::Json(v)
    }
}
impl From<Option<Value>> for Arg {
    fn from(v: Option<Value>) -> Self {
        Self::OptJson(v)
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}
impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Self {
        Self::OptBytes(v)
    }
}

/// `[Arg::from(a), Arg::from(b), ...]`: the binds of one statement.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        [$($crate::store::tx::Arg::from($value)),*]
    };
}

/// Binds `args` onto a query or query_as of either backend.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Uuid(v) => query.bind(*v),
                Arg::OptUuid(v) => query.bind(*v),
                Arg::I64(v) => query.bind(*v),
                Arg::OptI64(v) => query.bind(*v),
                Arg::F64(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::OptText(v) => query.bind(v.as_deref()),
                Arg::Bool(v) => query.bind(*v),
                Arg::OptBool(v) => query.bind(*v),
                Arg::Time(v) => query.bind(*v),
                Arg::Json(v) => query.bind(Json(v)),
                Arg::OptJson(v) => query.bind(v.as_ref().map(Json)),
                Arg::Bytes(v) => query.bind(v.as_slice()),
                Arg::OptBytes(v) => query.bind(v.as_deref()),
            };
        }
        query
    }};
}

/// A row type both drivers can decode (derive `sqlx::FromRow`).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A write transaction on either backend.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Db {
    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self.write() {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs a read query outside a transaction.
    pub async fn fetch_all<T: Row>(&self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        match self.read() {
            Pool::Sqlite(pool) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(pool)
                    .await
            }
        }
    }

    pub async fn fetch_optional<T: Row>(
        &self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, sqlx::Error> {
        match self.read() {
            Pool::Sqlite(pool) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_optional(pool)
                    .await
            }
        }
    }
}

impl Tx {
    /// ` FOR UPDATE` on PostgreSQL (row lock for read-modify-write); nothing on
    /// SQLite, whose single write connection already serializes writers.
    pub fn for_update(&self) -> &'static str {
        match self {
            Tx::Sqlite(_) => "",
            Tx::Postgres(_) => " FOR UPDATE",
        }
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_optional<T: Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_optional(&mut **tx)
                    .await
            }
        }
    }

    pub async fn fetch_one<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<T, sqlx::Error> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn fetch_all<T: Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}
