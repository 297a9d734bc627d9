//! Keys and who is calling: minting and hashing keys, a revocation-aware cache,
//! and the extractors handlers use (`Caller`, `PlatformKey`, `EndUserKey`,
//! `PlatformScope`, `Admin`).

pub mod admin;
pub mod cache;
pub mod extract;
pub mod keys;

pub use admin::{Admin, AdminToken};
pub use cache::Authenticator;
pub use extract::{Caller, EndUserKey, PlatformKey, PlatformOrOperator, PlatformScope};
pub use keys::{KeyKind, MintedKey};
