//! The embedded default: one SQLite file in WAL mode.
//!
//! By concern: [`list`] (the list and relevance queries), [`items`] (item reads and writes),
//! [`import`], [`tokens`], [`meta`], [`changes`] (the change log), and [`fts`] (FTS5 glue).

mod authors;
mod backup;
mod changes;
mod counts;
mod export;
mod fresh;
mod fts;
mod images;
mod import;
mod items;
mod list;
mod media;
mod meta;
mod tokens;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{ListQuery, PoolSettings, PoolStats, Store, StoreError, StoreResult, ops};

pub use fresh::FreshFile;
pub use items::CONTENT_TIMES_SQL;
pub use tokens::TOKEN_BY_HASH_SQL;

/// Writers take the lock up front: a deferred transaction that reads and then writes can fail
/// with SQLITE_BUSY instead of waiting for the busy timeout.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// A write transaction holding the writers' lock until it ends.
pub(super) async fn begin_write(
    pool: &sqlx::SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    Ok(pool.begin_with(BEGIN_WRITE).await?)
}

pub struct SqliteStore {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, PoolSettings::default()).await
    }

    pub async fn connect_with(url: &str, pool: PoolSettings) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every commit is synced before it is acknowledged, so a write answered 2xx survives
            // power loss too, not only a crash of the process (README, "Durability"). In WAL mode
            // that is one sync of the log per transaction; bulk imports batch 2,000 items a
            // transaction, so they pay it once a batch.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::with_options(options, pool).await
    }

    /// A pool with these connection options, Herald's ranking function registered on each
    /// connection.
    async fn with_options(
        options: SqliteConnectOptions,
        pool: PoolSettings,
    ) -> anyhow::Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.timeout)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    // SAFETY: the locked handle keeps the connection's worker off it meanwhile.
                    unsafe { fts::register(handle.as_raw_handle()) }
                        .map_err(|e| sqlx::Error::Configuration(e.into()))
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// Diagnostics, not part of any store contract: SQLite's plan for the main query of
    /// [`crate::store::ItemStore::list`], one line per step, so tests can lock in index use.
    pub async fn explain_list(&self, query: &ListQuery) -> StoreResult<Vec<String>> {
        list::explain(&mut *self.pool.acquire().await?, query).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Other(e.into()))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrations_current(&self) -> StoreResult<bool> {
        let applied: Vec<i64> = sqlx::query_scalar(ops::APPLIED_MIGRATIONS_SQL)
            .fetch_all(&self.pool)
            .await?;
        Ok(ops::all_applied(&MIGRATOR, &applied))
    }

    fn pool_stats(&self) -> PoolStats {
        ops::pool_stats(&self.pool)
    }

    async fn close(&self) -> StoreResult<()> {
        // Everything committed moves from the write-ahead log into the database file, and the
        // log is emptied: the file alone is the store (a copy, a backup tool, the next start).
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        self.pool.close().await;
        Ok(())
    }

    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()> {
        backup::vacuum_into(&self.pool, path).await
    }
}
