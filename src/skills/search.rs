//! Ranked text search over name, description and the SKILL.md body, with each
//! database's own engine: SQLite FTS5 (BM25, weighted 8/4/1) and PostgreSQL
//! full text (weighted `tsvector`s with GIN indexes, `ts_rank`: name and
//! description matches first, then body-only ones). Results hold public skills
//! and the caller's platform's private ones, best first: skills with every word
//! of the query, then skills with some.

use uuid::Uuid;

use super::store::{COLUMNS, ListedRow, REVIEWS_JOIN, TOTALS};
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
            // FTS5 ranks and keeps the best rows itself (`ORDER BY rank LIMIT`
            // inside the virtual table) without touching `skills` per match;
            // visibility is applied after, over a wider window. Only when other
            // platforms' private skills crowd that window out is it ranked again
            // without one.
            // Partial matches (some of the words) are ranked among the first
            // found, as on PostgreSQL below.
            if !every {
                return sqlite_ranked(db, platform_id, &expression, Candidates::FirstFound, limit)
                    .await;
            }
            let window = limit.saturating_mul(4).max(32);
            let hits = sqlite_ranked(
                db,
                platform_id,
                &expression,
                Candidates::Best(window),
                limit,
            )
            .await?;
            if (hits.len() as i64) < limit
                && sqlite_window_was_full(db, &expression, window).await?
            {
                return sqlite_ranked(db, platform_id, &expression, Candidates::All, limit).await;
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

/// Column weights of FTS5's `rank` (BM25): name, description, body.
const SQLITE_RANK: &str = "bm25(8.0, 4.0, 1.0)";
const SQLITE_BM25: &str = "bm25(skills_fts, 8.0, 4.0, 1.0)";

/// Which FTS5 matches are ranked before visibility is applied.
#[derive(Clone, Copy)]
enum Candidates {
    /// The best `n` by rank, ranked inside FTS5.
    Best(i64),
    /// Every match.
    All,
    /// The first [`PARTIAL_CANDIDATES`] matches found, ranked after.
    FirstFound,
}

async fn sqlite_ranked(
    db: &Db,
    platform_id: Uuid,
    expression: &str,
    candidates: Candidates,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let ranked = match candidates {
        Candidates::Best(n) => format!(
            "SELECT rowid AS seq, rank FROM skills_fts \
             WHERE skills_fts MATCH $1 AND rank MATCH '{SQLITE_RANK}' ORDER BY rank LIMIT {n}"
        ),
        Candidates::All => format!(
            "SELECT rowid AS seq, rank FROM skills_fts \
             WHERE skills_fts MATCH $1 AND rank MATCH '{SQLITE_RANK}'"
        ),
        Candidates::FirstFound => format!(
            "SELECT rowid AS seq, {SQLITE_BM25} AS rank FROM skills_fts \
             WHERE skills_fts MATCH $1 LIMIT {PARTIAL_CANDIDATES}"
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
    expression: &str,
    window: i64,
) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = db
        .fetch_optional(
            "SELECT rowid FROM skills_fts WHERE skills_fts MATCH $1 LIMIT 1 OFFSET $2",
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
