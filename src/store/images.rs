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
                ni.credit, f.path, f.original, f.type, f.width, f.height, {bytes} \
         FROM news_images ni LEFT JOIN media_files f ON f.media_id = ni.media_id \
         WHERE ni.item_id {ids} \
         ORDER BY ni.item_id, f.original DESC, f.width, f.type"
    )
}

struct ImageRow {
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
    content_type: Option<String>,
    file_width: Option<i64>,
    file_height: Option<i64>,
    bytes: Option<i64>,
}

/// Rows of [`image_sql`] as tuples (column names repeat, so they are read by position).
pub type ImageTuple = (
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn side(n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("stored image side {n}")))
}

/// Each item's image, by item id.
pub fn group(rows: Vec<ImageTuple>) -> StoreResult<HashMap<i64, ItemImage>> {
    let mut images: HashMap<i64, ItemImage> = HashMap::new();
    for row in rows {
        let row = ImageRow {
            item_id: row.0,
            media_id: row.1,
            url: row.2,
            width: row.3,
            height: row.4,
            alt: row.5,
            caption: row.6,
            credit: row.7,
            path: row.8,
            original: row.9,
            content_type: row.10,
            file_width: row.11,
            file_height: row.12,
            bytes: row.13,
        };
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
            row.content_type,
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
