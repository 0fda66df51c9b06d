//! Item counts the writes keep (`status_counts`, `tag_counts`: see the migration that made
//! them), less the scheduled items, which a narrow index range finds: `/api/v1/tags` and an
//! unfiltered `count=true` read a few rows at any store size. What the numbers mean is in
//! `store::rules` ([`Counts`], [`tag_totals`]); here are only the queries.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::store::rules::{Counts, Total, judged_at, tag_totals};
use crate::store::{StoreResult, TagCount, Visibility};

/// How many items of `total`'s scope `visibility` lets through.
pub(super) async fn count(
    conn: &mut PgConnection,
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
            sqlx::query_as("SELECT status, count FROM tag_counts WHERE tag = $1")
                .bind(tag)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let scheduled = match judged_at(visibility) {
        Some(now) => scheduled(conn, total, now).await?,
        None => 0,
    };
    Ok(Counts::from_kept(kept, scheduled)?.visible(visibility))
}

/// Published items of `total`'s scope due after `now`: an index range over the few of them.
async fn scheduled(
    conn: &mut PgConnection,
    total: Total<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let count = match total {
        Total::All => {
            sqlx::query_scalar(
                "SELECT count(*)::int8 FROM news_items \
                 WHERE status = 'published' AND published_at > $1",
            )
            .bind(now.timestamp())
            .fetch_one(&mut *conn)
            .await?
        }
        Total::Tag(tag) => {
            sqlx::query_scalar(
                "SELECT count(*)::int8 FROM news_tags \
                 WHERE tag = $1 AND status = 'published' AND published_at > $2",
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
    conn: &mut PgConnection,
    visibility: Visibility,
) -> StoreResult<Vec<TagCount>> {
    let kept: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT tag, status, count FROM tag_counts")
            .fetch_all(&mut *conn)
            .await?;
    let scheduled: Vec<(String, i64)> = match judged_at(visibility) {
        // Few items are scheduled: walk them by date, then their tags by key.
        Some(now) => {
            sqlx::query_as(
                "SELECT t.tag, count(*)::int8 FROM news_items i \
                 JOIN news_tags t ON t.item_id = i.id \
                 WHERE i.status = 'published' AND i.published_at > $1 GROUP BY t.tag",
            )
            .bind(now.timestamp())
            .fetch_all(&mut *conn)
            .await?
        }
        None => Vec::new(),
    };
    tag_totals(kept, scheduled, visibility)
}
