//! Media: the shared implementation ([`crate::store::media`]) in PostgreSQL's write
//! transactions (the writers' lock).

use async_trait::async_trait;

use super::{PostgresStore, begin_write};
use crate::store::media::{
    BLOB_SQL, BY_ID_SQL, BY_SOURCE_SQL, DELETE_SQL, EXPORT_SQL, FILE_DATA_SQL, FILES_SQL,
    FileDataRow, INSERT_FILE_SQL, INSERT_SQL, INSERT_WITH_ID_SQL, MEDIUM_OF_ORIGINAL_SQL,
    MediaBlob, MediaFileInfo, Medium, MediumRow, PAGE_SQL, PATH_TAKEN_SQL, PATHS_SQL, StoredMedium,
    USES_SQL, in_use, media_store, own_path, with_data, with_files,
};
use crate::store::{StoreError, StoreResult};

/// An identity column does not move past ids written explicitly: new uploads must not take
/// a copied medium's id.
async fn after_insert(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> StoreResult<()> {
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('media', 'id'), \
         GREATEST((SELECT max(id) FROM media), 1))",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

media_store!(PostgresStore, sqlx::Postgres, begin_write, after_insert);
