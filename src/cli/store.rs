//! What the commands that read a store share: the `--store` option and opening a store that
//! exists (a report on a mistyped SQLite path must not create an empty database and print
//! zeros).

use std::sync::Arc;

use anyhow::{bail, Context as _};

use crate::store::{self, Store};

/// The `--store` option.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArg {
    /// Store URL: sqlite://PATH, or postgres://USER@HOST/DB.
    #[arg(long, default_value = "sqlite://frontdesk.db", env = "FRONTDESK_STORE")]
    pub store: String,
}

impl StoreArg {
    /// Opens the store; a SQLite file that does not exist is an error, not a new database.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        let location = store::Location::parse(&self.store)?;
        if let Some(path) = location.sqlite_file() {
            if !std::path::Path::new(path).exists() {
                bail!(
                    "no store at {path}: give the daemon's --store (or FRONTDESK_STORE), e.g. sqlite://frontdesk.db"
                );
            }
        }
        store::open(&self.store)
            .await
            .with_context(|| format!("opening the store {}", self.store))
    }
}

/// A runtime for a command that talks to a store.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
