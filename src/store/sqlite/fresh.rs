//! A new SQLite store built in one go: `herald import` into a database file that does not exist
//! yet builds it under a temporary name with no journal and no syncs, then moves it into place
//! only when complete. The journal exists to undo a half-done write; a half-built new file is
//! simply thrown away, so a crash leaves nothing where the store should be (or the store that
//! was never there), never half a store.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous};

use super::search_build::{SHADOW_TABLES, SearchBuild};
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

    /// Turns the full-text index's triggers off for the build (call after migrating): instead,
    /// imports hand their documents to an index built beside the store on the other core
    /// ([`SearchBuild`]), copied in by [`FreshFile::commit`], and the triggers come back
    /// exactly as they were. With `beside` false the index is filled from the rows at the end
    /// instead, on one core.
    pub async fn defer_search_index(
        &self,
        store: &SqliteStore,
        beside: bool,
    ) -> anyhow::Result<()> {
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
        let create: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'news_fts'")
                .fetch_one(&mut *tx)
                .await?;
        let config: Vec<(String, String)> = sqlx::query_as(
            "SELECT k, CAST(v AS TEXT) FROM news_fts_config WHERE k <> 'version' ORDER BY k",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        if !beside {
            return Ok(());
        }
        let build = SearchBuild::start(self.side_file(), &create, &config).await?;
        if store.search_build.set(build).is_err() {
            anyhow::bail!("a full-text index is already being built for this store");
        }
        Ok(())
    }

    fn side_file(&self) -> PathBuf {
        let mut path = self.staging.clone().into_os_string();
        path.push("-search");
        path.into()
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
            fill_search_index(store, &mut *store.pool.acquire().await?).await?;
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
        for suffix in ["", "-journal", "-wal", "-shm", "-search"] {
            let mut path = self.staging.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Fills the new store's full-text index: the one built beside it when that holds exactly the
/// store's rows, else (an index that missed a write, or none was built) from the rows.
async fn fill_search_index(
    store: &SqliteStore,
    conn: &mut sqlx::SqliteConnection,
) -> anyhow::Result<()> {
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM news_items")
        .fetch_one(&mut *conn)
        .await?;
    let built = match store.search_build.get() {
        Some(build) => match build.finish().await {
            Ok(built) => Some(built),
            Err(error) => {
                tracing::warn!(%error, "the full-text index built beside the store failed");
                let _ = std::fs::remove_file(build.path());
                None
            }
        },
        None => None,
    };
    if let Some(built) = built {
        let whole = built.documents == rows;
        if whole {
            let started = std::time::Instant::now();
            copy_index(conn, &built.path).await?;
            // The index's own time is the import's ceiling: worth seeing beside its rate.
            let secs = built.busy.as_secs_f64();
            tracing::info!(
                items = rows,
                secs,
                items_per_sec = rows as f64 / secs.max(1e-9),
                copy_secs = started.elapsed().as_secs_f64(),
                "filled the full-text index"
            );
        } else {
            tracing::warn!(
                documents = built.documents,
                rows,
                "the full-text index built beside the store missed writes; filling it from the rows"
            );
        }
        let _ = std::fs::remove_file(&built.path);
        if whole {
            return Ok(());
        }
    }
    let started = std::time::Instant::now();
    let filled = sqlx::query(fts::FILL_SQL)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        items = filled,
        secs,
        items_per_sec = filled as f64 / secs.max(1e-9),
        "filled the full-text index"
    );
    Ok(())
}

/// Replaces the store's (empty) full-text index with the one in `side`: FTS5 keeps a contentless
/// index wholly in its shadow tables, and both were made by the same definition.
async fn copy_index(conn: &mut sqlx::SqliteConnection, side: &Path) -> anyhow::Result<()> {
    use sqlx::Connection;
    // Outside the transaction: SQLite attaches and detaches only between transactions.
    sqlx::query("ATTACH DATABASE ?1 AS herald_search_build")
        .bind(side.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await
        .context("attaching the full-text index built beside the store")?;
    let mut tx = conn.begin().await?;
    for table in SHADOW_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM main.{table}")))
            .execute(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO main.{table} SELECT * FROM herald_search_build.{table}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    sqlx::query("DETACH DATABASE herald_search_build")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
