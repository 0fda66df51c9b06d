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
