//! Which metadata store a command works on: SQLite in the data dir (the default), or a
//! PostgreSQL database that several nodes share (`--store postgres://...`), and the key that
//! seals connection secrets in it.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use sluice_store::{MetadataStore, PostgresStore, Sealer, SqliteStore};

use crate::admin;

/// Where a command's metadata lives.
#[derive(Args, Clone)]
pub struct StoreArgs {
    /// The server's data dir: metadata (SQLite, unless `--store` names another store), the key
    /// file that seals connection secrets, and checkpoints.
    #[arg(long, env = "SLUICE_DATA_DIR", default_value = "sluice-data")]
    pub data_dir: PathBuf,
    /// The metadata store: `postgres://USER[:PASSWORD]@HOST:PORT/DB` keeps it in a PostgreSQL
    /// database that several nodes share. Needs the shared sealing key (`SLUICE_SECRET_KEY` or
    /// `--secret-key-file`). Default: SQLite in the data dir.
    #[arg(long, env = "SLUICE_STORE")]
    pub store: Option<String>,
    /// The file holding the key (64 hex digits) that seals connection secrets, when
    /// `SLUICE_SECRET_KEY` does not give it. Default with SQLite: `secret.key` in the data dir,
    /// made on first start. With `--store postgres://...` the key must exist already and be the
    /// same on every node.
    #[arg(long, env = "SLUICE_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

/// An open metadata store.
pub enum Store {
    /// SQLite in the data dir.
    Sqlite(SqliteStore),
    /// A PostgreSQL database shared by nodes.
    Postgres(PostgresStore),
}

impl Store {
    /// The store behind the trait every part of the server uses.
    pub fn shared(&self) -> Arc<dyn MetadataStore> {
        match self {
            Store::Sqlite(s) => Arc::new(s.clone()),
            Store::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// The store, borrowed.
    pub fn get(&self) -> &dyn MetadataStore {
        match self {
            Store::Sqlite(s) => s,
            Store::Postgres(s) => s,
        }
    }
}

/// The hex key of `SLUICE_SECRET_KEY`, if set.
fn env_key() -> Option<String> {
    std::env::var("SLUICE_SECRET_KEY").ok().filter(|k| !k.trim().is_empty())
}

/// Whether `store` names a PostgreSQL database.
fn is_postgres(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

impl StoreArgs {
    /// How to show the store (never with a password).
    pub fn describe(&self) -> String {
        match &self.store {
            Some(url) => format!("PostgreSQL {}", redact_password(url)),
            None => format!("SQLite {}", admin::db_path(&self.data_dir).display()),
        }
    }

    /// Opens the store, applying pending migrations, with connection secrets sealed.
    pub async fn open(&self) -> Result<Store, String> {
        match &self.store {
            None => {
                let key_file = self.secret_key_file.clone().unwrap_or_else(|| self.data_dir.join("secret.key"));
                Ok(Store::Sqlite(admin::open_store(&self.data_dir, &key_file).await?))
            }
            Some(url) if is_postgres(url) => {
                let sealer = self.shared_sealer()?;
                let shown = redact_password(url);
                let store = PostgresStore::open(url)
                    .await
                    .map_err(|e| format!("cannot open the PostgreSQL store {}: {}", shown, e))?;
                let store =
                    store.sealed_with(sealer).await.map_err(|e| format!("PostgreSQL store {}: {}", shown, e))?;
                Ok(Store::Postgres(store))
            }
            Some(other) => Err(format!(
                "--store takes a postgres://USER@HOST:PORT/DB URL (or nothing, for SQLite in the data dir), not {}",
                redact_password(other)
            )),
        }
    }

    /// The sealing key nodes sharing a database share: from `SLUICE_SECRET_KEY`, or from an
    /// existing `--secret-key-file`. Never made here: a key made by one node alone would leave
    /// the others unable to open its secrets.
    fn shared_sealer(&self) -> Result<Sealer, String> {
        if let Some(hex) = env_key() {
            return Sealer::from_hex(&hex).map_err(|e| format!("SLUICE_SECRET_KEY: {}", e));
        }
        match &self.secret_key_file {
            Some(file) if file.is_file() => Sealer::from_hex_or_file(None, file).map_err(|e| e.to_string()),
            Some(file) => Err(format!(
                "the secret key file {} does not exist: with --store postgres://... every node needs the same key, \
                 made once (e.g. `openssl rand -hex 32 > {}`) and given to each",
                file.display(),
                file.display()
            )),
            None => Err("--store postgres://... needs the key that seals connection secrets, the same on every \
                 node: set SLUICE_SECRET_KEY (64 hex digits) or --secret-key-file FILE. The key is never \
                 stored in the database."
                .into()),
        }
    }
}

/// `url` with its password (if any) replaced by `***`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The user info ends at the last `@` before the path.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{}://{}:***{}", scheme, user, &rest[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(redact_password("postgres://u:p%40ss@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_password("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(redact_password("postgres://h/db?user=x"), "postgres://h/db?user=x");
        assert_eq!(redact_password("mysql"), "mysql");
    }
}
