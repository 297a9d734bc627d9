//! Ranked text search over name, description and the SKILL.md body, with each
//! database's own engine: SQLite FTS5 (BM25, weighted 8/4/1) and PostgreSQL
//! full text (weighted `tsvector`s with GIN indexes, `ts_rank`: name and
//! description matches first, then body-only ones). Results hold public skills
//! and the caller's platform's private ones, best first: skills with every word
//! of the query, then skills with some.

use uuid::Uuid;

use super::{COLUMNS, ListedRow, REVIEWS_JOIN, TOTALS};
use crate::args;
use crate::store::{Backend, Db};

/// At most this many words of a query are searched.
const MAX_TERMS: usize = 16;
const MAX_TERM_CHARS: usize = 64;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Hit {
    #[sqlx(flatten)]
    pub listed: ListedRow,
    /// Relevance, higher is better; comparable within one answer only.
    pub score: f64,
}

/// The words of a free-text query: letters and digits, lower-cased, unique.
pub fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() || word.chars().count() > MAX_TERM_CHARS {
            continue;
        }
        let word = word.to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

/// All of the words (`every`), or any of them; within either, ranking favours
/// matches in the name over the description over the body.
fn match_expression(backend: Backend, terms: &[String], every: bool) -> String {
    match backend {
        // Quoted FTS5 strings: the words go through the porter tokenizer, and
        // nothing in them is read as query syntax.
        Backend::Sqlite => terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(if every { " AND " } else { " OR " }),
        // Letters and digits only, so to_tsquery sees plain lexemes.
        Backend::Postgres => terms.join(if every { " & " } else { " | " }),
    }
}

/// The best `limit` skills for `query` that `platform_id` may see: those with
/// every word first, then (when they are fewer than `limit`) those with any.
/// Requiring every word keeps the ranked set small, which is most of the cost.
pub async fn find(
    db: &Db,
    platform_id: Uuid,
    query: &str,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let terms = terms(query);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut hits = ranked(db, platform_id, &terms, true, limit).await?;
    if terms.len() > 1 && (hits.len() as i64) < limit {
        for hit in ranked(db, platform_id, &terms, false, limit).await? {
            if (hits.len() as i64) < limit
                && !hits
                    .iter()
                    .any(|h| h.listed.skill.id == hit.listed.skill.id)
            {
                hits.push(hit);
            }
        }
    }
    Ok(hits)
}

async fn ranked(
    db: &Db,
    platform_id: Uuid,
    terms: &[String],
    every: bool,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let expression = match_expression(db.backend(), terms, every);
    match db.backend() {
        Backend::Sqlite => {
            // Name and description matches first (a short-document index), then
            // body matches, as on PostgreSQL below.
            let mut hits =
                sqlite_tier(db, platform_id, &expression, Fts::Head, every, limit).await?;
            if (hits.len() as i64) < limit {
                let rest = limit - hits.len() as i64;
                let body = sqlite_tier(db, platform_id, &expression, Fts::BodyOnly, every, rest);
                hits.extend(body.await?);
            }
            Ok(hits)
        }
        Backend::Postgres => {
            // Skills with only some of the words come after every full match;
            // among them, ranking thousands of holders of one common word is
            // most of a query's cost, so they are ranked among the first found.
            let head = if every { Tier::Head } else { Tier::HeadPartial };
            let mut hits = postgres_ranked(db, platform_id, &expression, head, limit).await?;
            if (hits.len() as i64) < limit {
                let rest = limit - hits.len() as i64;
                hits.extend(
                    postgres_ranked(db, platform_id, &expression, Tier::BodyOnly, rest).await?,
                );
            }
            Ok(hits)
        }
    }
}

/// PostgreSQL ranks skills whose name or description match first (on the
/// small `skill_search.head` vector), then those that match in the body only.
#[derive(Clone, Copy)]
enum Tier {
    Head,
    /// Name/description matches of some of the words: the first
    /// [`PARTIAL_CANDIDATES`] found are ranked.
    HeadPartial,
    BodyOnly,
}

/// Skills holding only some of a query's words are ranked among the first this
/// many found (both engines).
const PARTIAL_CANDIDATES: i64 = 1000;

/// Body-only matches are ranked among the first this many found: ranking every
/// body that holds a common word would read thousands of vectors, and these
/// come after every name and description match anyway.
const BODY_CANDIDATES: i64 = 200;

async fn postgres_ranked(
    db: &Db,
    platform_id: Uuid,
    expression: &str,
    tier: Tier,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let candidates = match tier {
        Tier::Head => "SELECT ss.skill_id, ts_rank(ss.head, q)::float8 AS rank \
            FROM skill_search ss, to_tsquery('english', $1) q \
            WHERE ss.head @@ q AND (ss.platform_id IS NULL OR ss.platform_id = $2)"
            .to_owned(),
        Tier::HeadPartial => format!(
            "SELECT ss.skill_id, ts_rank(ss.head, q)::float8 AS rank \
            FROM skill_search ss, to_tsquery('english', $1) q \
            WHERE ss.head @@ q AND (ss.platform_id IS NULL OR ss.platform_id = $2) \
            LIMIT {PARTIAL_CANDIDATES}"
        ),
        Tier::BodyOnly => format!(
            "SELECT ss.skill_id, ts_rank(ss.body, q)::float8 AS rank \
            FROM skill_search ss, to_tsquery('english', $1) q \
            WHERE ss.body @@ q AND NOT ss.head @@ q \
            AND (ss.platform_id IS NULL OR ss.platform_id = $2) LIMIT {BODY_CANDIDATES}"
        ),
    };
    let sql = format!(
        "WITH candidates AS ({candidates}), \
         hits AS (SELECT skill_id AS hit_id, rank FROM candidates ORDER BY rank DESC LIMIT $3) \
         SELECT {COLUMNS}, {TOTALS}, h.rank AS score \
         FROM hits h JOIN skills s ON s.id = h.hit_id {REVIEWS_JOIN} \
         GROUP BY s.id, h.rank ORDER BY h.rank DESC, s.name"
    );
    db.fetch_all(&sql, &args![expression.to_owned(), platform_id, limit])
        .await
}

/// The two SQLite indexes a query is ranked on, in order.
#[derive(Clone, Copy)]
enum Fts {
    /// `skills_head_fts`: name and description.
    Head,
    /// `skills_fts` (name, description, body), less what the head tier found.
    BodyOnly,
}

impl Fts {
    fn table(self) -> &'static str {
        match self {
            Fts::Head => "skills_head_fts",
            Fts::BodyOnly => "skills_fts",
        }
    }

    /// BM25 column weights: name, description (, body).
    fn weights(self) -> &'static str {
        match self {
            Fts::Head => "8.0, 4.0",
            Fts::BodyOnly => "8.0, 4.0, 1.0",
        }
    }

    fn expression(self, expression: &str) -> String {
        match self {
            Fts::Head => expression.to_owned(),
            Fts::BodyOnly => format!("({expression}) NOT {{name description}} : ({expression})"),
        }
    }
}

/// Which FTS5 matches are ranked before visibility is applied.
#[derive(Clone, Copy)]
enum Candidates {
    /// The best `n` by rank, ranked inside FTS5.
    Best(i64),
    /// Every match.
    All,
    /// The first `n` matches found, ranked after.
    FirstFound(i64),
}

/// One tier: FTS5 ranks and keeps the best rows itself (`ORDER BY rank LIMIT`
/// inside the virtual table) without touching `skills` per match; visibility is
/// applied after, over a wider window, and only when other platforms' private
/// skills crowd that window out is it ranked again without one. Partial matches
/// (some of the words) and body-only ones are ranked among the first found.
async fn sqlite_tier(
    db: &Db,
    platform_id: Uuid,
    expression: &str,
    fts: Fts,
    every: bool,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let expression = fts.expression(expression);
    if !every {
        let first = Candidates::FirstFound(PARTIAL_CANDIDATES);
        return sqlite_ranked(db, platform_id, fts, &expression, first, limit).await;
    }
    if let Fts::BodyOnly = fts {
        let first = Candidates::FirstFound(BODY_CANDIDATES);
        return sqlite_ranked(db, platform_id, fts, &expression, first, limit).await;
    }
    let window = limit.saturating_mul(4).max(32);
    let best = Candidates::Best(window);
    let hits = sqlite_ranked(db, platform_id, fts, &expression, best, limit).await?;
    if (hits.len() as i64) < limit && sqlite_window_was_full(db, fts, &expression, window).await? {
        return sqlite_ranked(db, platform_id, fts, &expression, Candidates::All, limit).await;
    }
    Ok(hits)
}

async fn sqlite_ranked(
    db: &Db,
    platform_id: Uuid,
    fts: Fts,
    expression: &str,
    candidates: Candidates,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let (table, weights) = (fts.table(), fts.weights());
    let ranked = match candidates {
        Candidates::Best(n) => format!(
            "SELECT rowid AS seq, rank FROM {table} \
             WHERE {table} MATCH $1 AND rank MATCH 'bm25({weights})' ORDER BY rank LIMIT {n}"
        ),
        Candidates::All => format!(
            "SELECT rowid AS seq, rank FROM {table} \
             WHERE {table} MATCH $1 AND rank MATCH 'bm25({weights})'"
        ),
        Candidates::FirstFound(n) => format!(
            "SELECT rowid AS seq, bm25({table}, {weights}) AS rank FROM {table} \
             WHERE {table} MATCH $1 LIMIT {n}"
        ),
    };
    let sql = format!(
        "WITH ranked AS ({ranked}), \
         hits AS ( \
            SELECT s.id AS hit_id, ranked.rank AS rank FROM ranked JOIN skills s ON s.seq = ranked.seq \
            WHERE s.platform_id IS NULL OR s.platform_id = $2 \
            ORDER BY ranked.rank LIMIT $3) \
         SELECT {COLUMNS}, {TOTALS}, -h.rank AS score \
         FROM hits h JOIN skills s ON s.id = h.hit_id {REVIEWS_JOIN} \
         GROUP BY s.id ORDER BY h.rank, s.name"
    );
    db.fetch_all(&sql, &args![expression.to_owned(), platform_id, limit])
        .await
}

/// Whether the match has at least `window` rows (so a window may have hidden
/// visible ones past it).
async fn sqlite_window_was_full(
    db: &Db,
    fts: Fts,
    expression: &str,
    window: i64,
) -> Result<bool, sqlx::Error> {
    let table = fts.table();
    let row: Option<(i64,)> = db
        .fetch_optional(
            &format!("SELECT rowid FROM {table} WHERE {table} MATCH $1 LIMIT 1 OFFSET $2"),
            &args![expression.to_owned(), window - 1],
        )
        .await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_plain_words() {
        assert_eq!(
            terms("Fill PDF forms; merge-PDFs \"now\" OR NOT*"),
            ["fill", "pdf", "forms", "merge", "pdfs", "now", "or", "not"]
        );
        assert!(terms("  ;;; **").is_empty());
        let many = (0..40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(terms(&many).len(), MAX_TERMS);
        assert_eq!(
            match_expression(Backend::Sqlite, &terms("a b"), false),
            "\"a\" OR \"b\""
        );
        assert_eq!(
            match_expression(Backend::Sqlite, &terms("a b"), true),
            "\"a\" AND \"b\""
        );
        assert_eq!(
            match_expression(Backend::Postgres, &terms("a b"), false),
            "a | b"
        );
    }
}
