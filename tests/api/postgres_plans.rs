//! PostgreSQL-only checks: the query plans that keep lists, tag pages, date ranges, cursors and
//! searches on indexes, and validators and authentication on index seeks. The SQLite
//! counterparts are in `sqlite_plans.rs`.
//!
//! PostgreSQL's planner picks by statistics, and reads a table of a few rows end to end
//! whatever its indexes: the store here holds a few thousand items, analysed, so the plans are
//! the ones a real store gets.

use std::sync::Arc;

use chrono::Duration;
use herald::model::{ItemDraft, Status};
use herald::store::postgres::{CONTENT_TIMES_SQL, TOKEN_BY_HASH_SQL};
use herald::store::{
    Cursor, ItemStore, ListQuery, PostgresStore, SearchTerm, Sort, SourcedItem, Visibility,
    WriteItem,
};
use sqlx::{Connection, PgConnection};

use crate::helpers::{Engine, TestApp, runs_on, spawn_with, test_now};

const ITEMS: usize = 3000;

/// An unseeded server, and the same database opened as a [`PostgresStore`] holding
/// [`ITEMS`] items, one an hour back from `test_now()`: every tenth a draft, every third tagged
/// `press`, every fifth `launch`, a few words in their bodies; then analysed.
async fn app_with_many_items() -> (TestApp, PostgresStore) {
    let app = spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await;
    let store = PostgresStore::connect(&app.database_url).await.unwrap();
    let items: Vec<SourcedItem> = (0..ITEMS)
        .map(|i| {
            let mut tags = Vec::new();
            if i % 3 == 0 {
                tags.push("press".to_owned());
            }
            if i % 5 == 0 {
                tags.push("launch".to_owned());
            }
            // One item in a thousand mentions an aardvark.
            let word = if i % 1000 == 7 {
                "aardvark"
            } else {
                ["zebra", "quagga", "okapi", "tapir"][i % 4]
            };
            SourcedItem {
                source_key: format!("plans:{i}"),
                item: WriteItem::render(
                    ItemDraft {
                        slug: format!("item-{i}"),
                        title: format!("Item {i} about the {word}"),
                        summary: Some(format!("Summary {i}")),
                        content_markdown: format!("Plain body {i}, mentioning a {word}."),
                        status: if i % 10 == 0 {
                            Status::Draft
                        } else {
                            Status::Published
                        },
                        published_at: test_now() - Duration::hours(i as i64),
                        links: Vec::new(),
                        tags,
                        authors: vec![],
                        image: None,
                    },
                    &app.base,
                ),
            }
        })
        .collect();
    store.import(&items, test_now()).await.unwrap();
    sqlx::query("VACUUM ANALYZE")
        .execute(store.pool())
        .await
        .unwrap();
    (app, store)
}

fn seq_scan(line: &str) -> bool {
    line.contains("Seq Scan")
}

/// The plan of the list query for `query` must not read the items or tags table end to end,
/// nor sort every match: it walks an index range in order.
async fn assert_index_range(store: &PostgresStore, query: ListQuery) {
    let plan = store.explain_list(&query).await.unwrap();
    assert!(!plan.iter().any(|l| seq_scan(l)), "{query:?}: {plan:#?}");
    assert!(
        !plan.iter().any(|l| l.trim_start().starts_with("Sort Key")),
        "{query:?}: sorts every match in {plan:#?}"
    );
    assert!(
        plan.iter().any(|l| l.contains("Index")),
        "{query:?}: {plan:#?}"
    );
}

#[tokio::test]
async fn lists_tags_dates_and_cursors_walk_an_index_range() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let (_app, store) = app_with_many_items().await;
    let now = test_now();
    let base = ListQuery {
        visibility: Visibility::Public { now },
        limit: 20,
        ..ListQuery::default()
    };
    let since = Some(now - Duration::days(60));
    let until = Some(now - Duration::days(1));
    let press = vec!["press".to_owned()];
    for sort in [Sort::Newest, Sort::Oldest] {
        let cursor = Some(Cursor::by_date(sort, now.timestamp() - 86_400, 42));
        for query in [
            ListQuery {
                sort,
                ..base.clone()
            },
            ListQuery {
                sort,
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                since,
                until,
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                tags: press.clone(),
                since,
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                tags: vec!["press".to_owned(), "launch".to_owned()],
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                visibility: Visibility::Drafts,
                ..base.clone()
            },
        ] {
            assert_index_range(&store, query).await;
        }
    }
    // A tag page is read from the tag rows' copies of status and date alone.
    let plan = store
        .explain_list(&ListQuery {
            tags: press.clone(),
            after: Some(Cursor::by_date(Sort::Newest, now.timestamp(), 42)),
            ..base.clone()
        })
        .await
        .unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("Index Only Scan") && l.contains("news_tags_by_tag")),
        "{plan:#?}"
    );
    // The cursor is part of the index condition (a seek), not a filter over skipped rows.
    let plan = store
        .explain_list(&ListQuery {
            after: Some(Cursor::by_date(Sort::Newest, now.timestamp(), 42)),
            ..base.clone()
        })
        .await
        .unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("Index Cond") && l.contains("ROW(published_at, id) <")),
        "{plan:#?}"
    );
}

/// A rare word is found through the text index, with or without a tag; a common one may
/// instead walk the date index and stop after a page of matches. (A common word and a common
/// tag together match a third of a small table, which the planner rightly reads whole.)
#[tokio::test]
async fn searches_use_the_text_index() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let (_app, store) = app_with_many_items().await;
    let now = test_now();
    for (word, rare) in [("aardvark", true), ("okapi", false)] {
        let search = vec![SearchTerm {
            words: vec![word.to_owned()],
            prefix: false,
        }];
        for sort in [Sort::Newest, Sort::Oldest, Sort::Relevance] {
            let tagged = rare.then(|| vec!["press".to_owned()]);
            for tags in [Vec::new()].into_iter().chain(tagged) {
                let query = ListQuery {
                    visibility: Visibility::Public { now },
                    limit: 20,
                    search: search.clone(),
                    sort,
                    tags,
                    ..ListQuery::default()
                };
                let plan = store.explain_list(&query).await.unwrap();
                assert!(!plan.iter().any(|l| seq_scan(l)), "{query:?}: {plan:#?}");
                let text_index = plan
                    .iter()
                    .any(|l| l.contains("Bitmap Index Scan on news_items_search"));
                if rare {
                    assert!(text_index, "{query:?}: {plan:#?}");
                } else {
                    assert!(
                        text_index || plan.iter().any(|l| l.contains("news_items_public")),
                        "{query:?}: {plan:#?}"
                    );
                }
            }
        }
    }
}

/// PostgreSQL's plan for `sql` with `$1` bound to `value`, one line per row; sequential scans
/// are priced out, so the plan shows whether an index can answer at all.
async fn index_plan_of<T>(app: &TestApp, sql: &str, value: T) -> Vec<String>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
{
    let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let plan = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
        .bind(value)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    plan
}

/// What a cached response's validators are computed from runs on the first request and every
/// minute after: index seeks, never the items table end to end.
#[tokio::test]
async fn the_newest_change_is_found_by_index_seeks() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let (app, _store) = app_with_many_items().await;
    let plan = index_plan_of(&app, CONTENT_TIMES_SQL, test_now().timestamp()).await;
    // The migrations table (one row per migration) dates a store that never changed; it is only
    // read when the rest finds nothing.
    assert!(
        !plan
            .iter()
            .any(|l| seq_scan(l) && !l.contains("on _sqlx_migrations")),
        "{plan:#?}"
    );
    for index in ["changes_public_at", "news_items_public"] {
        assert!(plan.iter().any(|l| l.contains(index)), "{plan:#?}");
    }
}

/// Authentication looks a token up by its hash: one seek in the hash's unique index.
#[tokio::test]
async fn a_token_is_found_by_an_index_seek() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let (app, _store) = app_with_many_items().await;
    let plan = index_plan_of(&app, TOKEN_BY_HASH_SQL, "00").await;
    assert!(
        plan[0].starts_with("Index Scan using api_tokens_token_hash_key"),
        "{plan:#?}"
    );
}
