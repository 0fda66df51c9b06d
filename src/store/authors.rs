//! Author records: what items name in their bylines. Items refer to authors by the record's
//! internal id, so an edit of an author (its name, even its slug) reaches every item naming it;
//! such an edit records a change for each of those items, so caches and feeds learn of it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::rows::timestamp;
use super::{Change, StoreResult};
use crate::model::Byline;

/// An author as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub slug: String,
    pub name: String,
    pub bio: Option<String>,
    pub url: Option<String>,
    /// An image URL.
    pub avatar: Option<String>,
    /// For editors only.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Author {
    /// What items show of this author.
    pub fn byline(&self) -> Byline {
        Byline {
            name: self.name.clone(),
            slug: self.slug.clone(),
            url: self.url.clone(),
            avatar: self.avatar.clone(),
        }
    }
}

/// Everything a writer sets on an author; validated before it reaches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorDraft {
    pub slug: String,
    pub name: String,
    pub bio: Option<String>,
    pub url: Option<String>,
    pub avatar: Option<String>,
    pub email: Option<String>,
}

/// An author with the number of public items naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorCount {
    pub author: Author,
    pub items: i64,
}

// The statements, the same text on both engines (sqlx binds `$N` on SQLite too).

/// Every author with its number of items public at `$1`; [`ONE_SQL`] adds the slug.
pub const LIST_SQL: &str = "SELECT slug, name, bio, url, avatar, email, created_at, updated_at, \
     (SELECT count(*) FROM news_authors na JOIN news_items i ON i.id = na.item_id \
      WHERE na.author_id = a.id AND i.status = 'published' AND i.published_at <= $1) AS items \
     FROM authors a";
pub const ONE_SQL: &str = "SELECT slug, name, bio, url, avatar, email, created_at, updated_at \
     FROM authors WHERE slug = $1";
pub const CREATE_SQL: &str = "INSERT INTO authors \
     (slug, name, bio, url, avatar, email, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     RETURNING slug, name, bio, url, avatar, email, created_at, updated_at";
pub const UPDATE_SQL: &str = "UPDATE authors SET slug = $2, name = $3, bio = $4, url = $5, \
     avatar = $6, email = $7, updated_at = $8 WHERE slug = $1 \
     RETURNING slug, name, bio, url, avatar, email, created_at, updated_at";
/// The items naming the author `$1`, by id.
pub const ITEMS_OF_SQL: &str = "SELECT DISTINCT na.item_id FROM news_authors na \
     JOIN authors a ON a.id = na.author_id WHERE a.slug = $1 ORDER BY na.item_id";
/// Their representation changed with the byline: `Last-Modified` must move.
pub const TOUCH_ITEMS_SQL: &str = "UPDATE news_items SET updated_at = $2 WHERE id IN \
     (SELECT na.item_id FROM news_authors na JOIN authors a ON a.id = na.author_id \
      WHERE a.slug = $1)";
pub const USES_SQL: &str = "SELECT count(*) FROM news_authors na \
     JOIN authors a ON a.id = na.author_id WHERE a.slug = $1";
pub const DELETE_SQL: &str = "DELETE FROM authors WHERE slug = $1";

#[derive(FromRow)]
pub struct AuthorRow {
    slug: String,
    name: String,
    bio: Option<String>,
    url: Option<String>,
    avatar: Option<String>,
    email: Option<String>,
    created_at: i64,
    updated_at: i64,
    #[sqlx(default)]
    items: Option<i64>,
}

impl AuthorRow {
    pub fn into_count(self) -> StoreResult<AuthorCount> {
        Ok(AuthorCount {
            items: self.items.unwrap_or(0),
            author: Author {
                slug: self.slug,
                name: self.name,
                bio: self.bio,
                url: self.url,
                avatar: self.avatar,
                email: self.email,
                created_at: timestamp(self.created_at)?,
                updated_at: timestamp(self.updated_at)?,
            },
        })
    }
}

/// Authors in the order lists show them: by name, then slug, byte-wise (the same on every
/// engine and collation).
pub fn sorted(mut authors: Vec<AuthorCount>) -> Vec<AuthorCount> {
    authors.sort_by(|a, b| (&a.author.name, &a.author.slug).cmp(&(&b.author.name, &b.author.slug)));
    authors
}

/// Why an author cannot be deleted, if items name it.
pub fn in_use(uses: i64) -> StoreResult<()> {
    if uses > 0 {
        return Err(super::StoreError::InUse(format!(
            "names an author {uses} item(s) still name; take it off them first"
        )));
    }
    Ok(())
}

/// Whether an edit from `before` to `after` changes what items show of the author.
pub fn byline_differs(before: &Author, after: &AuthorDraft) -> bool {
    before.slug != after.slug
        || before.name != after.name
        || before.url != after.url
        || before.avatar != after.avatar
}

#[async_trait]
pub trait AuthorStore: Send + Sync {
    /// Every author, by name then slug, with the number of items public at `now` naming it.
    async fn authors(&self, now: DateTime<Utc>) -> StoreResult<Vec<AuthorCount>>;
    /// One author by slug, counted as in [`AuthorStore::authors`].
    async fn author(&self, slug: &str, now: DateTime<Utc>) -> StoreResult<Option<AuthorCount>>;
    /// A taken slug is a conflict on `slug`.
    async fn create_author(&self, draft: &AuthorDraft, now: DateTime<Utc>) -> StoreResult<Author>;
    /// Replaces every written field of the author `slug`, failing with
    /// [`super::StoreError::Stale`] unless it still equals `expected`. When the byline changes,
    /// every item naming the author gets `updated_at = now` and a recorded change, in the same
    /// transaction.
    async fn update_author(
        &self,
        slug: &str,
        draft: &AuthorDraft,
        expected: &Author,
        now: DateTime<Utc>,
    ) -> StoreResult<(Author, Vec<Change>)>;
    /// Deletes the author `slug` ([`super::StoreError::InUse`] while any item names it).
    async fn delete_author(&self, slug: &str, expected: &Author) -> StoreResult<()>;
}

/// The [`AuthorStore`] of an engine: the statements above are the same text on both, so only
/// how a write transaction begins differs (`$begin`, given the pool). Expanded in the engine's
/// module, which provides `items::fetch_by_id` and `changes::record`.
macro_rules! author_store {
    ($store:ty, $begin:ident) => {
        #[async_trait]
        impl $crate::store::AuthorStore for $store {
            async fn authors(&self, now: DateTime<Utc>) -> StoreResult<Vec<AuthorCount>> {
                let rows: Vec<AuthorRow> = sqlx::query_as(LIST_SQL)
                    .bind(now.timestamp())
                    .fetch_all(&self.pool)
                    .await?;
                Ok(sorted(
                    rows.into_iter()
                        .map(AuthorRow::into_count)
                        .collect::<StoreResult<_>>()?,
                ))
            }

            async fn author(
                &self,
                slug: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<AuthorCount>> {
                let row: Option<AuthorRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("{LIST_SQL} WHERE a.slug = $2")))
                        .bind(now.timestamp())
                        .bind(slug)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(AuthorRow::into_count).transpose()
            }

            async fn create_author(
                &self,
                d: &AuthorDraft,
                now: DateTime<Utc>,
            ) -> StoreResult<Author> {
                let row: AuthorRow = sqlx::query_as(CREATE_SQL)
                    .bind(&d.slug)
                    .bind(&d.name)
                    .bind(&d.bio)
                    .bind(&d.url)
                    .bind(&d.avatar)
                    .bind(&d.email)
                    .bind(now.timestamp())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_unique)?;
                Ok(row.into_count()?.author)
            }

            async fn update_author(
                &self,
                slug: &str,
                d: &AuthorDraft,
                expected: &Author,
                now: DateTime<Utc>,
            ) -> StoreResult<(Author, Vec<Change>)> {
                let mut tx = $begin(&self.pool).await?;
                let current: Option<AuthorRow> = sqlx::query_as(ONE_SQL)
                    .bind(slug)
                    .fetch_optional(&mut *tx)
                    .await?;
                let current = current.ok_or(StoreError::NotFound)?.into_count()?.author;
                if current != *expected {
                    return Err(StoreError::Stale);
                }
                let row: AuthorRow = sqlx::query_as(UPDATE_SQL)
                    .bind(slug)
                    .bind(&d.slug)
                    .bind(&d.name)
                    .bind(&d.bio)
                    .bind(&d.url)
                    .bind(&d.avatar)
                    .bind(&d.email)
                    .bind(now.timestamp())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                let mut recorded = Vec::new();
                if byline_differs(&current, d) {
                    sqlx::query(TOUCH_ITEMS_SQL)
                        .bind(&d.slug)
                        .bind(now.timestamp())
                        .execute(&mut *tx)
                        .await?;
                    let ids: Vec<i64> = sqlx::query_scalar(ITEMS_OF_SQL)
                        .bind(&d.slug)
                        .fetch_all(&mut *tx)
                        .await?;
                    for id in ids {
                        let item = items::fetch_by_id(&mut tx, id).await?;
                        recorded
                            .push(changes::record(&mut tx, byline_changed(&item, now), now).await?);
                    }
                }
                tx.commit().await?;
                Ok((row.into_count()?.author, recorded))
            }

            async fn delete_author(&self, slug: &str, expected: &Author) -> StoreResult<()> {
                let mut tx = $begin(&self.pool).await?;
                let current: Option<AuthorRow> = sqlx::query_as(ONE_SQL)
                    .bind(slug)
                    .fetch_optional(&mut *tx)
                    .await?;
                if current.ok_or(StoreError::NotFound)?.into_count()?.author != *expected {
                    return Err(StoreError::Stale);
                }
                let uses: i64 = sqlx::query_scalar(USES_SQL)
                    .bind(slug)
                    .fetch_one(&mut *tx)
                    .await?;
                in_use(uses)?;
                sqlx::query(DELETE_SQL).bind(slug).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use author_store;
