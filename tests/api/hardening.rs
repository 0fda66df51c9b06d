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

fn tokens(response: &reqwest::Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Through the whole middleware stack of a real server: caching, then CORS, then the rest.
#[tokio::test]
async fn an_editors_answer_varies_on_authorization_alongside_origin() {
    let app = spawn_app().await;
    let token = app.token().await;
    for path in [
        "/api/v1/news?status=draft",
        "/api/v1/news/1",
        "/api/v1/news",
    ] {
        for origin in [None, Some("http://app.example")] {
            let mut request = app.authed(reqwest::Method::GET, path, &token);
            if let Some(origin) = origin {
                request = request.header("Origin", origin);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let vary = tokens(&response, "vary");
            for name in ["authorization", "origin", "accept-encoding"] {
                assert!(
                    vary.iter().any(|v| v == name),
                    "{name} in {vary:?} ({path}, {origin:?})"
                );
            }
        }
    }
}

const PRIVATE: &str = "private, no-store";

fn cache_control(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("cache-control")
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn every_write_answer_and_every_authenticated_answer_is_private_no_store() {
    let app = spawn_app().await;
    let token = app.token().await;
    let send = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = app.authed(method, path, &token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let draft = serde_json::json!({"title": "Acquisition talks", "status": "draft"});
    let created = send(reqwest::Method::POST, "/api/v1/news", Some(draft))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(cache_control(&created), PRIVATE);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].clone();
    let item = format!("/api/v1/news/{id}");
    let replaced = serde_json::json!({"title": "Acquisition talks, again", "status": "draft"});
    let answers = [
        send(reqwest::Method::PUT, &item, Some(replaced))
            .await
            .unwrap(),
        send(
            reqwest::Method::PATCH,
            &item,
            Some(serde_json::json!({"summary": "s"})),
        )
        .await
        .unwrap(),
        // A refused write says what it refused: private too.
        send(
            reqwest::Method::POST,
            "/api/v1/news",
            Some(serde_json::json!({})),
        )
        .await
        .unwrap(),
        send(reqwest::Method::GET, &item, None).await.unwrap(),
        send(reqwest::Method::GET, "/api/v1/news?status=draft", None)
            .await
            .unwrap(),
        send(reqwest::Method::GET, "/api/v1/tags", None)
            .await
            .unwrap(),
        send(reqwest::Method::GET, "/feed.json", None)
            .await
            .unwrap(),
        send(reqwest::Method::DELETE, &item, None).await.unwrap(),
    ];
    for response in answers {
        let what = format!("{} {}", response.status(), response.url());
        assert_eq!(cache_control(&response), PRIVATE, "{what}");
    }
    // Anonymous reads stay shareable.
    let public = app.get("/api/v1/news").await;
    assert!(cache_control(&public).starts_with("public"), "{public:?}");
}

#[tokio::test]
async fn every_answer_says_nosniff_and_every_text_answer_its_charset() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/api/v1/news",
        "/api/v1/news/1",
        "/api/v1/news?limit=0",
        "/api/v1/tags",
        "/news/1",
        "/openapi.yaml",
        "/openapi.json",
        "/docs/",
        "/docs/index.css",
        "/no/such/page",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}"
        );
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = content_type.starts_with("text/")
            || content_type.contains("xml")
            || content_type.contains("yaml");
        if text {
            assert!(
                content_type.contains("charset=utf-8"),
                "{path}: {content_type}"
            );
        }
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert_eq!(docs.headers()["content-type"], "text/html; charset=utf-8");
}

/// Polls `/healthz` until `done` is set, asserting every answer comes within `bound`: proof that
/// a heavy request elsewhere holds no worker the others need.
async fn healthz_keeps_answering(
    app: &TestApp,
    done: &std::sync::atomic::AtomicBool,
    bound: Duration,
) {
    use std::sync::atomic::Ordering;
    let mut answered = 0;
    while !done.load(Ordering::SeqCst) {
        let (response, took) = timed_get(app, "/healthz").await;
        assert_eq!(response.status(), 200);
        assert!(
            took < bound,
            "/healthz took {took:?} while a heavy request ran"
        );
        answered += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered > 0);
}

#[tokio::test]
async fn a_mebibyte_of_nesting_is_refused_promptly_while_others_are_answered() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = spawn_app().await;
    let token = app.token().await;
    // Just under the 1 MiB Markdown limit: nested blockquotes, lists and raw HTML, each of which
    // once held an async worker for minutes in the sanitiser.
    let limit = 1024 * 1024 - 16;
    for body in [
        ">".repeat(limit),
        format!("{}x\n", "> ".repeat(200)).repeat(limit / 403),
        "1. ".repeat(limit / 3),
        "<div>".repeat(limit / 5),
    ] {
        let done = AtomicBool::new(false);
        let write = async {
            let started = Instant::now();
            let response = app
                .authed(reqwest::Method::POST, "/api/v1/news", &token)
                .json(&serde_json::json!({"title": "Deep", "content_markdown": body}))
                .send()
                .await
                .unwrap();
            let took = started.elapsed();
            done.store(true, Ordering::SeqCst);
            (response, took)
        };
        let ((response, took), ()) =
            tokio::join!(write, healthz_keeps_answering(&app, &done, PROMPTLY));
        let problem = assert_problem(response, 422).await;
        assert_eq!(
            problem["errors"][0]["field"], "content_markdown",
            "{problem}"
        );
        assert!(took < Duration::from_secs(10), "refused after {took:?}");
    }
    // Nothing half-written.
    let all = app.authed(reqwest::Method::GET, "/api/v1/news?status=draft", &token);
    assert_eq!(all.send().await.unwrap().status(), 200);
    let deep = app.get("/api/v1/news/deep").await;
    assert_eq!(deep.status(), 404);
}

#[tokio::test]
async fn ordinary_nesting_is_still_rendered() {
    let app = spawn_app().await;
    let token = app.token().await;
    let markdown = "> quoted\n> > twice, with *emphasis*\n\n- a\n  - b\n    - c\n\n<div><p>raw <b>html</b></p></div>\n";
    let response = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&serde_json::json!({"title": "Nested", "content_markdown": markdown}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let item: serde_json::Value = response.json().await.unwrap();
    let html = item["content_html"].as_str().unwrap();
    assert!(html.contains("<blockquote>"), "{html}");
    assert!(html.contains("<em>emphasis</em>"), "{html}");
    assert!(html.contains("<b>html</b>"), "{html}");
}

#[tokio::test]
async fn a_request_past_its_time_budget_gets_a_503_and_leaves_nothing_behind() {
    let app = crate::helpers::spawn_adjusted(|s| {
        s.time_budget.write = Duration::from_millis(50);
    })
    .await;
    let token = app.token().await;
    // Allowed, but a lot of work: 30 nested quotes, again and again, for a mebibyte.
    let block = format!("{}x\n\n", "> ".repeat(30));
    let markdown = block.repeat(1024 * 1024 / block.len());
    let started = Instant::now();
    let response = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&serde_json::json!({"title": "Slow to render", "content_markdown": markdown}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let problem = assert_problem(response, 503).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("budget"),
        "{problem}"
    );
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    // Reads keep their own budget and are answered.
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/api/v1/news/slow-to-render").await.status(), 404);
}

#[tokio::test]
async fn thirty_distinct_filter_feeds_do_not_hold_up_the_main_feed() {
    let app = spawn_app().await;
    let token = app.token().await;
    let created = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&serde_json::json!({"title": "Fresh news", "content_markdown": "Just in."}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let filtered = (0..30).map(|n| {
        let path = format!("/feed.atom?since=2000-01-{:02}T00:00:{n:02}Z", n % 28 + 1);
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url(&path))
                .header("Accept-Encoding", "br")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.bytes().await.unwrap();
        }
    });
    let main = async {
        tokio::task::yield_now().await;
        let (response, took) = timed_get(&app, "/feed.rss").await;
        assert_eq!(response.status(), 200);
        assert!(response.text().await.unwrap().contains("Fresh news"));
        took
    };
    let (_, took) = tokio::join!(futures_util::future::join_all(filtered), main);
    assert!(took < PROMPTLY, "the main feed waited {took:?}");
    // Filter feeds are still compressed, only less hard.
    let response = app
        .raw(
            "GET",
            "/feed.atom?since=2000-01-01",
            &[("Accept-Encoding", "br")],
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-encoding"), Some("br"));
}
