//! `assistiv admin master-key generate|rotate`.

#![allow(clippy::print_stdout)] // printing is this module's job

use std::sync::Arc;

use clap::Subcommand;

use super::rotate::rotate_all;
use crate::cli::StoreArgs;
use crate::master_key::{KEY_FILE, MasterKey};
use crate::skills::blobs::FsBlobStore;
use crate::store::Db;

#[derive(Subcommand)]
pub(crate) enum MasterKeyCommand {
    /// Print a fresh random key (base64 of 32 bytes) for ASSISTIV_MASTER_KEY.
    Generate,
    /// Re-encrypt every secret (app client secrets, OAuth tokens, PKCE verifiers,
    /// capability provider secrets, skill blobs) under ASSISTIV_MASTER_KEY. Keys being retired go in
    /// ASSISTIV_PREVIOUS_MASTER_KEYS; once this finishes they can be dropped.
    /// Safe to interrupt and run again: it resumes where it stopped.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// Rows re-encrypted per database transaction.
        #[arg(long, default_value_t = 500)]
        batch_size: u32,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(command: MasterKeyCommand) -> anyhow::Result<()> {
    match command {
        MasterKeyCommand::Generate => {
            println!("{}", MasterKey::generate_encoded());
            Ok(())
        }
        MasterKeyCommand::Rotate {
            store,
            batch_size,
            json,
        } => {
            let config = store.load(store.overrides())?;
            // Loading would generate a key when none exists: never rotate to one.
            anyhow::ensure!(
                config.master_key.is_some() || config.data_dir.join(KEY_FILE).exists(),
                "no master key is configured: set ASSISTIV_MASTER_KEY to the new key and \
                 ASSISTIV_PREVIOUS_MASTER_KEYS to the old one"
            );
            anyhow::ensure!(batch_size >= 1, "--batch-size must be at least 1");
            let vault = MasterKey::load(&config)?.vault();
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            let blobs = Arc::new(FsBlobStore::new(config.blob_dir()));
            let report = rotate_all(&db, blobs, &vault, batch_size).await?;
            db.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            for column in &report.columns {
                println!("{:<40} {} re-encrypted", column.column, column.resealed);
            }
            println!(
                "{:<40} {} re-encrypted",
                "skill blobs", report.blobs_resealed
            );
            println!(
                "Every sealed value is now under key {}. ASSISTIV_PREVIOUS_MASTER_KEYS can be removed.",
                report.key_id
            );
            Ok(())
        }
    }
}
