//! Whole-store export and bulk insert for `herald copy-store`, written once for both engines:
//! the statements are the same text on each (placeholders come from sqlx's `QueryBuilder`), and
//! each engine wraps them in its own write transaction and counters.

use std::marker::PhantomData;

use sqlx::query_builder::Separated;
use sqlx::{Database, Decode, Encode, Executor, FromRow, QueryBuilder, Type};

use super::rows::{ItemRow, tags_json, timestamp};
use super::webhooks::{
    DELIVERY_COLUMNS, INSERT_DELIVERIES_HEAD, INSERT_WEBHOOKS_HEAD, StoredDelivery, StoredWebhook,
    WEBHOOK_COLUMNS,
};
use super::{Change, StoreCounts, StoreResult, StoredItem, StoredToken};

/// Rows per multi-row INSERT: at most 17 bound values a row (a webhook delivery) stays under
/// SQLite's 32,766 (and PostgreSQL's 65,535).
const CHUNK: usize = 1000;

/// An item row with the one column reads for serving leave out.
#[derive(FromRow)]
pub(super) struct ExportRow {
    #[sqlx(flatten)]
    pub(super) row: ItemRow,
    pub(super) source_key: Option<String>,
}

/// A token's stored columns: name, hash, created, revoked, prefix, scopes, expires, last used.
type TokenRow = (
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
);

/// The engine-neutral statements, for engine `DB`.
pub(super) struct Bulk<DB>(PhantomData<DB>);

impl<DB> Bulk<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'t> i64: Encode<'t, DB> + Decode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Decode<'t, DB> + Type<DB>,
    for<'t> Option<String>: Encode<'t, DB> + Decode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Decode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'r> TokenRow: FromRow<'r, DB::Row>,
    for<'r> (String, String): FromRow<'r, DB::Row>,
    for<'r> (i64, i64, i64, i64, i64, i64, i64, i64, i64): FromRow<'r, DB::Row>,
    for<'r> StoredWebhook: FromRow<'r, DB::Row>,
    for<'r> StoredDelivery: FromRow<'r, DB::Row>,
{
    /// `{head} VALUES …` for every row, `bind` pushing each row's values.
    async fn insert<T>(
        conn: &mut DB::Connection,
        head: &'static str,
        rows: &[T],
        bind: impl Fn(&mut Separated<'_, DB, &'static str>, &T),
    ) -> StoreResult<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut qb = QueryBuilder::<DB>::new(head);
            qb.push_values(chunk, |mut row, value| bind(&mut row, value));
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Up to `limit` item rows with an id above `after`, in id order.
    pub(super) async fn item_rows(
        conn: &mut DB::Connection,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<ExportRow>>
    where
        for<'r> ExportRow: FromRow<'r, DB::Row>,
    {
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {}, i.source_key FROM news_items i WHERE i.id > ",
            super::rows::ITEM_COLUMNS
        ));
        qb.push_bind(after)
            .push(" ORDER BY i.id LIMIT ")
            .push_bind(i64::from(limit));
        Ok(qb.build_query_as().fetch_all(&mut *conn).await?)
    }

    pub(super) async fn tokens(conn: &mut DB::Connection) -> StoreResult<Vec<StoredToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT name, token_hash, created_at, revoked_at, prefix, scopes, expires_at, \
             last_used_at FROM api_tokens ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .map(
                |(name, hash, created_at, revoked_at, prefix, scopes, expires_at, used)| {
                    Ok(StoredToken {
                        name,
                        hash,
                        created_at: timestamp(created_at)?,
                        revoked_at: revoked_at.map(timestamp).transpose()?,
                        prefix,
                        scopes,
                        expires_at: expires_at.map(timestamp).transpose()?,
                        last_used_at: used.map(timestamp).transpose()?,
                    })
                },
            )
            .collect()
    }

    pub(super) async fn meta(conn: &mut DB::Connection) -> StoreResult<Vec<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT key, value FROM herald_meta ORDER BY key")
                .fetch_all(&mut *conn)
                .await?,
        )
    }

    pub(super) async fn counts(conn: &mut DB::Connection) -> StoreResult<StoreCounts> {
        let (items, links, tags, tokens, meta, changes, media, webhooks, deliveries) =
            sqlx::query_as(
                "SELECT (SELECT count(*) FROM news_items), (SELECT count(*) FROM news_links), \
                    (SELECT count(*) FROM news_tags), (SELECT count(*) FROM api_tokens), \
                    (SELECT count(*) FROM herald_meta), (SELECT count(*) FROM changes), \
                    (SELECT count(*) FROM media), (SELECT count(*) FROM webhooks), \
                    (SELECT count(*) FROM webhook_deliveries)",
            )
            .fetch_one(&mut *conn)
            .await?;
        Ok(StoreCounts {
            items,
            links,
            tags,
            tokens,
            meta,
            changes,
            media,
            webhooks,
            deliveries,
        })
    }

    /// Every subscription, secrets included, oldest first.
    pub(super) async fn webhooks(conn: &mut DB::Connection) -> StoreResult<Vec<StoredWebhook>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS}, secret, previous_secret FROM webhooks ORDER BY id"
        )))
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Up to `limit` deliveries with an id above `after`, in id order.
    pub(super) async fn deliveries(
        conn: &mut DB::Connection,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<StoredDelivery>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id > $1 \
             ORDER BY d.id LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?)
    }

    pub(super) async fn insert_webhooks(
        conn: &mut DB::Connection,
        webhooks: &[StoredWebhook],
    ) -> StoreResult<()> {
        Self::insert(conn, INSERT_WEBHOOKS_HEAD, webhooks, |row, w| {
            row.push_bind(w.id)
                .push_bind(w.url.clone())
                .push_bind(w.events.clone())
                .push_bind(w.description.clone())
                .push_bind(w.secret.clone())
                .push_bind(w.previous_secret.clone())
                .push_bind(w.previous_secret_until)
                .push_bind(w.enabled)
                .push_bind(w.disabled_reason.clone())
                .push_bind(w.created_at)
                .push_bind(w.updated_at);
        })
        .await
    }

    pub(super) async fn insert_deliveries(
        conn: &mut DB::Connection,
        deliveries: &[StoredDelivery],
    ) -> StoreResult<()> {
        Self::insert(conn, INSERT_DELIVERIES_HEAD, deliveries, |row, d| {
            row.push_bind(d.id)
                .push_bind(d.webhook_id)
                .push_bind(d.message_id.clone())
                .push_bind(d.event_type.clone())
                .push_bind(d.item_id)
                .push_bind(d.slug.clone())
                .push_bind(d.item_status.clone())
                .push_bind(d.occurred_at)
                .push_bind(d.state.clone())
                .push_bind(d.attempts)
                .push_bind(d.next_attempt_at)
                .push_bind(d.lease_until)
                .push_bind(d.response_code)
                .push_bind(d.duration_ms)
                .push_bind(d.last_error.clone())
                .push_bind(d.created_at)
                .push_bind(d.finished_at);
        })
        .await
    }

    /// Items exactly as given, with their links and tags (the caller's transaction).
    pub(super) async fn insert_items(
        conn: &mut DB::Connection,
        items: &[StoredItem],
    ) -> StoreResult<()> {
        Self::insert(
            conn,
            "INSERT INTO news_items (id, guid, slug, title, summary, content_markdown, \
             content_html, status, published_at, created_at, updated_at, source_key) ",
            items,
            |row, stored| {
                let item = &stored.item;
                row.push_bind(item.id)
                    .push_bind(item.guid.clone())
                    .push_bind(item.slug.clone())
                    .push_bind(item.title.clone())
                    .push_bind(item.summary.clone())
                    .push_bind(item.content_markdown.clone())
                    .push_bind(item.content_html.clone())
                    .push_bind(item.status.as_str().to_owned())
                    .push_bind(item.published_at.timestamp())
                    .push_bind(item.created_at.timestamp())
                    .push_bind(item.updated_at.timestamp())
                    .push_bind(stored.source_key.clone());
            },
        )
        .await?;
        let links: Vec<_> = items
            .iter()
            .flat_map(|s| {
                s.item
                    .links
                    .iter()
                    .enumerate()
                    .map(move |(position, link)| (s.item.id, position as i64, link))
            })
            .collect();
        Self::insert(
            conn,
            "INSERT INTO news_links (item_id, position, title, url) ",
            &links,
            |row, (id, position, link)| {
                row.push_bind(*id)
                    .push_bind(*position)
                    .push_bind(link.title.clone())
                    .push_bind(link.url.clone());
            },
        )
        .await?;
        // Tag rows carry copies of their item's status and date (see the migrations).
        let tags: Vec<_> = items
            .iter()
            .flat_map(|s| s.item.tags.iter().map(move |tag| (&s.item, tag)))
            .collect();
        Self::insert(
            conn,
            "INSERT INTO news_tags (item_id, tag, status, published_at) ",
            &tags,
            |row, (item, tag)| {
                row.push_bind(item.id)
                    .push_bind((*tag).clone())
                    .push_bind(item.status.as_str().to_owned())
                    .push_bind(item.published_at.timestamp());
            },
        )
        .await?;
        // Bylines name authors by slug across stores (author ids are each store's own); the
        // authors are copied first, and the pages compared afterwards show every byline.
        for stored in items {
            for (position, author) in stored.item.authors.iter().enumerate() {
                let mut qb = QueryBuilder::<DB>::new(
                    "INSERT INTO news_authors (item_id, position, author_id) SELECT ",
                );
                qb.push_bind(stored.item.id)
                    .push(", ")
                    .push_bind(position as i64)
                    .push(" , id FROM authors WHERE slug = ")
                    .push_bind(author.slug.clone());
                qb.build().execute(&mut *conn).await?;
            }
            if let Some(image) = &stored.item.image {
                Self::insert_image(conn, stored.item.id, &image.draft).await?;
            }
        }
        Ok(())
    }

    /// An item's image; a medium by its id, which the media copied before it keep.
    async fn insert_image(
        conn: &mut DB::Connection,
        item_id: i64,
        image: &crate::model::ImageDraft,
    ) -> StoreResult<()> {
        use crate::model::ImageSource;
        let (media_id, url, width, height) = match &image.source {
            ImageSource::Media(id) => (Some(*id), None, None, None),
            ImageSource::Url { url, width, height } => (
                None,
                Some(url.clone()),
                width.map(i64::from),
                height.map(i64::from),
            ),
        };
        let mut qb = QueryBuilder::<DB>::new(
            "INSERT INTO news_images (item_id, media_id, url, width, height, alt, caption, credit) \
             VALUES (",
        );
        let mut row = qb.separated(", ");
        row.push_bind(item_id)
            .push_bind(media_id)
            .push_bind(url)
            .push_bind(width)
            .push_bind(height)
            .push_bind(image.alt.clone())
            .push_bind(image.caption.clone())
            .push_bind(image.credit.clone());
        qb.push(")");
        qb.build().execute(&mut *conn).await?;
        Ok(())
    }

    pub(super) async fn insert_tokens(
        conn: &mut DB::Connection,
        tokens: &[StoredToken],
    ) -> StoreResult<()> {
        Self::insert(
            conn,
            "INSERT INTO api_tokens (name, token_hash, created_at, revoked_at, prefix, scopes, \
             expires_at, last_used_at) ",
            tokens,
            |row, token| {
                row.push_bind(token.name.clone())
                    .push_bind(token.hash.clone())
                    .push_bind(token.created_at.timestamp())
                    .push_bind(token.revoked_at.map(|t| t.timestamp()))
                    .push_bind(token.prefix.clone())
                    .push_bind(token.scopes.clone())
                    .push_bind(token.expires_at.map(|t| t.timestamp()))
                    .push_bind(token.last_used_at.map(|t| t.timestamp()));
            },
        )
        .await
    }

    pub(super) async fn insert_changes(
        conn: &mut DB::Connection,
        changes: &[Change],
    ) -> StoreResult<()> {
        let tags = changes
            .iter()
            .map(|c| tags_json(&c.tags))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows: Vec<_> = changes.iter().zip(tags).collect();
        Self::insert(
            conn,
            "INSERT INTO changes (seq, kind, item_id, tags, was_public, is_public, at) ",
            &rows,
            |row, (change, tags)| {
                row.push_bind(change.seq)
                    .push_bind(change.kind.as_str().to_owned())
                    .push_bind(change.item_id)
                    .push_bind(tags.clone())
                    .push_bind(change.was_public)
                    .push_bind(change.is_public)
                    .push_bind(change.at.timestamp());
            },
        )
        .await
    }

    /// Deletes every item (links, tags and bylines go with them), author, token, meta entry,
    /// change and webhook with its deliveries.
    pub(super) async fn clear(conn: &mut DB::Connection) -> StoreResult<()> {
        for statement in [
            "DELETE FROM news_items",
            // After the items: their images no longer hold media back.
            "DELETE FROM media",
            "DELETE FROM authors",
            "DELETE FROM api_tokens",
            "DELETE FROM herald_meta",
            "DELETE FROM changes",
            "DELETE FROM webhook_deliveries",
            "DELETE FROM webhooks",
        ] {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Item rows apart from their source keys, for an engine's own loading of links and tags.
pub(super) fn split(rows: Vec<ExportRow>) -> (Vec<ItemRow>, Vec<Option<String>>) {
    rows.into_iter().map(|r| (r.row, r.source_key)).unzip()
}

/// Loaded items back together with their source keys (in the same order).
pub(super) fn join(
    items: Vec<crate::model::NewsItem>,
    keys: Vec<Option<String>>,
) -> Vec<StoredItem> {
    items
        .into_iter()
        .zip(keys)
        .map(|(item, source_key)| StoredItem { item, source_key })
        .collect()
}
