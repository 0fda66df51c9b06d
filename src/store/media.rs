//! Uploaded media (issue 16): a row per medium and its files (the original and every variant)
//! as blobs, so every replica serves the same bytes and a copy of the store carries them. A
//! file's `path` is what `/media/{path}` serves; item images (`news_images`) refer to media.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::rows::timestamp;
use super::{StoreError, StoreResult};

/// A medium as stored, with its files (without their bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medium {
    pub id: i64,
    /// Hex SHA-256 of the uploaded bytes.
    pub source_hash: String,
    /// Media type of the original as served.
    pub kind: String,
    pub width: i64,
    pub height: i64,
    /// Size of the original as served.
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
    /// The original first, then the variants by width.
    pub files: Vec<MediaFileInfo>,
}

impl Medium {
    pub fn original(&self) -> Option<&MediaFileInfo> {
        self.files.iter().find(|f| f.original)
    }

    pub fn variants(&self) -> impl Iterator<Item = &MediaFileInfo> {
        self.files.iter().filter(|f| !f.original)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MediaFileInfo {
    #[sqlx(default)]
    pub media_id: i64,
    pub path: String,
    pub original: bool,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub width: i64,
    pub height: i64,
    pub size: i64,
}

/// A file with its bytes, to write or as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFileData {
    pub path: String,
    pub original: bool,
    pub kind: String,
    pub width: i64,
    pub height: i64,
    pub data: Vec<u8>,
}

/// A medium to store, or one as exported (then with its id and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedium {
    /// Ignored by [`MediaStore::create_medium`], which gives the next one.
    pub id: i64,
    pub source_hash: String,
    pub kind: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
    pub files: Vec<MediaFileData>,
}

/// A served file's type and bytes.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MediaBlob {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub data: Vec<u8>,
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// The medium uploaded from bytes with this hash, if any.
    async fn medium_by_source(&self, source_hash: &str) -> StoreResult<Option<Medium>>;
    /// Stores a medium and its files in one transaction, or finds the one already made of the
    /// same upload (or one whose original has exactly the same bytes): `(medium, created)`.
    async fn create_medium(&self, medium: &StoredMedium) -> StoreResult<(Medium, bool)>;
    async fn medium(&self, id: i64) -> StoreResult<Option<Medium>>;
    /// Up to `limit` media with an id below `before` (all, without it), newest first.
    async fn media(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<Medium>>;
    /// Deletes medium `id` with its files and returns their paths;
    /// [`StoreError::NotFound`], or [`StoreError::InUse`] while an item shows it.
    async fn delete_medium(&self, id: i64) -> StoreResult<Vec<String>>;
    /// The file served at `/media/{path}`.
    async fn media_file(&self, path: &str) -> StoreResult<Option<MediaBlob>>;
    /// Up to `limit` media with an id above `after`, in id order, with their files' bytes
    /// (`herald export`, `herald copy-store`).
    async fn export_media(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredMedium>>;
    /// Writes media exactly as given (ids, times, paths) in one transaction.
    async fn insert_media(&self, media: &[StoredMedium]) -> StoreResult<()>;
}

// The statements, the same text on both engines.

pub const MEDIUM_COLUMNS: &str = "id, source_hash, type, width, height, bytes, created_at";
pub const BY_SOURCE_SQL: &str = "SELECT id, source_hash, type, width, height, bytes, created_at FROM media WHERE source_hash = $1";
pub const BY_ID_SQL: &str =
    "SELECT id, source_hash, type, width, height, bytes, created_at FROM media WHERE id = $1";
pub const PAGE_SQL: &str = "SELECT id, source_hash, type, width, height, bytes, created_at \
     FROM media WHERE id < $1 ORDER BY id DESC LIMIT $2";
pub const EXPORT_SQL: &str = "SELECT id, source_hash, type, width, height, bytes, created_at \
     FROM media WHERE id > $1 ORDER BY id LIMIT $2";
/// The files of the media with ids from `$1` to `$2` (a page holds every medium in its range).
pub const FILES_SQL: &str = "SELECT media_id, path, original, type, width, height, \
     CAST(length(data) AS BIGINT) AS size FROM media_files \
     WHERE media_id >= $1 AND media_id <= $2 ORDER BY media_id, original DESC, width, type";
pub const FILE_DATA_SQL: &str = "SELECT media_id, path, original, type, width, height, data \
     FROM media_files WHERE media_id >= $1 AND media_id <= $2 \
     ORDER BY media_id, original DESC, width, type";
pub const MEDIUM_OF_ORIGINAL_SQL: &str =
    "SELECT media_id FROM media_files WHERE path = $1 AND original";
pub const PATH_TAKEN_SQL: &str = "SELECT count(*) FROM media_files WHERE path = $1";
pub const INSERT_SQL: &str = "INSERT INTO media \
     (source_hash, type, width, height, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
     RETURNING id";
pub const INSERT_WITH_ID_SQL: &str = "INSERT INTO media \
     (id, source_hash, type, width, height, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const INSERT_FILE_SQL: &str = "INSERT INTO media_files \
     (path, media_id, original, type, width, height, data) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const USES_SQL: &str = "SELECT count(*) FROM news_images WHERE media_id = $1";
pub const PATHS_SQL: &str = "SELECT path FROM media_files WHERE media_id = $1";
pub const DELETE_SQL: &str = "DELETE FROM media WHERE id = $1";
pub const BLOB_SQL: &str = "SELECT type, data FROM media_files WHERE path = $1";

#[derive(FromRow)]
pub struct MediumRow {
    pub id: i64,
    source_hash: String,
    #[sqlx(rename = "type")]
    kind: String,
    width: i64,
    height: i64,
    bytes: i64,
    created_at: i64,
}

#[derive(FromRow)]
pub struct FileDataRow {
    media_id: i64,
    path: String,
    original: bool,
    #[sqlx(rename = "type")]
    kind: String,
    width: i64,
    height: i64,
    data: Vec<u8>,
}

impl MediumRow {
    fn into_medium(self, files: Vec<MediaFileInfo>) -> StoreResult<Medium> {
        Ok(Medium {
            id: self.id,
            source_hash: self.source_hash,
            kind: self.kind,
            width: self.width,
            height: self.height,
            bytes: self.bytes,
            created_at: timestamp(self.created_at)?,
            files,
        })
    }
}

/// The media of `rows` with their files (`files` holds those of every row, by medium).
pub fn with_files(rows: Vec<MediumRow>, files: Vec<MediaFileInfo>) -> StoreResult<Vec<Medium>> {
    let mut by_medium: std::collections::HashMap<i64, Vec<MediaFileInfo>> = Default::default();
    for file in files {
        by_medium.entry(file.media_id).or_default().push(file);
    }
    rows.into_iter()
        .map(|row| {
            let files = by_medium.remove(&row.id).unwrap_or_default();
            row.into_medium(files)
        })
        .collect()
}

/// Exported media with their files' bytes.
pub fn with_data(rows: Vec<MediumRow>, files: Vec<FileDataRow>) -> StoreResult<Vec<StoredMedium>> {
    let mut by_medium: std::collections::HashMap<i64, Vec<MediaFileData>> = Default::default();
    for f in files {
        by_medium
            .entry(f.media_id)
            .or_default()
            .push(MediaFileData {
                path: f.path,
                original: f.original,
                kind: f.kind,
                width: f.width,
                height: f.height,
                data: f.data,
            });
    }
    rows.into_iter()
        .map(|row| {
            Ok(StoredMedium {
                files: by_medium.remove(&row.id).unwrap_or_default(),
                id: row.id,
                source_hash: row.source_hash,
                kind: row.kind,
                width: row.width,
                height: row.height,
                bytes: row.bytes,
                created_at: timestamp(row.created_at)?,
            })
        })
        .collect()
}

/// `stem-<id>.ext`: the path of a file whose bytes another medium already holds (rare: two
/// uploads that differ only in what re-encoding drops), so each medium owns its own rows.
pub fn own_path(path: &str, media_id: i64) -> String {
    match path.split_once('.') {
        Some((stem, ext)) => format!("{stem}-{media_id}.{ext}"),
        None => format!("{path}-{media_id}"),
    }
}

/// Why a medium cannot be deleted, if items show it.
pub fn in_use(uses: i64) -> StoreResult<()> {
    if uses > 0 {
        return Err(StoreError::InUse(format!(
            "is the image of {uses} item(s); take it off them first"
        )));
    }
    Ok(())
}

/// The [`MediaStore`] of an engine: the statements above are the same text on both; `$begin`
/// opens a write transaction and `$after_insert` runs after media were written with their own
/// ids (PostgreSQL moves its identity past them).
macro_rules! media_store {
    ($store:ty, $db:ty, $begin:ident, $after_insert:ident) => {
        impl $store {
            async fn medium_with_files<'e, E>(
                executor: E,
                row: Option<MediumRow>,
            ) -> StoreResult<Option<Medium>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let Some(row) = row else { return Ok(None) };
                let id = row.id;
                let files: Vec<MediaFileInfo> = sqlx::query_as(FILES_SQL)
                    .bind(id)
                    .bind(id)
                    .fetch_all(executor)
                    .await?;
                Ok(with_files(vec![row], files)?.pop())
            }
        }

        #[async_trait]
        impl $crate::store::MediaStore for $store {
            async fn medium_by_source(&self, source_hash: &str) -> StoreResult<Option<Medium>> {
                let row: Option<MediumRow> = sqlx::query_as(BY_SOURCE_SQL)
                    .bind(source_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Self::medium_with_files(&self.pool, row).await
            }

            async fn create_medium(&self, m: &StoredMedium) -> StoreResult<(Medium, bool)> {
                let mut tx = $begin(&self.pool).await?;
                let existing: Option<MediumRow> = sqlx::query_as(BY_SOURCE_SQL)
                    .bind(&m.source_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                let existing = match existing {
                    Some(row) => Some(row.id),
                    None => match m.files.iter().find(|f| f.original) {
                        Some(original) => {
                            sqlx::query_scalar(MEDIUM_OF_ORIGINAL_SQL)
                                .bind(&original.path)
                                .fetch_optional(&mut *tx)
                                .await?
                        }
                        None => None,
                    },
                };
                let (id, created) = match existing {
                    Some(id) => (id, false),
                    None => {
                        let id: i64 = sqlx::query_scalar(INSERT_SQL)
                            .bind(&m.source_hash)
                            .bind(&m.kind)
                            .bind(m.width)
                            .bind(m.height)
                            .bind(m.bytes)
                            .bind(m.created_at.timestamp())
                            .fetch_one(&mut *tx)
                            .await?;
                        for f in &m.files {
                            let taken: i64 = sqlx::query_scalar(PATH_TAKEN_SQL)
                                .bind(&f.path)
                                .fetch_one(&mut *tx)
                                .await?;
                            let path = if taken > 0 {
                                own_path(&f.path, id)
                            } else {
                                f.path.clone()
                            };
                            sqlx::query(INSERT_FILE_SQL)
                                .bind(&path)
                                .bind(id)
                                .bind(f.original)
                                .bind(&f.kind)
                                .bind(f.width)
                                .bind(f.height)
                                .bind(&f.data)
                                .execute(&mut *tx)
                                .await?;
                        }
                        (id, true)
                    }
                };
                let row: Option<MediumRow> = sqlx::query_as(BY_ID_SQL)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let medium = Self::medium_with_files(&mut *tx, row)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("medium {id} vanished")))?;
                tx.commit().await?;
                Ok((medium, created))
            }

            async fn medium(&self, id: i64) -> StoreResult<Option<Medium>> {
                let row: Option<MediumRow> = sqlx::query_as(BY_ID_SQL)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Self::medium_with_files(&self.pool, row).await
            }

            async fn media(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<Medium>> {
                let rows: Vec<MediumRow> = sqlx::query_as(PAGE_SQL)
                    .bind(before.unwrap_or(i64::MAX))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    return Ok(Vec::new());
                };
                let files: Vec<MediaFileInfo> = sqlx::query_as(FILES_SQL)
                    .bind(last.id)
                    .bind(first.id)
                    .fetch_all(&self.pool)
                    .await?;
                with_files(rows, files)
            }

            async fn delete_medium(&self, id: i64) -> StoreResult<Vec<String>> {
                let mut tx = $begin(&self.pool).await?;
                let row: Option<MediumRow> = sqlx::query_as(BY_ID_SQL)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_none() {
                    return Err(StoreError::NotFound);
                }
                let uses: i64 = sqlx::query_scalar(USES_SQL)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                in_use(uses)?;
                let paths: Vec<String> = sqlx::query_scalar(PATHS_SQL)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                sqlx::query(DELETE_SQL).bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(paths)
            }

            async fn media_file(&self, path: &str) -> StoreResult<Option<MediaBlob>> {
                Ok(sqlx::query_as(BLOB_SQL)
                    .bind(path)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn export_media(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredMedium>> {
                let rows: Vec<MediumRow> = sqlx::query_as(EXPORT_SQL)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    return Ok(Vec::new());
                };
                let files: Vec<FileDataRow> = sqlx::query_as(FILE_DATA_SQL)
                    .bind(first.id)
                    .bind(last.id)
                    .fetch_all(&self.pool)
                    .await?;
                with_data(rows, files)
            }

            async fn insert_media(&self, media: &[StoredMedium]) -> StoreResult<()> {
                let mut tx = $begin(&self.pool).await?;
                for m in media {
                    sqlx::query(INSERT_WITH_ID_SQL)
                        .bind(m.id)
                        .bind(&m.source_hash)
                        .bind(&m.kind)
                        .bind(m.width)
                        .bind(m.height)
                        .bind(m.bytes)
                        .bind(m.created_at.timestamp())
                        .execute(&mut *tx)
                        .await?;
                    for f in &m.files {
                        sqlx::query(INSERT_FILE_SQL)
                            .bind(&f.path)
                            .bind(m.id)
                            .bind(f.original)
                            .bind(&f.kind)
                            .bind(f.width)
                            .bind(f.height)
                            .bind(&f.data)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                $after_insert(&mut tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use media_store;
