//! Item counts the writes keep (`status_counts`, `tag_counts`: see the migration that made
//! them), less the scheduled items, which a narrow index range finds: `/api/v1/tags` and an
//! unfiltered `count=true` read a few rows at any store size.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::model::Status;
use crate::store::rules::{Counts, Total, tag_totals};
use crate::store::{StoreError, StoreResult, TagCount, Visibility};

fn status(text: &str) -> StoreResult<Status> {
    Status::parse(text).ok_or_else(|| StoreError::Corrupt(format!("kept count of status `{text}`")))
}

/// How many items of `total`'s scope `visibility` lets through.
pub(super) async fn count(
    conn: &mut SqliteConnection,
    total: Total<'_>,
    visibility: Visibility,
) -> StoreResult<i64> {
    let kept: Vec<(String, i64)> = match total {
        Total::All => {
            sqlx::query_as("SELECT status, count FROM status_counts")
                .fetch_all(&mut *conn)
                .await?
        }
        Total::Tag(tag) => {
            sqlx::query_as("SELECT status, count FROM tag_counts WHERE tag = ?1")
                .bind(tag)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let mut counts = Counts::default();
    if let Some(now) = judged_at(visibility) {
        counts.scheduled = scheduled(conn, total, now).await?;
    }
    for (name, count) in kept {
        match status(&name)? {
            Status::Published => counts.published += count,
            Status::Draft => counts.drafts += count,
        }
    }
    Ok(counts.visible(visibility))
}

/// The time a visibility is judged at, for those that depend on it.
fn judged_at(visibility: Visibility) -> Option<DateTime<Utc>> {
    match visibility {
        Visibility::Public { now } | Visibility::Scheduled { now } => Some(now),
        Visibility::Drafts | Visibility::All => None,
    }
}

/// Published items of `total`'s scope due after `now`: an index range over the few of them.
async fn scheduled(
    conn: &mut SqliteConnection,
    total: Total<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let count = match total {
        Total::All => {
            sqlx::query_scalar(
                "SELECT count(*) FROM news_items INDEXED BY news_items_public \
                 WHERE status = 'published' AND published_at > ?1",
            )
            .bind(now.timestamp())
            .fetch_one(&mut *conn)
            .await?
        }
        Total::Tag(tag) => {
            sqlx::query_scalar(
                "SELECT count(*) FROM news_tags \
                 WHERE tag = ?1 AND status = 'published' AND published_at > ?2",
            )
            .bind(tag)
            .bind(now.timestamp())
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(count)
}

/// Every tag `visibility` lets through, with its number of items, most used first.
pub(super) async fn tags(
    conn: &mut SqliteConnection,
    visibility: Visibility,
) -> StoreResult<Vec<TagCount>> {
    let kept: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT tag, status, count FROM tag_counts")
            .fetch_all(&mut *conn)
            .await?;
    let kept = kept
        .into_iter()
        .map(|(tag, name, count)| Ok((tag, status(&name)?, count)))
        .collect::<StoreResult<Vec<_>>>()?;
    let scheduled: Vec<(String, i64)> = match judged_at(visibility) {
        Some(now) => {
            // Few items are scheduled: walk them by date, then their tags by key.
            sqlx::query_as(
                "SELECT t.tag, count(*) FROM news_items i INDEXED BY news_items_public \
                 CROSS JOIN news_tags t ON t.item_id = i.id \
                 WHERE i.status = 'published' AND i.published_at > ?1 GROUP BY t.tag",
            )
            .bind(now.timestamp())
            .fetch_all(&mut *conn)
            .await?
        }
        None => Vec::new(),
    };
    Ok(tag_totals(kept, scheduled, visibility))
}
