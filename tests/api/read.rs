//! The read API: listing, paging, single items, and the errors around them.

use std::collections::HashSet;

use actix_web::test;
use herald::startup::build_app;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, generated_page, in_process_state, spawn_app};

/// Imports a generated Jekyll page named `prefix` as `herald import` would.
async fn import_generated(app: &TestApp, n: usize, prefix: &str) {
    let dir = tempfile::TempDir::new().unwrap();
    let page = dir.path().join(format!("{prefix}.md"));
    std::fs::write(&page, generated_page(n, prefix)).unwrap();
    app.import(&page).await;
}

/// Follows `Link: rel="next"` from `first` to the end, checking it agrees with `next_cursor`.
pub async fn walk(app: &TestApp, first: &str) -> Vec<Value> {
    let mut url = app.url(first);
    let mut items = Vec::new();
    loop {
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let link = response
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match (link, body["next_cursor"].as_str()) {
            (None, None) => return items,
            (Some(link), Some(cursor)) => {
                assert!(link.ends_with(">; rel=\"next\""), "{link}");
                let next = link[1..link.len() - ">; rel=\"next\"".len()].to_owned();
                assert!(next.starts_with(app.base.as_str()), "absolute: {next}");
                assert!(next.contains(cursor), "{next} carries {cursor}");
                url = next;
            }
            other => panic!("Link header and next_cursor disagree: {other:?}"),
        }
    }
}

fn titles(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["title"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn limit_one_walks_the_seed_one_item_a_page() {
    let app = spawn_app().await;
    let first = app.get("/api/v1/news?limit=1").await;
    assert!(first.headers().contains_key("link"));
    let items = walk(&app, "/api/v1/news?limit=1").await;
    assert_eq!(
        titles(&items),
        [
            "Working Group Two discussed in Reuters article",
            "Signing our Head of Engineering",
            "The launch of Working Group Two",
            "Working Group Two readies commercial launch",
        ]
    );
}

#[tokio::test]
async fn paging_over_more_than_a_hundred_items_is_complete_and_ordered() {
    let app = spawn_app().await;
    import_generated(&app, 150, "gen").await;

    let first: Value = app.get_json("/api/v1/news?limit=100").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    assert!(first["next_cursor"].is_string());

    let items = walk(&app, "/api/v1/news?limit=100").await;
    assert_eq!(items.len(), 154);
    let ids: HashSet<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 154, "no item twice");
    let keys: Vec<(String, i64)> = items
        .iter()
        .map(|i| {
            (
                i["published_at"].as_str().unwrap().to_owned(),
                i["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first, id breaking ties");

    // The default page size is 20.
    let default: Value = app.get_json("/api/v1/news").await;
    assert_eq!(default["items"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn cursor_stays_exact_while_items_are_added() {
    let app = spawn_app().await;
    import_generated(&app, 30, "old").await;
    let existing: HashSet<i64> = walk(&app, "/api/v1/news?limit=100")
        .await
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(existing.len(), 34);
    let first: Value = app.get_json("/api/v1/news?limit=10").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // New items arrive (newer and older than the cursor) between two page requests.
    import_generated(&app, 5, "new").await;
    let rest = walk(&app, &format!("/api/v1/news?limit=10&cursor={cursor}")).await;
    let seen: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest.iter())
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no item twice");
    assert!(
        existing.is_subset(&unique),
        "every item that existed when the walk began is on some page"
    );
    // The five new items are older than the cursor, so the walk meets them too.
    assert_eq!(unique.len(), 39);
}

#[tokio::test]
async fn one_item_by_id_and_by_slug() {
    let app = spawn_app().await;
    let list = app.get_json("/api/v1/news").await;
    let first = &list["items"][0];
    let id = first["id"].as_i64().unwrap();
    let by_id = app.get_json(&format!("/api/v1/news/{id}")).await;
    let by_slug = app
        .get_json(&format!("/api/v1/news/{}", first["slug"].as_str().unwrap()))
        .await;
    assert_eq!(&by_id, first);
    assert_eq!(by_id, by_slug);
    assert_eq!(
        by_id["slug"],
        "working-group-two-discussed-in-reuters-article"
    );

    // The permalink opens as an HTML page.
    let page = app.get(by_id["url"].as_str().unwrap()).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Working Group Two discussed in Reuters article")
    );
}

#[tokio::test]
async fn unknown_items_and_routes_are_problem_404s() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/news/999999",
        "/api/v1/news/no-such-slug",
        "/api/v1/nothing",
        "/nothing/at/all",
        "/news/no-such-slug",
    ] {
        let body = assert_problem(app.get(path).await, 404).await;
        assert_eq!(body["title"], "Not Found", "{path}");
    }
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(response, 405).await;
}

#[tokio::test]
async fn bad_paging_parameters_are_problem_400s_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("limit=", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=%FF%FE", "cursor"),
        ("cursor=djE6eDp5", "cursor"),
        ("tag=", "tag"),
    ] {
        let response = app.get(&format!("/api/v1/news?{query}")).await;
        let body = assert_problem(response, 400).await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
        assert!(body["detail"].as_str().unwrap().contains(field), "{query}");
    }
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let app = spawn_app().await;
    let body = app.get_json("/healthz").await;
    assert_eq!(body["status"], "ok");
}

#[actix_web::test]
async fn in_process_items_carry_absolute_urls_and_rfc3339_dates() {
    let (state, _clock, _dir) = in_process_state().await;
    let app = test::init_service(build_app(state)).await;
    let request = test::TestRequest::get()
        .uri("/api/v1/news?limit=2")
        .to_request();
    let body: Value = test::call_and_read_body_json(&app, request).await;
    let item = &body["items"][0];
    assert_eq!(
        item["url"],
        "http://news.test/news/working-group-two-discussed-in-reuters-article"
    );
    for field in ["published_at", "updated_at", "created_at"] {
        let text = item[field].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{field}: {e}"));
    }
    assert_eq!(item["summary"], Value::Null);
    assert_eq!(item["tags"], serde_json::json!([]));
    assert_eq!(item["status"], "published");
}
