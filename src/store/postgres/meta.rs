//! `herald_meta`: small key/value facts about the database itself.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::PostgresStore;
use crate::store::{MetaStore, StoreResult};

pub(super) async fn get(conn: &mut PgConnection, key: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM herald_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub(super) async fn set(conn: &mut PgConnection, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO herald_meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl MetaStore for PostgresStore {
    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        get(&mut *self.pool.acquire().await?, key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        set(&mut *self.pool.acquire().await?, key, value).await
    }
}
