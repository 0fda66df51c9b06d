//! PostgreSQL: the store for several replicas on one database.
//!
//! By concern, as in [`super::sqlite`]: [`list`] (the list query), [`search`] (search terms as
//! a `tsquery`, and the rank), [`items`] (item reads and writes), [`import`], [`tokens`],
//! [`meta`] and [`changes`] (the change log and its `NOTIFY`).
//!
//! Writes are serialised by one transaction-level advisory lock ([`begin_write`]), as SQLite's
//! `BEGIN IMMEDIATE` serialises them: ids and change numbers are then handed out in commit
//! order, a compare-and-swap holds until commit, and a derived slug found free stays free.
//! Reads never wait for it.

mod authors;
mod changes;
mod counts;
mod export;
mod images;
mod import;
mod items;
mod list;
mod media;
mod meta;
mod search;
mod tokens;
mod wakeups;
mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::{ListQuery, PoolStats, Store, StoreError, StoreResult, ops};

pub use items::CONTENT_TIMES_SQL;
pub use tokens::TOKEN_BY_HASH_SQL;

/// The channel every committed change is announced on, with its `seq` as the payload.
pub const CHANGES_CHANNEL: &str = "herald_changes";

/// The advisory lock key every writer takes ("herald" in ASCII).
const WRITE_LOCK: i64 = 0x6865_7261_6c64;

/// Connections per process unless settings say otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a free connection before failing.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresStore {
    pool: PgPool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl PostgresStore {
    /// Opens a pool on `url` (`postgres://` or `postgresql://`) with the default size.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(
            url,
            PgPoolOptions::new()
                .max_connections(DEFAULT_MAX_CONNECTIONS)
                .acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT),
        )
        .await
    }

    /// Opens a pool on `url` with the caller's pool options (size, timeouts).
    pub async fn connect_with(url: &str, pool: PgPoolOptions) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse()?;
        let options = options.application_name("herald");
        Ok(Self {
            pool: pool.connect_with(options).await?,
        })
    }

    /// The pool, for what no store trait covers (LISTEN for [`CHANGES_CHANNEL`]).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Diagnostics, not part of any store contract: PostgreSQL's plan (`EXPLAIN`, text format)
    /// for the main query of [`crate::store::ItemStore::list`], one line per row, so tests can
    /// lock in index use.
    pub async fn explain_list(&self, query: &ListQuery) -> StoreResult<Vec<String>> {
        list::explain(&mut *self.pool.acquire().await?, query).await
    }
}

/// A write transaction holding the writers' lock until it ends.
pub(super) async fn begin_write(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> StoreResult<()> {
        // sqlx's migrator holds an advisory lock while it runs, so replicas starting together
        // apply each migration once.
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
        // Committed means durable on the server already; only the connections are left.
        self.pool.close().await;
        Ok(())
    }

    async fn backup_to(&self, _path: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Other(anyhow::anyhow!(
            "a PostgreSQL store is backed up with PostgreSQL's own tools, while Herald serves: \
             pg_dump --format=custom --file=herald.dump \"$DATABASE_URL\" (restore into an \
             empty database with pg_restore --no-owner --dbname=\"$DATABASE_URL\" herald.dump)"
        )))
    }
}
