//! Money and budgets.

pub mod money;
pub mod period;

pub use money::Money;
pub use period::Period;
