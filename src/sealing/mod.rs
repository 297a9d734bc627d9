//! Everything sealed with the master key, and rotating it: [`columns`] is the one
//! list of encrypted database columns, [`rotate`] re-encrypts them (and the skill
//! blobs on disk) under the current key in resumable batches.

pub(crate) mod cli;
pub mod columns;
pub mod rotate;
