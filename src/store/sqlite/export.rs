//! Whole-store export and bulk insert, for `herald copy-store` (the statements are in
//! [`crate::store::bulk`]; the counters are SQLite's `sqlite_sequence`).

use async_trait::async_trait;
use sqlx::{Sqlite, SqliteConnection};

use super::items::attach;
use super::{BEGIN_WRITE, SqliteStore};
use crate::store::bulk::{self, Bulk};
use crate::store::{
    Change, Positions, StoreCounts, StoreExport, StoreResult, StoredDelivery, StoredItem,
    StoredToken, StoredWebhook,
};

type Sql = Bulk<Sqlite>;

/// The counter SQLite's AUTOINCREMENT keeps for `table` (0 before its first row).
async fn sequence(conn: &mut SqliteConnection, table: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?1")
            .bind(table)
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn advance_sequence(conn: &mut SqliteConnection, table: &str, to: i64) -> StoreResult<()> {
    // sqlite_sequence has no unique key: update the row, or add it when the table never had one.
    let done = sqlx::query("UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1")
        .bind(table)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)")
            .bind(table)
            .bind(to)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl StoreExport for SqliteStore {
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
            item_id: sequence(&mut conn, "news_items").await?,
            change_seq: sequence(&mut conn, "changes").await?,
            webhook_id: sequence(&mut conn, "webhooks").await?,
            delivery_id: sequence(&mut conn, "webhook_deliveries").await?,
        })
    }

    async fn counts(&self) -> StoreResult<StoreCounts> {
        Sql::counts(&mut *self.pool.acquire().await?).await
    }

    async fn insert_items(&self, items: &[StoredItem]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        Sql::insert_items(&mut tx, items).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_tokens(&self, tokens: &[StoredToken]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        Sql::insert_tokens(&mut tx, tokens).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_changes(&self, changes: &[Change]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
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
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        Sql::insert_webhooks(&mut tx, webhooks).await?;
        Ok(tx.commit().await?)
    }

    async fn insert_deliveries(&self, deliveries: &[StoredDelivery]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        Sql::insert_deliveries(&mut tx, deliveries).await?;
        Ok(tx.commit().await?)
    }

    async fn advance_positions(&self, positions: Positions) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        advance_sequence(&mut tx, "news_items", positions.item_id).await?;
        advance_sequence(&mut tx, "changes", positions.change_seq).await?;
        advance_sequence(&mut tx, "webhooks", positions.webhook_id).await?;
        advance_sequence(&mut tx, "webhook_deliveries", positions.delivery_id).await?;
        Ok(tx.commit().await?)
    }

    async fn clear(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        Sql::clear(&mut tx).await?;
        Ok(tx.commit().await?)
    }
}
