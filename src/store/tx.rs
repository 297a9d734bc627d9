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
///
/// On SQLite every statement is a round trip to the connection's worker thread,
/// and the single writer runs statements one after another, so round trips bound
/// write throughput. Write-only statements whose outcome nobody reads (ledger rows,
/// outbox events) can be [deferred](Tx::defer): they are sent ahead of the next
/// statement in the same round trip (or before commit), in the same order, so what
/// every statement sees is unchanged.
pub struct Tx {
    conn: Conn,
    deferred: Deferred,
}

enum Conn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Statements waiting to be sent, joined, with their placeholders renumbered
/// into one argument list.
#[derive(Default)]
struct Deferred {
    sql: String,
    args: Vec<Arg>,
    statements: usize,
}

/// Flush early past this many deferred statements (bounds one round trip).
const MAX_DEFERRED: usize = 16;

impl Deferred {
    fn push(&mut self, sql: &str, args: &[Arg]) {
        self.sql.push_str(&shift_placeholders(sql, self.args.len()));
        self.sql.push_str(";\n");
        self.args.extend_from_slice(args);
        self.statements += 1;
    }

    /// The deferred statements followed by `statements` (which share `args`), and
    /// all their arguments; the deferred queue is left empty.
    fn join(&mut self, statements: &[&str], args: &[Arg]) -> (String, Vec<Arg>) {
        let Deferred {
            mut sql,
            args: mut all_args,
            ..
        } = std::mem::take(self);
        let offset = all_args.len();
        for (i, statement) in statements.iter().enumerate() {
            if i > 0 {
                sql.push_str(";\n");
            }
            sql.push_str(&shift_placeholders(statement, offset));
        }
        all_args.extend_from_slice(args);
        (sql, all_args)
    }
}

/// Renumbers `$N` placeholders to `$(N + offset)`, so statements sent together
/// share one argument list. Our SQL never has `$<digit>` inside a literal.
fn shift_placeholders(sql: &str, offset: usize) -> std::borrow::Cow<'_, str> {
    if offset == 0 || !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            out.push_str(&(n + offset).to_string());
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

impl Db {
    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self.write() {
            Pool::Sqlite(pool) => Tx {
                conn: Conn::Sqlite(pool.begin().await?),
                deferred: Deferred::default(),
            },
            Pool::Postgres(pool) => Tx {
                conn: Conn::Postgres(pool.begin().await?),
                deferred: Deferred::default(),
            },
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
        match self.conn {
            Conn::Sqlite(_) => "",
            Conn::Postgres(_) => " FOR UPDATE",
        }
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        if self.deferred.statements > 0 {
            let counts = self.execute_each(&[sql], args).await?;
            return Ok(counts.last().copied().unwrap_or_default());
        }
        Ok(match &mut self.conn {
            Conn::Sqlite(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Conn::Postgres(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// Runs write statements that share one argument list (`$N` numbers into
    /// `args`), in order, and answers each one's rows affected. On SQLite they all
    /// run, in one round trip. On PostgreSQL they run one after another and stop
    /// at the first that changed no row (the rest answer 0), so a failed check
    /// never takes the row locks of the statements after it (lock order is what
    /// keeps concurrent transactions free of deadlocks). Either way, a caller that
    /// needs "only if the ones before changed a row" undoes by the counts.
    pub async fn execute_each(
        &mut self,
        statements: &[&str],
        args: &[Arg],
    ) -> Result<Vec<u64>, sqlx::Error> {
        match &mut self.conn {
            Conn::Sqlite(tx) => Ok(sqlite_each(tx, &mut self.deferred, statements, args)
                .await?
                .into_iter()
                .map(|outcome| outcome.changed)
                .collect()),
            Conn::Postgres(tx) => {
                let mut counts = Vec::with_capacity(statements.len());
                for sql in statements {
                    let changed = match counts.last() {
                        Some(0) => 0,
                        _ => bind_all!(sqlx::query(sql), args)
                            .execute(&mut **tx)
                            .await?
                            .rows_affected(),
                    };
                    counts.push(changed);
                }
                Ok(counts)
            }
        }
    }

    /// Runs statements that share one argument list, in order, and answers each
    /// one's rows (from `RETURNING`); on SQLite in one round trip. Unlike
    /// [`Tx::execute_each`], every statement runs on both databases.
    pub async fn fetch_each(
        &mut self,
        statements: &[&str],
        args: &[Arg],
    ) -> Result<Vec<Rows>, sqlx::Error> {
        match &mut self.conn {
            Conn::Sqlite(tx) => Ok(sqlite_each(tx, &mut self.deferred, statements, args)
                .await?
                .into_iter()
                .map(|outcome| Rows(outcome.rows.into_iter().map(AnyRow::Sqlite).collect()))
                .collect()),
            Conn::Postgres(tx) => {
                let mut answers = Vec::with_capacity(statements.len());
                for sql in statements {
                    let rows = bind_all!(sqlx::query(sql), args)
                        .fetch_all(&mut **tx)
                        .await?;
                    answers.push(Rows(rows.into_iter().map(AnyRow::Postgres).collect()));
                }
                Ok(answers)
            }
        }
    }

    /// Whether concurrent transactions' statements never interleave (SQLite's one
    /// writer): what a statement reads stays true for the rest of the transaction.
    pub fn single_writer(&self) -> bool {
        matches!(self.conn, Conn::Sqlite(_))
    }

    /// Queues a write-only statement (no `RETURNING`, no result anyone reads)
    /// to be sent with the next statement or before commit; on PostgreSQL it runs
    /// now. Its failure fails that later statement (or the commit), which fails
    /// the transaction all the same.
    pub async fn defer(&mut self, sql: &str, args: &[Arg]) -> Result<(), sqlx::Error> {
        debug_assert!(
            !sql.contains("RETURNING"),
            "deferred statements answer nothing"
        );
        match &mut self.conn {
            Conn::Sqlite(_) => {
                self.deferred.push(sql, args);
                if self.deferred.statements >= MAX_DEFERRED {
                    self.flush().await?;
                }
                Ok(())
            }
            Conn::Postgres(_) => self.execute(sql, args).await.map(|_| ()),
        }
    }

    /// Sends the deferred statements now.
    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if let Conn::Sqlite(tx) = &mut self.conn
            && self.deferred.statements > 0
        {
            sqlite_each(tx, &mut self.deferred, &[], &[]).await?;
        }
        Ok(())
    }

    pub async fn fetch_optional<T: Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<T>, sqlx::Error> {
        match &mut self.conn {
            Conn::Sqlite(tx) if self.deferred.statements == 0 => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(&mut **tx)
                    .await
            }
            Conn::Sqlite(tx) => {
                // Deferred statements answer no rows, so the rows are `sql`'s.
                let (sql, args) = self.deferred.join(&[sql], args);
                bind_all!(sqlx::query_as::<Sqlite, T>(&sql), &args)
                    .fetch_optional(&mut **tx)
                    .await
            }
            Conn::Postgres(tx) => {
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
        match &mut self.conn {
            Conn::Sqlite(tx) if self.deferred.statements == 0 => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(&mut **tx)
                    .await
            }
            Conn::Sqlite(tx) => {
                // Deferred statements answer no rows, so the rows are `sql`'s.
                let (sql, args) = self.deferred.join(&[sql], args);
                bind_all!(sqlx::query_as::<Sqlite, T>(&sql), &args)
                    .fetch_all(&mut **tx)
                    .await
            }
            Conn::Postgres(tx) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
    }

    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.flush().await?;
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await,
            Conn::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.conn {
            Conn::Sqlite(tx) => tx.rollback().await,
            Conn::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// The rows one statement of [`Tx::fetch_each`] answered.
pub struct Rows(Vec<AnyRow>);

enum AnyRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Rows {
    /// The first row decoded as `T`, if the statement answered any.
    pub fn first<T: Row>(&self) -> Result<Option<T>, sqlx::Error> {
        self.0
            .first()
            .map(|row| match row {
                AnyRow::Sqlite(row) => T::from_row(row),
                AnyRow::Postgres(row) => T::from_row(row),
            })
            .transpose()
    }
}

/// What one statement of a multi-statement round trip did.
struct Outcome {
    changed: u64,
    rows: Vec<SqliteRow>,
}

/// Sends the deferred statements, then `statements` (sharing `args`), in one round
/// trip, and answers each of `statements`' outcomes. sqlx marks SQLite's
/// several-statements-per-query as deprecated (no other driver has it); 0.8 keeps
/// it, and it is what saves the round trips.
async fn sqlite_each(
    tx: &mut Transaction<'static, Sqlite>,
    deferred: &mut Deferred,
    statements: &[&str],
    args: &[Arg],
) -> Result<Vec<Outcome>, sqlx::Error> {
    use futures::TryStreamExt;
    let expected = deferred.statements + statements.len();
    let skipped = deferred.statements;
    let (sql, args) = deferred.join(statements, args);
    #[allow(deprecated)]
    let mut steps = bind_all!(sqlx::query(&sql), &args).fetch_many(&mut **tx);
    let (mut outcomes, mut rows) = (Vec::with_capacity(expected), Vec::new());
    while let Some(step) = steps.try_next().await? {
        match step {
            // A statement's rows come before its result.
            sqlx::Either::Right(row) => rows.push(row),
            sqlx::Either::Left(done) => outcomes.push(Outcome {
                changed: done.rows_affected(),
                rows: std::mem::take(&mut rows),
            }),
        }
    }
    if outcomes.len() != expected {
        return Err(sqlx::Error::Protocol(format!(
            "{expected} statements answered {} results",
            outcomes.len()
        )));
    }
    Ok(outcomes.split_off(skipped))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    #[test]
    fn placeholders_shift_past_earlier_arguments() {
        assert_eq!(
            shift_placeholders("VALUES ($1, $2, '$.x', $10) -- $", 3),
            "VALUES ($4, $5, '$.x', $13) -- $"
        );
        assert_eq!(shift_placeholders("WHERE id = $1", 0), "WHERE id = $1");
    }

    async fn sqlite_tx() -> (Db, Tx, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(&Config::for_data_dir(dir.path().to_path_buf()))
            .await
            .expect("connect");
        let mut tx = db.begin().await.expect("begin");
        tx.execute("CREATE TEMP TABLE t (k INTEGER PRIMARY KEY, v TEXT)", &[])
            .await
            .expect("create");
        (db, tx, dir)
    }

    #[tokio::test]
    async fn deferred_writes_run_in_order_before_the_next_statement() {
        let (_db, mut tx, _dir) = sqlite_tx().await;
        tx.defer("INSERT INTO t (k, v) VALUES ($1, $2)", &args![1_i64, "a"])
            .await
            .expect("defer");
        tx.defer("INSERT INTO t (k, v) VALUES ($1, $2)", &args![2_i64, "b"])
            .await
            .expect("defer");
        // The statement sees both rows, and answers only its own count.
        let changed = tx
            .execute("UPDATE t SET v = $2 WHERE k >= $1", &args![2_i64, "c"])
            .await
            .expect("update");
        assert_eq!(changed, 1);
        tx.defer("INSERT INTO t (k, v) VALUES ($1, $2)", &args![3_i64, "d"])
            .await
            .expect("defer");
        let rows: Vec<(i64, String)> = tx
            .fetch_all("SELECT k, v FROM t ORDER BY k", &[])
            .await
            .expect("select");
        assert_eq!(rows, [(1, "a".into()), (2, "c".into()), (3, "d".into())]);
        let counts = tx
            .execute_each(
                &[
                    "UPDATE t SET v = $1 WHERE k = 1",
                    "DELETE FROM t WHERE k = $2",
                    "DELETE FROM t WHERE k = 99",
                ],
                &args!["z", 3_i64],
            )
            .await
            .expect("execute_each");
        assert_eq!(counts, [1, 1, 0]);
    }

    #[tokio::test]
    async fn fetch_each_answers_each_statements_rows_after_deferred_writes() {
        let (_db, mut tx, _dir) = sqlite_tx().await;
        tx.defer("INSERT INTO t (k, v) VALUES ($1, $2)", &args![1_i64, "a"])
            .await
            .expect("defer");
        let answers = tx
            .fetch_each(
                &[
                    "UPDATE t SET v = $1 WHERE k = 1 RETURNING k, v",
                    "UPDATE t SET v = $1 WHERE k = 2 RETURNING k, v",
                    "DELETE FROM t WHERE k = 1 RETURNING k, v",
                ],
                &args!["b"],
            )
            .await
            .expect("fetch_each");
        assert_eq!(answers.len(), 3);
        let first: Option<(i64, String)> = answers[0].first().expect("decode");
        let second: Option<(i64, String)> = answers[1].first().expect("decode");
        let third: Option<(i64, String)> = answers[2].first().expect("decode");
        assert_eq!(first, Some((1, "b".into())));
        assert_eq!(second, None);
        assert_eq!(third, Some((1, "b".into())));
    }

    #[tokio::test]
    async fn a_failing_deferred_write_fails_the_next_statement() {
        let (_db, mut tx, _dir) = sqlite_tx().await;
        tx.execute("INSERT INTO t (k, v) VALUES (1, 'a')", &[])
            .await
            .expect("insert");
        tx.defer("INSERT INTO t (k, v) VALUES ($1, $2)", &args![1_i64, "dup"])
            .await
            .expect("defer");
        let err = tx
            .execute("UPDATE t SET v = 'b' WHERE k = 1", &[])
            .await
            .expect_err("the deferred duplicate fails here");
        assert!(crate::store::is_unique_violation(&err), "{err}");
    }

    #[tokio::test]
    async fn deferred_writes_are_flushed_by_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(&Config::for_data_dir(dir.path().to_path_buf()))
            .await
            .expect("connect");
        let mut tx = db.begin().await.expect("begin");
        tx.execute("CREATE TABLE kept (k INTEGER PRIMARY KEY)", &[])
            .await
            .expect("create");
        tx.defer("INSERT INTO kept (k) VALUES ($1)", &args![7_i64])
            .await
            .expect("defer");
        tx.commit().await.expect("commit");
        let rows: Vec<(i64,)> = db
            .fetch_all("SELECT k FROM kept", &[])
            .await
            .expect("select");
        assert_eq!(rows, [(7,)]);
    }
}
