//! API tokens: names and SHA-256 hashes, never the secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::store::rows::timestamp;
use crate::store::rules::map_unique;
use crate::store::{ActiveToken, NewToken, StoreError, StoreResult, TokenInfo, TokenStore};

/// Finds an active token by its hash through the unique index on `token_hash` (from the
/// initial migration), so authentication costs one seek however many tokens exist.
pub const TOKEN_BY_HASH_SQL: &str = "SELECT name, token_hash, scopes, expires_at, last_used_at \
     FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL";

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_scoped_token(&self, token: &NewToken, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, created_at, prefix, scopes, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&token.name)
        .bind(&token.hash)
        .bind(now.timestamp())
        .bind(&token.prefix)
        .bind(&token.scopes)
        .bind(token.expires_at.map(|t| t.timestamp()))
        .execute(&self.pool)
        .await
        .map_err(map_unique)?;
        Ok(())
    }

    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE name = ?1 \
             AND (last_used_at IS NULL OR last_used_at <= ?2 - 60)",
        )
        .bind(name)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        type Row = (
            String,
            Option<String>,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(name, prefix, scopes, created, expires, used, revoked)| {
                Ok(TokenInfo {
                    name,
                    prefix,
                    scopes,
                    created_at: timestamp(created)?,
                    expires_at: expires.map(timestamp).transpose()?,
                    last_used_at: used.map(timestamp).transpose()?,
                    revoked_at: revoked.map(timestamp).transpose()?,
                })
            })
            .collect()
    }

    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ActiveToken>> {
        let row: Option<(String, String, String, Option<i64>, Option<i64>)> =
            sqlx::query_as(TOKEN_BY_HASH_SQL)
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(name, hash, scopes, expires_at, last_used_at)| {
            Ok(ActiveToken {
                name,
                hash,
                scopes,
                expires_at: expires_at.map(timestamp).transpose()?,
                last_used_at: last_used_at.map(timestamp).transpose()?,
            })
        })
        .transpose()
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
