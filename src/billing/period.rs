//! Budget periods: `one_time`, `daily`, `monthly` (resetting at UTC boundaries).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}
