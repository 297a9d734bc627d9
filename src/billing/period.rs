//! Budget periods: `one_time`, `daily`, `monthly`, resetting at UTC boundaries.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    OneTime,
    Daily,
    Monthly,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneTime => "one_time",
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "one_time" => Some(Self::OneTime),
            "daily" => Some(Self::Daily),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }

    /// Start of the period containing `now` (for `one_time`: `now` itself, as it
    /// never resets).
    pub fn start_of(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let date = now.date_naive();
        let day = match self {
            Self::OneTime => return now,
            Self::Daily => date,
            Self::Monthly => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date),
        };
        Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
    }

    /// When the period that started at `start` ends, if it ever does.
    pub fn next_reset(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let date = start.date_naive();
        let next = match self {
            Self::OneTime => return None,
            Self::Daily => date.succ_opt()?,
            Self::Monthly => {
                let (year, month) = if date.month() == 12 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), date.month() + 1)
                };
                NaiveDate::from_ymd_opt(year, month, 1)?
            }
        };
        Some(Utc.from_utc_datetime(&next.and_time(chrono::NaiveTime::MIN)))
    }

    /// Whether a period that started at `start` has ended by `now`.
    pub fn has_rolled_over(self, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.next_reset(start).is_some_and(|reset| now >= reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn boundaries_are_utc_days_and_months() {
        let now = at("2026-12-31T23:59:59Z");
        assert_eq!(Period::Daily.start_of(now), at("2026-12-31T00:00:00Z"));
        assert_eq!(Period::Monthly.start_of(now), at("2026-12-01T00:00:00Z"));
        assert_eq!(
            Period::Daily.next_reset(Period::Daily.start_of(now)),
            Some(at("2027-01-01T00:00:00Z"))
        );
        assert_eq!(
            Period::Monthly.next_reset(at("2026-12-01T00:00:00Z")),
            Some(at("2027-01-01T00:00:00Z"))
        );
        assert_eq!(
            Period::Monthly.next_reset(at("2027-01-01T00:00:00Z")),
            Some(at("2027-02-01T00:00:00Z"))
        );
        assert!(
            !Period::Daily
                .has_rolled_over(at("2026-12-31T00:00:00Z"), at("2026-12-31T23:59:59.999Z"))
        );
        assert!(
            Period::Daily.has_rolled_over(at("2026-12-31T00:00:00Z"), at("2027-01-01T00:00:00Z"))
        );
        assert!(
            !Period::OneTime
                .has_rolled_over(at("2020-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z"))
        );
    }
}
