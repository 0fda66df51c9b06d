//! Media: the shared implementation ([`crate::store::media`]) in SQLite's write transactions.

use async_trait::async_trait;

use super::{SqliteStore, begin_write};
use crate::store::media::{
    BLOB_SQL, BY_ID_SQL, BY_SOURCE_SQL, DELETE_SQL, EXPORT_SQL, FILE_DATA_SQL, FILES_SQL,
    FileDataRow, INSERT_FILE_SQL, INSERT_SQL, INSERT_WITH_ID_SQL, MEDIUM_OF_ORIGINAL_SQL,
    MediaBlob, MediaFileInfo, Medium, MediumRow, PAGE_SQL, PATH_TAKEN_SQL, PATHS_SQL, StoredMedium,
    USES_SQL, in_use, media_store, own_path, with_data, with_files,
};
use crate::store::{StoreError, StoreResult};

/// AUTOINCREMENT already moves past ids written explicitly.
async fn after_insert(_: &mut sqlx::Transaction<'static, sqlx::Sqlite>) -> StoreResult<()> {
    Ok(())
}

media_store!(SqliteStore, sqlx::Sqlite, begin_write, after_insert);
