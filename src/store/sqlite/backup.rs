//! `herald backup`: a consistent copy of a live SQLite store, checked before it is trusted.

use std::path::Path;

use sqlx::{Connection, SqliteConnection, SqlitePool};

use crate::store::{StoreError, StoreResult};

/// `VACUUM INTO` copies the database as one read transaction sees it: writers go on meanwhile
/// (WAL), and the copy holds exactly the transactions committed before it began, in one file
/// with no log beside it. The copy is then synced and opened on its own for `integrity_check`.
pub(super) async fn vacuum_into(pool: &SqlitePool, path: &Path) -> StoreResult<()> {
    if path.exists() {
        return Err(StoreError::Other(anyhow::anyhow!(
            "{} already exists; a backup never overwrites a file",
            path.display()
        )));
    }
    let target = path
        .to_str()
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("the backup path is not UTF-8")))?;
    sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(pool)
        .await?;
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Other(e.into()))?;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut copy = SqliteConnection::connect_with(&options).await?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut copy)
        .await?;
    copy.close().await?;
    if verdict != ["ok"] {
        return Err(StoreError::Corrupt(format!(
            "the copy at {} failed its integrity check: {}",
            path.display(),
            verdict.join("; ")
        )));
    }
    Ok(())
}
