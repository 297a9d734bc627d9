//! Agents' reviews: 1-5 on correctness, clarity, safety and usefulness, with an
//! optional comment; one per end user per skill version. Aggregates shown beside
//! a skill cover its current version. A platform reads its own end users'
//! reviews in full; other platforms' reviewers stay out of sight.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::store::ReviewTotals;
use crate::error::{Error, Result};

const MAX_COMMENT_CHARS: usize = 2000;

/// The four scores as sent (`scores: {correctness, clarity, safety, usefulness}`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scores {
    #[schemars(range(min = 1, max = 5))]
    pub correctness: i64,
    #[schemars(range(min = 1, max = 5))]
    pub clarity: i64,
    #[schemars(range(min = 1, max = 5))]
    pub safety: i64,
    #[schemars(range(min = 1, max = 5))]
    pub usefulness: i64,
}

impl Scores {
    pub fn validate(self) -> Result<Self> {
        for (name, value) in [
            ("correctness", self.correctness),
            ("clarity", self.clarity),
            ("safety", self.safety),
            ("usefulness", self.usefulness),
        ] {
            if !(1..=5).contains(&value) {
                return Err(Error::bad_request(format!(
                    "scores.{name} must be an integer from 1 to 5"
                )));
            }
        }
        Ok(self)
    }
}

pub fn validate_comment(comment: Option<String>) -> Result<Option<String>> {
    let comment = comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(Error::bad_request(format!(
            "comment must be at most {MAX_COMMENT_CHARS} characters"
        )));
    }
    if comment.as_ref().is_some_and(|c| c.contains('\0')) {
        return Err(Error::bad_request(format!(
            "comment: {}",
            crate::domain::nul::NUL_REFUSED
        )));
    }
    Ok(comment)
}

/// Averages of the current version's reviews (`null` scores while there are none).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Scorecard {
    pub count: i64,
    pub correctness: Option<f64>,
    pub clarity: Option<f64>,
    pub safety: Option<f64>,
    pub usefulness: Option<f64>,
    /// The mean of the four.
    pub overall: Option<f64>,
}

impl From<ReviewTotals> for Scorecard {
    fn from(t: ReviewTotals) -> Self {
        let avg =
            |sum: i64| (t.review_count > 0).then(|| round2(sum as f64 / t.review_count as f64));
        let overall = (t.review_count > 0).then(|| {
            round2(
                (t.correctness_sum + t.clarity_sum + t.safety_sum + t.usefulness_sum) as f64
                    / (4 * t.review_count) as f64,
            )
        });
        Self {
            count: t.review_count,
            correctness: avg(t.correctness_sum),
            clarity: avg(t.clarity_sum),
            safety: avg(t.safety_sum),
            usefulness: avg(t.usefulness_sum),
            overall,
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Review {
    pub id: Uuid,
    pub skill_id: Uuid,
    pub skill_version: String,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub correctness: i64,
    pub clarity: i64,
    pub safety: i64,
    pub usefulness: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub struct NewReview {
    pub skill_id: Uuid,
    pub skill_version: String,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub scores: Scores,
    pub comment: Option<String>,
    pub now: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        let ok = Scores {
            correctness: 5,
            clarity: 1,
            safety: 3,
            usefulness: 4,
        };
        assert!(ok.validate().is_ok());
        assert!(Scores { safety: 0, ..ok }.validate().is_err());
        assert!(Scores { clarity: 6, ..ok }.validate().is_err());
        assert!(validate_comment(Some("x".repeat(2001))).is_err());
        assert_eq!(validate_comment(Some("  ".into())).unwrap(), None);
    }

    #[test]
    fn scorecards_average_the_totals() {
        let card = Scorecard::from(ReviewTotals {
            review_count: 3,
            correctness_sum: 14,
            clarity_sum: 12,
            safety_sum: 15,
            usefulness_sum: 10,
        });
        assert_eq!(card.correctness, Some(4.67));
        assert_eq!(card.overall, Some(4.25));
        assert_eq!(Scorecard::from(ReviewTotals::default()).overall, None);
    }
}
