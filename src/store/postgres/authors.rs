//! Author records (statements shared with PostgreSQL in [`crate::store::authors`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PostgresStore, begin_write, changes, items};
use crate::store::authors::{
    AuthorRow, CREATE_SQL, DELETE_SQL, ITEMS_OF_SQL, LIST_SQL, ONE_SQL, TOUCH_ITEMS_SQL,
    UPDATE_SQL, USES_SQL, byline_differs, in_use, sorted,
};
use crate::store::rules::{byline_changed, map_unique};
use crate::store::{
    Author, AuthorCount, AuthorDraft, AuthorStore, Change, StoreError, StoreResult,
};

#[async_trait]
impl AuthorStore for PostgresStore {
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

    async fn author(&self, slug: &str, now: DateTime<Utc>) -> StoreResult<Option<AuthorCount>> {
        let row: Option<AuthorRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{LIST_SQL} WHERE a.slug = $2")))
                .bind(now.timestamp())
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?;
        row.map(AuthorRow::into_count).transpose()
    }

    async fn create_author(&self, d: &AuthorDraft, now: DateTime<Utc>) -> StoreResult<Author> {
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
        let mut tx = begin_write(&self.pool).await?;
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
                recorded.push(changes::record(&mut tx, byline_changed(&item, now), now).await?);
            }
        }
        tx.commit().await?;
        Ok((row.into_count()?.author, recorded))
    }

    async fn delete_author(&self, slug: &str, expected: &Author) -> StoreResult<()> {
        let mut tx = begin_write(&self.pool).await?;
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
