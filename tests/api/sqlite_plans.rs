//! SQLite-only checks: the query plans that keep lists, searches, validators and
//! authentication on index seeks, the SQL the SQLite store exports for that, and rows corrupted
//! behind the store's back with raw SQL. Another engine has its own planner and its own SQL;
//! these say nothing about it, and the rest of the suite runs on any store.

use std::sync::Arc;

use chrono::Duration;
use herald::model::{ItemDraft, Status, slugify};
use herald::store::sqlite::{CONTENT_TIMES_SQL, TOKEN_BY_HASH_SQL};
use herald::store::{
    Cursor, ItemStore, ListQuery, SearchTerm, Sort, SourcedItem, SqliteStore, Visibility, WriteItem,
};
use sqlx::Connection;

use crate::helpers::{Engine, TestApp, assert_problem, runs_on, spawn_with, test_now};

/// An unseeded server, and the same database opened as a [`SqliteStore`] holding a few tagged
/// items: published, draft and scheduled.
async fn app_with_tagged_items() -> (TestApp, SqliteStore) {
    let app = spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await;
    let store = SqliteStore::connect(&app.database_url).await.unwrap();
    let items: Vec<SourcedItem> = [
        (
            "A",
            "2020-01-01T00:00:00Z",
            &["press", "launch"][..],
            Status::Published,
        ),
        ("B", "2020-01-31T23:59:59Z", &["press"], Status::Published),
        (
            "C",
            "2020-02-01T00:00:00Z",
            &["launch", "hiring"],
            Status::Published,
        ),
        (
            "D",
            "2019-12-31T23:59:59Z",
            &["press", "launch", "hiring"],
            Status::Published,
        ),
        ("E draft", "2020-01-15T00:00:00Z", &["press"], Status::Draft),
        (
            "F future",
            "2027-01-01T00:00:00Z",
            &["press", "future"],
            Status::Published,
        ),
    ]
    .into_iter()
    .map(|(title, date, tags, status)| SourcedItem {
        source_key: format!("plans:{title}"),
        item: WriteItem::render(
            ItemDraft {
                slug: slugify(title),
                title: title.to_owned(),
                summary: None,
                content_markdown: "Plain body.".to_owned(),
                status,
                published_at: date.parse().unwrap(),
                links: Vec::new(),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                authors: vec![],
                image: None,
            },
            &app.base,
        ),
    })
    .collect();
    store.import(&items, test_now()).await.unwrap();
    (app, store)
}

/// SQLite's plan for `sql` with its parameter bound to `value`, one line per step.
async fn plan_of<T>(app: &TestApp, sql: &str, value: T) -> Vec<String>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + 'static,
{
    let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(explain))
        .bind(value)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.into_iter().map(|r| r.3).collect()
}

/// A plan step reading a whole table or index: not the full-text index (its own search), nor
/// the page of keys (`k`) or the scored candidates (`c`) an inner query handed out.
fn full_scan(line: &str) -> bool {
    line.starts_with("SCAN ")
        && line != "SCAN k"
        && line != "SCAN c"
        && !line.contains("VIRTUAL TABLE")
}

/// The plan of the list query for `query` must not read the items or tags table end to end,
/// nor sort the matches: it walks an index range in order.
async fn assert_index_only(store: &SqliteStore, query: ListQuery) {
    let plan = store.explain_list(&query).await.unwrap();
    for line in &plan {
        assert!(!full_scan(line), "{query:?}: full scan in {plan:?}");
        assert!(
            !line.contains("TEMP B-TREE"),
            "{query:?}: sorts every match in {plan:?}"
        );
    }
    assert!(
        plan.iter()
            .any(|l| l.contains("USING") && l.contains("INDEX")),
        "{query:?}: {plan:?}"
    );
}

#[tokio::test]
async fn hot_queries_use_an_index_range_not_a_scan() {
    if !runs_on(Engine::Sqlite) {
        return;
    }
    let (_app, store) = app_with_tagged_items().await;
    let now = test_now();
    let base = ListQuery {
        visibility: Visibility::Public { now },
        limit: 20,
        ..ListQuery::default()
    };
    let since = Some(now - Duration::days(30));
    let until = Some(now - Duration::days(1));
    let tags = vec!["press".to_owned()];
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
                ..base.clone()
            },
            ListQuery {
                sort,
                since,
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                tags: tags.clone(),
                ..base.clone()
            },
            ListQuery {
                sort,
                tags: tags.clone(),
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                tags: tags.clone(),
                since,
                until,
                after: cursor,
                ..base.clone()
            },
            ListQuery {
                sort,
                tags: vec!["press".to_owned(), "launch".to_owned()],
                after: cursor,
                ..base.clone()
            },
        ] {
            assert_index_only(&store, query).await;
        }
    }
    // A date-sorted search walks the full-text index in rowid (date) order: no sort, and it
    // stops after a page.
    let words = vec![SearchTerm {
        words: vec!["plain".to_owned()],
        prefix: false,
    }];
    for sort in [Sort::Newest, Sort::Oldest] {
        let cursor = Some(Cursor::by_date(sort, now.timestamp() - 86_400, 42));
        for query in [
            ListQuery {
                sort,
                search: words.clone(),
                ..base.clone()
            },
            ListQuery {
                sort,
                search: words.clone(),
                since,
                until,
                after: cursor,
                tags: tags.clone(),
                ..base.clone()
            },
        ] {
            assert_index_only(&store, query.clone()).await;
            let plan = store.explain_list(&query).await.unwrap();
            assert!(plan.iter().any(|l| l.contains("VIRTUAL TABLE")), "{plan:?}");
        }
    }
    // A relevance search is driven by the full-text index; items are then read by primary key
    // (without tags, only the best-scored candidates are checked).
    let relevance = ListQuery {
        search: words.clone(),
        sort: Sort::Relevance,
        after: Some(Cursor::by_score(1.5, 3)),
        ..base.clone()
    };
    for query in [
        relevance.clone(),
        ListQuery {
            since,
            ..relevance.clone()
        },
        ListQuery {
            tags: tags.clone(),
            ..relevance
        },
    ] {
        let plan = store.explain_list(&query).await.unwrap();
        assert!(plan.iter().any(|l| l.contains("VIRTUAL TABLE")), "{plan:?}");
        assert!(
            plan.iter()
                .any(|l| l.contains("COVERING INDEX news_items_keys")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|l| full_scan(l)), "{plan:?}");
    }
}

/// What a cached response's validators are computed from runs on the first request and every
/// minute after: it must seek indexes, never read the items table end to end.
#[tokio::test]
async fn the_newest_change_is_found_by_index_seeks() {
    if !runs_on(Engine::Sqlite) {
        return;
    }
    let (app, _store) = app_with_tagged_items().await;
    let plan = plan_of(&app, CONTENT_TIMES_SQL, test_now().timestamp()).await;
    // The outer SELECT has no FROM: SQLite reports it as a scan of one constant row.
    let scans = plan
        .iter()
        .filter(|l| full_scan(l) && l.as_str() != "SCAN CONSTANT ROW");
    assert_eq!(scans.count(), 0, "{plan:?}");
    assert_eq!(
        plan.iter()
            .filter(|l| l.starts_with("SEARCH news_items USING COVERING INDEX"))
            .count(),
        2,
        "{plan:?}"
    );
    // The newest public change, deletes included, from the change log's partial index.
    assert!(
        plan.iter()
            .any(|l| l.starts_with("SEARCH changes USING INDEX changes_public_at")),
        "{plan:?}"
    );
}

/// Authentication looks a token up by its hash: one seek in the hash's unique index, however
/// many tokens exist.
#[tokio::test]
async fn a_token_is_found_by_an_index_seek() {
    if !runs_on(Engine::Sqlite) {
        return;
    }
    let (app, _store) = app_with_tagged_items().await;
    let plan = plan_of(&app, TOKEN_BY_HASH_SQL, "00").await;
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert!(
        plan[0].starts_with("SEARCH api_tokens USING INDEX") && plan[0].contains("token_hash=?"),
        "{plan:?}"
    );
}

/// A stored value no item can hold is a logged 500, never a default: not the epoch for a date
/// out of range, not a draft for an unknown status.
#[tokio::test]
async fn corrupt_rows_are_errors_not_defaults() {
    if !runs_on(Engine::Sqlite) {
        return;
    }
    let (app, _store) = app_with_tagged_items().await;
    let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    let body = app.get_json("/api/v1/news/a").await;
    assert_eq!(body["title"], "A");
    sqlx::query("UPDATE news_items SET created_at = ?1 WHERE slug = 'a'")
        .bind(i64::MAX)
        .execute(&mut conn)
        .await
        .unwrap();
    // Written behind the change log's back: say so, or the cached answer stands until a recheck.
    app.state.content_changed();
    assert_problem(app.get("/api/v1/news/a").await, 500).await;
    assert_problem(app.get("/api/v1/news").await, 500).await;

    // The CHECK constraint keeps unknown statuses out; an older or foreign writer might not.
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE news_items SET status = 'archived' WHERE slug = 'b'")
        .execute(&mut conn)
        .await
        .unwrap();
    // Readers never see it (only published items are public); an editor reads every status.
    let token = app.token().await;
    let read = |slug: &str| {
        app.authed(
            reqwest::Method::GET,
            &format!("/api/v1/news/{slug}"),
            &token,
        )
        .send()
    };
    assert_problem(read("b").await.unwrap(), 500).await;
    assert_eq!(read("c").await.unwrap().status(), 200);
}
