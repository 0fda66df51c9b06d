//! A new SQLite store built in one go: `herald import` into a database file that does not exist
//! yet builds it under a temporary name with no journal and no syncs, then moves it into place
//! only when complete. The journal exists to undo a half-done write; a half-built new file is
//! simply thrown away, so a crash leaves nothing where the store should be (or the store that
//! was never there), never half a store.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous};

use super::{SqliteStore, fts};
use crate::store::PoolSettings;

/// The full-text index's triggers, kept aside in the new file itself while it is built.
const DEFERRED: &str = "herald_deferred_triggers";

pub struct FreshFile {
    target: PathBuf,
    staging: PathBuf,
}

impl FreshFile {
    /// For a `sqlite://` URL naming a file that does not exist yet; `None` otherwise (another
    /// engine, an in-memory database, or a store that may already be in use).
    pub fn for_url(url: &str) -> Option<Self> {
        if !url.starts_with("sqlite:") {
            return None;
        }
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let target = options.get_filename().to_owned();
        if target.as_os_str().is_empty()
            || target.as_os_str() == ":memory:"
            || url.contains("mode=memory")
            || target.exists()
        {
            return None;
        }
        let mut staging = target.clone().into_os_string();
        staging.push(format!(".building-{}", std::process::id()));
        Some(Self {
            target,
            staging: staging.into(),
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The store to build into: the staging file, written without a journal or syncs and held
    /// exclusively (nothing else may read a store that is not there yet).
    pub async fn open(&self) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(&self.staging)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .locking_mode(SqliteLockingMode::Exclusive)
            .foreign_keys(true);
        // One connection: exclusive locking shuts every other one out.
        let pool = PoolSettings {
            max_connections: 1,
            ..PoolSettings::default()
        };
        SqliteStore::with_options(options, pool).await
    }

    /// Turns the full-text index's triggers off for the build (call after migrating): the index
    /// is filled once from the finished rows by [`FreshFile::commit`], which puts the triggers
    /// back exactly as they were. One fill in key order is far cheaper than a trigger per row.
    /// (Building the index beside the rows on a second connection was tried and measured
    /// slower on two cores: see BENCHMARKS.md, issue 14.)
    pub async fn defer_search_index(&self, store: &SqliteStore) -> anyhow::Result<()> {
        let mut tx = store.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {DEFERRED} AS SELECT name, sql FROM sqlite_master \
             WHERE type = 'trigger' AND tbl_name = 'news_items' AND name LIKE 'news_fts_%'"
        )))
        .execute(&mut *tx)
        .await?;
        let names: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name FROM {DEFERRED}")))
                .fetch_all(&mut *tx)
                .await?;
        for name in names {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP TRIGGER \"{}\"",
                name.replace('"', "\"\"")
            )))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Fills the full-text index and restores its triggers (if they were deferred), closes
    /// `store`, makes the file durable, switches it to the WAL journal every later open uses,
    /// and moves it into place.
    pub async fn commit(self, store: &SqliteStore) -> anyhow::Result<()> {
        let deferred: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1")
                .bind(DEFERRED)
                .fetch_all(&store.pool)
                .await?;
        if !deferred.is_empty() {
            fill_search_index(&mut *store.pool.acquire().await?).await?;
            let mut tx = store.pool.begin().await?;
            let triggers: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT sql FROM {DEFERRED}")))
                    .fetch_all(&mut *tx)
                    .await?;
            for sql in triggers {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {DEFERRED}")))
                .execute(&mut *tx)
                .await?;
            tx.commit().await.context("filling the full-text index")?;
        }
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&store.pool)
            .await
            .context("switching the new store to WAL")?;
        store.pool.close().await;
        let file = std::fs::File::open(&self.staging)?;
        file.sync_all()
            .with_context(|| format!("syncing {}", self.staging.display()))?;
        if self.target.exists() {
            anyhow::bail!(
                "{} appeared while the import built a new store; the new store is left at {}",
                self.target.display(),
                self.staging.display()
            );
        }
        std::fs::rename(&self.staging, &self.target)
            .with_context(|| format!("moving {} into place", self.staging.display()))?;
        // The rename itself must survive a power loss too.
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Throws the half-built file away.
    pub fn abandon(self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut path = self.staging.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Fills the new store's full-text index from its rows, in key order, in one statement.
async fn fill_search_index(conn: &mut sqlx::SqliteConnection) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let filled = sqlx::query(fts::FILL_SQL)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let secs = started.elapsed().as_secs_f64();
    // The index's own rate is the import's ceiling: worth seeing beside the import's.
    tracing::info!(
        items = filled,
        secs,
        items_per_sec = filled as f64 / secs.max(1e-9),
        "filled the full-text index"
    );
    Ok(())
}
