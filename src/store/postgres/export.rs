//! Whole-store export and bulk insert, for `herald copy-store` (the statements are in
//! [`crate::store::bulk`]; the counters are `herald_counters`, and writes take the writers'
//! lock).

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres};

use super::items::attach;
use super::{PostgresStore, begin_write};
use crate::store::bulk::{self, Bulk};
use crate::store::{
    Change, Positions, StoreCounts, StoreExport, StoreResult, StoredDelivery, StoredItem,
    StoredToken, StoredWebhook,
};

type Sql = Bulk<Postgres>;

/// Where counter `name` of `herald_counters` stands.
async fn counter(conn: &mut PgConnection, name: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT value FROM herald_counters WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn advance_counter(conn: &mut PgConnection, name: &str, to: i64) -> StoreResult<()> {
    sqlx::query("UPDATE herald_counters SET value = greatest(value, $2) WHERE name = $1")
        .bind(name)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where the identity column of `table` stands (0 before its first row). Webhook tables number
/// their rows with identity columns rather than `herald_counters`: only their own writers use them.
async fn identity(conn: &mut PgConnection, table: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass), 0)",
    )
    .bind(table)
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves the identity of `table` to `to` at least: rows written with explicit ids do not move it.
async fn advance_identity(conn: &mut PgConnection, table: &str, to: i64) -> StoreResult<()> {
    if to > identity(conn, table).await? {
        sqlx::query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2)")
            .bind(table)
            .bind(to)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl StoreExport for PostgresStore {
    async fn export_items(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredItem>> {
        let mut conn = self.pool.acquire().await?;
        let (rows, keys) = bulk::split(Sql::item_rows(&mut conn, after, limit).await?);
        Ok(bulk::join(attach(&mut conn, rows).await?, keys))
    }

    async fn export_tokens(&self) -> StoreResult<Vec<StoredToken>> {
        Sql::tokens(&mut *self.pool.acquire().await?).await
    }

    async fn export_meta(&self) -> StoreResult<Vec<(String, String)>> {
        Sql::meta(&mut *self.pool.acquire().await?).await
    }

    async fn positions(&self) -> StoreResult<Positions> {
        let mut conn = self.pool.acquire().await?;
        Ok(Positions {
            item_id: counter(&mut conn, "news_items").await?,
            change_seq: counter(&mut conn, "changes").await?,
            webhook_id: identity(&mut conn, "webhooks").await?,
            delivery_id: identity(&mut conn, "webhook_deliveries").await?,
        })
    }

    async fn counts(&self) -> StoreResult<StoreCounts> {
        Sql::counts(&mut *self.pool.acquire().await?).await
    }

    async fn insert_items(&self, items: &[StoredItem]) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Sql::insert_items(&mut tx, items).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_tokens(&self, tokens: &[StoredToken]) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Sql::insert_tokens(&mut tx, tokens).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_changes(&self, changes: &[Change]) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Sql::insert_changes(&mut tx, changes).await?;
        Ok(tx.commit().await?)
    }

    async fn export_webhooks(&self) -> StoreResult<Vec<StoredWebhook>> {
        Sql::webhooks(&mut *self.pool.acquire().await?).await
    }

    async fn export_deliveries(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredDelivery>> {
        Sql::deliveries(&mut *self.pool.acquire().await?, after, limit).await
    }

    async fn insert_webhooks(&self, webhooks: &[StoredWebhook]) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Sql::insert_webhooks(&mut tx, webhooks).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_deliveries(&self, deliveries: &[StoredDelivery]) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Sql::insert_deliveries(&mut tx, deliveries).await?;
        Ok(tx.commit().await?)
    }

    async fn advance_positions(&self, positions: Positions) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        advance_counter(&mut tx, "news_items", positions.item_id).await?;
        advance_counter(&mut tx, "changes", positions.change_seq).await?;
        advance_identity(&mut tx, "webhooks", positions.webhook_id).await?;
        advance_identity(&mut tx, "webhook_deliveries", positions.delivery_id).await?;
        Ok(tx.commit().await?)
    }

    async fn clear(&self) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Sql::clear(&mut tx).await?;
        Ok(tx.commit().await?)
    }
}
