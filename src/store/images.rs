//! Item images (issue 16): an item's image is one row of `news_images`, naming a medium (whose
//! files are rows of `media_files`) or an external URL. Both engines read them with the same
//! query (one per page of items, whatever its size) and decode the rows here.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{StoreError, StoreResult};
use crate::model::{ImageDraft, ImageSource, ItemImage, MediaFile};

/// The images of a set of items with every file of their media, the original first and then
/// the variants by width. `bytes` is the engine's byte length of `f.data` as a 64-bit integer; `{ids}` the engine's
/// way of matching the bound list of item ids.
pub fn image_sql(bytes: &str, ids: &str) -> String {
    format!(
        "SELECT ni.item_id, ni.media_id, ni.url, ni.width, ni.height, ni.alt, ni.caption, \
                ni.credit, f.path, f.original, f.type AS file_type, f.width AS file_width, \
                f.height AS file_height, {bytes} AS bytes \
         FROM news_images ni LEFT JOIN media_files f ON f.media_id = ni.media_id \
         WHERE ni.item_id {ids} \
         ORDER BY ni.item_id, f.original DESC, f.width, f.type"
    )
}

/// A row of [`image_sql`]: an item's image, with one file of its medium if it has one.
#[derive(sqlx::FromRow)]
pub struct ImageRow {
    item_id: i64,
    media_id: Option<i64>,
    url: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    alt: String,
    caption: Option<String>,
    credit: Option<String>,
    path: Option<String>,
    original: Option<bool>,
    file_type: Option<String>,
    file_width: Option<i64>,
    file_height: Option<i64>,
    bytes: Option<i64>,
}

fn side(n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("stored image side {n}")))
}

/// Each item's image, by item id.
pub fn group(rows: Vec<ImageRow>) -> StoreResult<HashMap<i64, ItemImage>> {
    let mut images: HashMap<i64, ItemImage> = HashMap::new();
    for row in rows {
        let image = match images.entry(row.item_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let source = match (row.media_id, row.url) {
                    (Some(id), None) => ImageSource::Media(id),
                    (None, Some(url)) => ImageSource::Url {
                        url,
                        width: row.width.map(side).transpose()?,
                        height: row.height.map(side).transpose()?,
                    },
                    _ => {
                        return Err(StoreError::Corrupt(format!(
                            "item {}'s image has both or neither of a medium and a URL",
                            row.item_id
                        )));
                    }
                };
                e.insert(ItemImage {
                    draft: ImageDraft {
                        source,
                        alt: row.alt,
                        caption: row.caption,
                        credit: row.credit,
                    },
                    files: Vec::new(),
                })
            }
        };
        if let (Some(path), Some(original), Some(content_type), Some(w), Some(h)) = (
            row.path,
            row.original,
            row.file_type,
            row.file_width,
            row.file_height,
        ) {
            image.files.push(MediaFile {
                path,
                original,
                content_type,
                width: side(w)?,
                height: side(h)?,
                bytes: row.bytes.unwrap_or(0).max(0) as u64,
            });
        }
    }
    Ok(images)
}

/// What Markdown rendering needs of stored media: the size of the files its images name.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// `(width, height)` of each stored file among `paths` (paths under `/media/`); others are
    /// left out.
    async fn media_file_sizes(&self, paths: &[String]) -> StoreResult<HashMap<String, (u32, u32)>>;
}

/// The rows of a size look-up, by path.
pub fn sizes(rows: Vec<(String, i64, i64)>) -> StoreResult<HashMap<String, (u32, u32)>> {
    rows.into_iter()
        .map(|(path, w, h)| Ok((path, (side(w)?, side(h)?))))
        .collect()
}

/// `write_image(conn, item_id, image)` for an engine's connection type: replaces an item's image
/// with the draft's (or removes it), refusing a medium the store does not hold. The statements
/// are the same text on both engines.
macro_rules! image_writer {
    ($conn:ty) => {
        async fn write_image(
            conn: &mut $conn,
            id: i64,
            image: Option<&$crate::model::ImageDraft>,
        ) -> $crate::store::StoreResult<()> {
            use $crate::model::ImageSource;
            sqlx::query("DELETE FROM news_images WHERE item_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let Some(image) = image else {
                return Ok(());
            };
            let (media_id, url, width, height) = match &image.source {
                ImageSource::Media(media_id) => (Some(*media_id), None, None, None),
                ImageSource::Url { url, width, height } => (
                    None,
                    Some(url.as_str()),
                    width.map(i64::from),
                    height.map(i64::from),
                ),
            };
            if let Some(media_id) = media_id {
                let known: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM media WHERE id = $1)")
                        .bind(media_id)
                        .fetch_one(&mut *conn)
                        .await?;
                if !known {
                    return Err($crate::store::rules::unknown_medium(media_id));
                }
            }
            sqlx::query(
                "INSERT INTO news_images \
                 (item_id, media_id, url, width, height, alt, caption, credit) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(media_id)
            .bind(url)
            .bind(width)
            .bind(height)
            .bind(&image.alt)
            .bind(&image.caption)
            .bind(&image.credit)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}
pub(crate) use image_writer;
