//! Money: integer micro-USD, platform wallets, end-user budgets, holds, the
//! ledgers, idempotency and the event outbox.

pub mod accounts;
pub mod budgets;
pub mod clock;
pub mod events;
pub mod holds;
pub mod idempotency;
pub mod ledger;
pub mod money;
pub mod period;
pub mod pipeline;
pub mod wallets;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use money::Money;
pub use period::Period;
pub use pipeline::Billing;
