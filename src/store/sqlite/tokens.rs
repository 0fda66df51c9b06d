//! API tokens: names and SHA-256 hashes, never the secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::store::rows::timestamp;
use crate::store::rules::map_unique;
use crate::store::{ActiveToken, StoreError, StoreResult, TokenInfo, TokenStore};

/// Finds an active token by its hash through the unique index on `token_hash` (from the
/// initial migration), so authentication costs one seek however many tokens exist.
pub const TOKEN_BY_HASH_SQL: &str =
    "SELECT name, token_hash FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL";

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(&self, name: &str, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?1, ?2, ?3)")
            .bind(name)
            .bind(hash)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await
            .map_err(map_unique)?;
        Ok(())
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let rows: Vec<(String, i64, Option<i64>)> =
            sqlx::query_as("SELECT name, created_at, revoked_at FROM api_tokens ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(name, created_at, revoked_at)| {
                Ok(TokenInfo {
                    name,
                    created_at: timestamp(created_at)?,
                    revoked_at: revoked_at.map(timestamp).transpose()?,
                })
            })
            .collect()
    }

    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ActiveToken>> {
        let row: Option<(String, String)> = sqlx::query_as(TOKEN_BY_HASH_SQL)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(name, hash)| ActiveToken { name, hash }))
    }

    async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
