//! `Money`: integer micro-USD. USD decimals exist only at the JSON edge, converted
//! exactly (through a decimal, never through float arithmetic) and rounded half to
//! even at the micro-dollar.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};
use serde_json::Number;

use crate::error::Error;

pub const MICROS_PER_USD: i64 = 1_000_000;
/// The largest amount the API accepts: one billion USD.
const MAX_ABS_USD: i64 = 1_000_000_000;

/// Serialized as USD (a JSON number); held as integer micro-USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, utoipa::ToSchema)]
#[schema(value_type = f64)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Parses a USD amount as sent in JSON (`5`, `0.25`, `1e-6`). Amounts finer
    /// than a micro-dollar are refused rather than silently rounded.
    pub fn from_usd_json(field: &str, value: &Number) -> Result<Self, Error> {
        let text = value.to_string();
        let decimal = if text.contains(['e', 'E']) {
            Decimal::from_scientific(&text).ok()
        } else {
            text.parse::<Decimal>().ok()
        }
        .ok_or_else(|| Error::bad_request(format!("{field} is not a valid amount")))?;
        if decimal.normalize().scale() > 6 {
            return Err(Error::bad_request(format!(
                "{field} has more than 6 decimal places (the smallest unit is 0.000001 USD)"
            )));
        }
        Self::from_usd_decimal(field, decimal)
    }

    /// A computed USD amount (a price times a quantity), rounded half to even at
    /// the micro-dollar.
    pub fn from_usd_decimal(field: &str, usd: Decimal) -> Result<Self, Error> {
        if usd.abs() > Decimal::from(MAX_ABS_USD) {
            return Err(Error::bad_request(format!(
                "{field} is out of range: at most {MAX_ABS_USD} USD"
            )));
        }
        let micros = (usd * Decimal::from(MICROS_PER_USD))
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
            .to_i64()
            .ok_or_else(|| Error::bad_request(format!("{field} is out of range")))?;
        Ok(Self(micros))
    }

    /// The amount in USD, for JSON.
    pub fn to_usd(self) -> f64 {
        Decimal::new(self.0, 6).to_f64().unwrap_or(f64::NAN)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

/// Serialized as USD.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_usd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(json: &str) -> Result<Money, Error> {
        let n: Number =
            serde_json::from_str(json).map_err(|e| Error::bad_request(e.to_string()))?;
        Money::from_usd_json("amount_usd", &n)
    }

    #[test]
    fn parses_exactly_and_rounds_half_even() -> Result<(), Error> {
        assert_eq!(usd("5")?.micros(), 5_000_000);
        assert_eq!(usd("0.1")?.micros(), 100_000);
        assert_eq!(usd("0.004")?.micros(), 4_000);
        assert_eq!(usd("1e-6")?.micros(), 1);
        assert_eq!(usd("-0.25")?.micros(), -250_000);
        assert_eq!(usd("2.500000")?.micros(), 2_500_000);
        assert!(usd("1e12").is_err());
        assert!(usd("1e300").is_err());
        assert!(usd("0.000000001").is_err(), "9 decimals are refused");
        let half_even = |s: &str| {
            Money::from_usd_decimal("x", s.parse().unwrap_or_default()).map(Money::micros)
        };
        assert_eq!(half_even("0.0000005")?, 0);
        assert_eq!(half_even("0.0000015")?, 2);
        assert_eq!(half_even("0.0000025")?, 2);
        Ok(())
    }

    #[test]
    fn renders_usd() {
        assert_eq!(Money::from_micros(5_000_000).to_usd(), 5.0);
        assert_eq!(Money::from_micros(1).to_usd(), 0.000001);
        assert_eq!(Money::from_micros(123_456_789).to_usd(), 123.456789);
    }
}
