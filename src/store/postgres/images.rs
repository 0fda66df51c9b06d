//! What item images need of stored media (see [`crate::store::images`]).

use std::collections::HashMap;

use async_trait::async_trait;

use super::PostgresStore;
use crate::store::StoreResult;
use crate::store::images::{ImageStore, sizes};

#[async_trait]
impl ImageStore for PostgresStore {
    async fn media_file_sizes(&self, paths: &[String]) -> StoreResult<HashMap<String, (u32, u32)>> {
        if paths.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT path, width, height FROM media_files WHERE path = ANY($1)")
                .bind(paths)
                .fetch_all(&self.pool)
                .await?;
        sizes(rows)
    }
}
