//! Ranked text search over name, description and the SKILL.md body, with each
//! database's own engine: SQLite FTS5 (BM25, weighted 8/4/1) and PostgreSQL
//! full text (a weighted `tsvector` with a GIN index, `ts_rank`). Results hold
//! public skills and the caller's platform's private ones, best first: skills
//! with every word of the query, then skills with some.

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
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "WITH hits AS ( \
                SELECT s.id AS hit_id, bm25(skills_fts, 8.0, 4.0, 1.0) AS rank \
                FROM skills_fts JOIN skills s ON s.seq = skills_fts.rowid \
                WHERE skills_fts MATCH $1 AND (s.platform_id IS NULL OR s.platform_id = $2) \
                ORDER BY rank LIMIT $3) \
             SELECT {COLUMNS}, {TOTALS}, -h.rank AS score \
             FROM hits h JOIN skills s ON s.id = h.hit_id {REVIEWS_JOIN} \
             GROUP BY s.id ORDER BY h.rank, s.name"
        ),
        Backend::Postgres => format!(
            "WITH hits AS ( \
                SELECT s.id AS hit_id, ts_rank(s.search, q)::float8 AS rank \
                FROM skills s, to_tsquery('english', $1) q \
                WHERE s.search @@ q AND (s.platform_id IS NULL OR s.platform_id = $2) \
                ORDER BY rank DESC LIMIT $3) \
             SELECT {COLUMNS}, {TOTALS}, h.rank AS score \
             FROM hits h JOIN skills s ON s.id = h.hit_id {REVIEWS_JOIN} \
             GROUP BY s.id, h.rank ORDER BY h.rank DESC, s.name"
        ),
    };
    db.fetch_all(&sql, &args![expression, platform_id, limit])
        .await
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
