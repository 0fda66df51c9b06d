//! Issue 12: no cheap request can stall Herald, and nothing about a draft leaks through
//! headers. Each test is the attack the security review tried, through HTTP.

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, assert_problem, spawn_app};

/// Generous: the point is "not seconds of work", not a speed target.
const PROMPTLY: Duration = Duration::from_secs(3);

async fn timed_get(app: &TestApp, path: &str) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let response = app.get(path).await;
    (response, started.elapsed())
}

#[tokio::test]
async fn a_feed_url_with_thousands_of_parameters_is_refused_at_once() {
    let app = spawn_app().await;
    // 16,000 empty parameters (32 KB) once held a worker for seconds per request.
    let path = format!("/feed.rss?{}", "=&".repeat(16_000));
    let (response, took) = timed_get(&app, &path).await;
    let body = assert_problem(response, 400).await;
    assert_eq!(body["errors"][0]["field"], "query", "{body}");
    assert!(took < PROMPTLY, "took {took:?}");
    // The JSON list has the same bound.
    let path = format!("/api/v1/news?{}", "utm=1&".repeat(51));
    let body = assert_problem(app.get(&path).await, 400).await;
    assert_eq!(body["errors"][0]["field"], "query", "{body}");
}

#[tokio::test]
async fn fifty_parameters_still_make_a_canonical_feed() {
    let app = spawn_app().await;
    // Repeats, trackers and paging are left out of the self link, as they always were.
    let mut path = "/feed.atom?since=2000-01-01&tag=Press".to_owned();
    for n in 0..48 {
        path.push_str(&format!("&utm{n}=x"));
    }
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let own = app.url("/feed.atom?since=2000-01-01&amp;tag=Press");
    assert!(body.contains(&format!("<id>{own}</id>")), "{body}");
}

fn tags(n: usize) -> String {
    (0..n)
        .map(|i| format!("tag=t{i}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn too_many_tag_filters_are_refused_by_every_list_and_feed() {
    let app = spawn_app().await;
    for base in [
        "/api/v1/news",
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/tags/press/feed.json",
    ] {
        let ok = app.get(&format!("{base}?{}", tags(10))).await;
        assert_eq!(ok.status(), 200, "{base} with 10 tags");
        // The same tag spelled twice is one filter.
        let repeated = app.get(&format!("{base}?{}&tag=T0", tags(10))).await;
        assert_eq!(repeated.status(), 200, "{base} with a repeat");
        let body = assert_problem(app.get(&format!("{base}?{}", tags(11))).await, 400).await;
        assert_eq!(body["errors"][0]["field"], "tag", "{base}: {body}");
        // 999 tags once reached the database as 999 clauses and failed there (a 500).
        let body = assert_problem(app.get(&format!("{base}?{}", tags(999))).await, 400).await;
        assert_eq!(body["errors"][0]["field"], "query", "{base}: {body}");
    }
}
