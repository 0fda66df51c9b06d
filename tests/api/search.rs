//! Search and filters on `GET /api/v1/news` and the tags endpoint (the SQLite query plans that
//! keep them fast are in `sqlite_plans.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use herald::model::{Status, slugify};
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, spawn_with};
use crate::read::walk;
use crate::seed::titles;

struct Spec<'a> {
    title: &'a str,
    summary: Option<&'a str>,
    body: &'a str,
    date: &'a str,
    tags: &'a [&'a str],
    status: Status,
}

impl<'a> Spec<'a> {
    fn new(title: &'a str, date: &'a str) -> Self {
        Spec {
            title,
            summary: None,
            body: "Plain body.",
            date,
            tags: &[],
            status: Status::Published,
        }
    }

    fn body(mut self, body: &'a str) -> Self {
        self.body = body;
        self
    }

    fn summary(mut self, summary: &'a str) -> Self {
        self.summary = Some(summary);
        self
    }

    fn tags(mut self, tags: &'a [&'a str]) -> Self {
        self.tags = tags;
        self
    }

    fn draft(mut self) -> Self {
        self.status = Status::Draft;
        self
    }
}

/// The item as a JSON Lines line (the bulk import format).
fn json_line(spec: &Spec<'_>) -> Value {
    serde_json::json!({
        "key": format!("test:{}", spec.title),
        "title": spec.title,
        "slug": slugify(spec.title),
        "summary": spec.summary,
        "content_markdown": spec.body,
        "status": spec.status.as_str(),
        "published_at": spec.date,
        "links": [],
        "tags": spec.tags,
    })
}

/// Imports the items in one batch, as `herald import` does; the same title updates in place.
async fn add(app: &TestApp, specs: &[Spec<'_>]) {
    let lines: Vec<Value> = specs.iter().map(json_line).collect();
    app.import_json_lines(&lines).await;
}

/// A server on an empty store (no seed), so every expectation is about the items a test adds.
async fn empty_app() -> TestApp {
    spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await
}

async fn list_titles(app: &TestApp, query: &str) -> Vec<String> {
    titles(
        &app.get_json(&format!("/api/v1/news?limit=100&{query}"))
            .await,
    )
}

fn zoo() -> Vec<Spec<'static>> {
    vec![
        Spec::new("Zebra crossing opens", "2020-01-10T10:00:00Z").body("A new crossing."),
        Spec::new("Town news", "2020-01-20T10:00:00Z")
            .summary("The zebra is back")
            .body("Nothing else."),
        Spec::new("Zoo report", "2020-01-30T10:00:00Z")
            .body("We saw a zebra, a zebu and the head of engineering feeding them."),
        Spec::new("Engineering update", "2020-02-05T10:00:00Z")
            .body("Engineering head of the zoo resigned; no stripes here."),
        Spec::new("Hidden zebra draft", "2020-02-06T10:00:00Z").draft(),
        Spec::new("Future zebra", "2030-01-01T00:00:00Z"),
    ]
}

#[tokio::test]
async fn q_searches_title_summary_and_body_of_public_items() {
    let app = empty_app().await;
    add(&app, &zoo()).await;
    // Newest first by default; drafts and items not yet due stay hidden.
    assert_eq!(
        list_titles(&app, "q=zebra").await,
        ["Zoo report", "Town news", "Zebra crossing opens"]
    );
    // Case and accents do not matter.
    assert_eq!(
        list_titles(&app, "q=Z%C3%89BRA").await,
        ["Zoo report", "Town news", "Zebra crossing opens"]
    );
    // Every word must match, anywhere.
    assert_eq!(list_titles(&app, "q=zebra+zebu").await, ["Zoo report"]);
    assert!(list_titles(&app, "q=giraffe").await.is_empty());
}

#[tokio::test]
async fn relevance_puts_title_before_summary_before_body() {
    let app = empty_app().await;
    add(&app, &zoo()).await;
    assert_eq!(
        list_titles(&app, "q=zebra&sort=relevance").await,
        ["Zebra crossing opens", "Town news", "Zoo report"]
    );
}

#[tokio::test]
async fn phrases_and_prefixes() {
    let app = empty_app().await;
    add(&app, &zoo()).await;
    assert_eq!(
        list_titles(&app, "q=%22head+of+engineering%22").await,
        ["Zoo report"]
    );
    // Without quotes the words may come in any order.
    assert_eq!(
        list_titles(&app, "q=head+of+engineering").await,
        ["Engineering update", "Zoo report"]
    );
    assert_eq!(
        list_titles(&app, "q=zeb*").await,
        ["Zoo report", "Town news", "Zebra crossing opens"]
    );
    assert_eq!(list_titles(&app, "q=zebu*").await, ["Zoo report"]);
    assert_eq!(
        list_titles(&app, "q=%22engineering+hea%22*").await,
        ["Engineering update"]
    );
}

#[tokio::test]
async fn hostile_q_gets_results_or_a_problem_never_a_server_error() {
    let app = empty_app().await;
    add(&app, &zoo()).await;
    let long_word = "zebra ".repeat(1000);
    let many_words = "a ".repeat(17);
    let nasty: Vec<(&str, u16)> = vec![
        ("\"unbalanced zebra", 200),
        ("zebra\"", 200),
        ("\"\"", 400),
        ("\"", 400),
        ("*", 400),
        ("**", 400),
        ("zebra*", 200),
        ("zeb*", 200),
        ("ze*", 400),
        ("z*", 400),
        ("zebra z*", 400),
        ("\"head of e\"*", 400),
        ("*zebra", 200),
        ("z*e*b*r*a", 200),
        ("AND", 200),
        ("OR", 200),
        ("NOT", 200),
        ("zebra OR", 200),
        ("zebra NOT zebu", 200),
        ("NEAR(zebra zebu)", 200),
        ("NEAR", 200),
        ("title:zebra", 200),
        ("{title summary}: zebra", 200),
        ("^zebra", 200),
        ("-zebra", 200),
        ("+zebra", 200),
        ("(zebra", 200),
        (")", 400),
        ("zebra'; DROP TABLE news_items; --", 200),
        ("' OR 1=1 --", 200),
        ("1 UNION SELECT * FROM api_tokens", 200),
        ("%", 400),
        ("\\", 400),
        ("\u{0}", 400),
        ("zebra\u{0}zebu", 200),
        ("🦓", 400),
        ("🦓 zebra", 200),
        ("e\u{301}", 200),
        ("\u{301}", 400),
        ("ℤebra", 200),
        ("²", 200),
        ("x".repeat(500).leak(), 200),
        (long_word.as_str(), 400),
        (many_words.as_str(), 400),
        ("   ", 400),
        ("", 400),
    ];
    for (q, expected) in &nasty {
        let url = format!(
            "/api/v1/news?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        for url in [url.clone(), format!("{url}&sort=relevance&count=true")] {
            let response = app.get(&url).await;
            let status = response.status().as_u16();
            assert_eq!(status, *expected, "q={q:?}");
            if status == 400 {
                let body = assert_problem(response, 400).await;
                assert_eq!(body["errors"][0]["field"], "q", "q={q:?}");
            } else {
                let body: Value = response.json().await.unwrap();
                assert!(body["items"].is_array(), "q={q:?}");
            }
        }
    }
    // Nothing was dropped or changed along the way.
    assert_eq!(list_titles(&app, "").await.len(), 4);
    assert_eq!(list_titles(&app, "q=%27zebra+zebu").await, ["Zoo report"]);
}

fn tagged() -> Vec<Spec<'static>> {
    vec![
        Spec::new("A", "2020-01-01T00:00:00Z").tags(&["press", "launch"]),
        Spec::new("B", "2020-01-31T23:59:59Z").tags(&["press"]),
        Spec::new("C", "2020-02-01T00:00:00Z").tags(&["launch", "hiring"]),
        Spec::new("D", "2019-12-31T23:59:59Z").tags(&["press", "launch", "hiring"]),
        Spec::new("E draft", "2020-01-15T00:00:00Z")
            .tags(&["press"])
            .draft(),
        Spec::new("F future", "2027-01-01T00:00:00Z").tags(&["press", "future"]),
    ]
}

#[tokio::test]
async fn tags_all_must_match_and_combine_with_dates_and_search() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    assert_eq!(list_titles(&app, "tag=press").await, ["B", "A", "D"]);
    assert_eq!(list_titles(&app, "tag=press&tag=LAUNCH").await, ["A", "D"]);
    assert_eq!(
        list_titles(&app, "tag=press&tag=launch&tag=hiring").await,
        ["D"]
    );
    assert!(list_titles(&app, "tag=nothing").await.is_empty());
    assert!(list_titles(&app, "tag=future").await.is_empty());
    assert_eq!(
        list_titles(&app, "tag=press&since=2020-01-01").await,
        ["B", "A"]
    );
    assert_eq!(
        list_titles(&app, "tag=launch&until=2020-01-31&sort=published_at").await,
        ["D", "A"]
    );
    assert_eq!(list_titles(&app, "tag=hiring&q=plain").await, ["C", "D"]);
    assert_eq!(
        list_titles(&app, "tag=hiring&tag=press&q=plain&since=2019-12-31").await,
        ["D"]
    );
}

#[tokio::test]
async fn since_and_until_are_inclusive_dates_or_instants() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    // A date means the whole day, at both ends.
    assert_eq!(
        list_titles(&app, "since=2020-01-01&until=2020-01-31").await,
        ["B", "A"]
    );
    assert_eq!(list_titles(&app, "until=2019-12-31").await, ["D"]);
    assert_eq!(list_titles(&app, "since=2020-02-01").await, ["C"]);
    // Instants are exact, in any offset.
    assert_eq!(
        list_titles(
            &app,
            "since=2020-01-31T23:59:59Z&until=2020-02-01T00:00:00Z"
        )
        .await,
        ["C", "B"]
    );
    assert_eq!(
        list_titles(&app, "until=2020-01-01T01:00:00%2B01:00").await,
        ["A", "D"]
    );
    // A bound with a fraction of a second rounds inwards.
    assert_eq!(
        list_titles(
            &app,
            "since=2020-01-31T23:59:58.5Z&until=2020-01-31T23:59:59.9Z"
        )
        .await,
        ["B"]
    );
    // Not-yet-due items stay hidden whatever `until` says.
    assert_eq!(list_titles(&app, "since=2026-06-01").await.len(), 0);
}

#[tokio::test]
async fn sort_by_date_either_way_and_by_relevance_only_with_q() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    assert_eq!(list_titles(&app, "").await, ["C", "B", "A", "D"]);
    assert_eq!(
        list_titles(&app, "sort=-published_at").await,
        ["C", "B", "A", "D"]
    );
    assert_eq!(
        list_titles(&app, "sort=published_at").await,
        ["D", "A", "B", "C"]
    );
    let body = assert_problem(app.get("/api/v1/news?sort=relevance").await, 400).await;
    assert_eq!(body["errors"][0]["field"], "sort");
}

#[tokio::test]
async fn bad_filter_values_are_400s_naming_the_parameter() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    let newest = app.get_json("/api/v1/news?limit=1").await;
    let date_cursor = newest["next_cursor"].as_str().unwrap().to_owned();
    let oldest = app.get_json("/api/v1/news?limit=1&sort=published_at").await;
    let oldest_cursor = oldest["next_cursor"].as_str().unwrap().to_owned();
    for (query, field) in [
        ("since=yesterday", "since"),
        ("since=2020-13-01", "since"),
        ("since=2020-02-30", "since"),
        ("until=2020-01-01T25:00:00Z", "until"),
        ("until=", "until"),
        ("since=2020-02-01&until=2020-01-01", "until"),
        ("sort=newest", "sort"),
        ("sort=", "sort"),
        ("sort=-relevance", "sort"),
        ("fields=id,colour", "fields"),
        ("fields=", "fields"),
        ("count=yes", "count"),
        ("count=", "count"),
        ("q=", "q"),
        (&format!("sort=published_at&cursor={date_cursor}"), "cursor"),
        (&format!("cursor={oldest_cursor}"), "cursor"),
        (
            &format!("q=plain&sort=relevance&cursor={date_cursor}"),
            "cursor",
        ),
    ] {
        let body = assert_problem(app.get(&format!("/api/v1/news?{query}")).await, 400).await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
        assert!(body["detail"].as_str().unwrap().contains(field), "{query}");
    }
}

#[tokio::test]
async fn fields_picks_the_keys_of_each_item() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    let body = app
        .get_json("/api/v1/news?fields=id,title,published_at&limit=2")
        .await;
    for item in body["items"].as_array().unwrap() {
        let keys: HashSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, HashSet::from(["id", "title", "published_at"]));
    }
    assert!(body["next_cursor"].is_string(), "paging still works");
    // Repeated and spaced lists add up; the values are the full item's.
    let picked = app
        .get_json("/api/v1/news?fields=tags&fields=%20url%20,tags&limit=1")
        .await;
    let full = app.get_json("/api/v1/news?limit=1").await;
    let item = picked["items"][0].as_object().unwrap();
    assert_eq!(item.len(), 2);
    assert_eq!(item["tags"], full["items"][0]["tags"]);
    assert_eq!(item["url"], full["items"][0]["url"]);
    // Every field an item has can be picked, and picking them all is the full item.
    let all = herald::api::news::ITEM_FIELDS.join(",");
    let everything = app
        .get_json(&format!("/api/v1/news?limit=1&fields={all}"))
        .await;
    assert_eq!(everything["items"][0], full["items"][0]);
}

#[tokio::test]
async fn count_adds_the_total_only_when_asked() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    let plain = app.get_json("/api/v1/news?limit=1").await;
    assert!(plain.get("total").is_none());
    let not = app.get_json("/api/v1/news?limit=1&count=false").await;
    assert!(not.get("total").is_none());
    for (query, total) in [
        ("", 4),
        ("tag=press", 3),
        ("tag=press&tag=hiring", 1),
        ("since=2020-01-01", 3),
        ("q=plain&until=2020-01-01", 2),
        ("tag=nothing", 0),
    ] {
        let body = app
            .get_json(&format!("/api/v1/news?limit=1&count=true&{query}"))
            .await;
        assert_eq!(body["total"], total, "{query}");
        // The total ignores the cursor: it counts every match, not what is left.
        if let Some(cursor) = body["next_cursor"].as_str() {
            let next = app
                .get_json(&format!(
                    "/api/v1/news?limit=1&count=true&{query}&cursor={cursor}"
                ))
                .await;
            assert_eq!(next["total"], total, "{query}");
        }
    }
}

#[tokio::test]
async fn tags_endpoint_counts_public_items_per_tag() {
    let app = empty_app().await;
    add(&app, &tagged()).await;
    let body = app.get_json("/api/v1/tags").await;
    assert_eq!(
        body,
        serde_json::json!({"tags": [
            {"tag": "launch", "count": 3},
            {"tag": "press", "count": 3},
            {"tag": "hiring", "count": 2},
        ]})
    );
    // Once the future item is due, its tags count.
    app.clock.set("2027-01-01T00:00:00Z".parse().unwrap());
    let later = app.get_json("/api/v1/tags").await;
    assert_eq!(
        later["tags"][0],
        serde_json::json!({"tag": "press", "count": 4})
    );
    assert_eq!(
        later["tags"][3],
        serde_json::json!({"tag": "future", "count": 1})
    );
    let response = app
        .client
        .post(app.url("/api/v1/tags"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 405).await;
}

#[tokio::test]
async fn editing_an_item_moves_its_tags_and_search_text_along() {
    let app = empty_app().await;
    add(
        &app,
        &[Spec::new("Moving", "2020-01-01T00:00:00Z")
            .tags(&["press"])
            .body("Old words about okapis.")],
    )
    .await;
    assert_eq!(list_titles(&app, "q=okapis").await, ["Moving"]);
    // Re-importing the same source key with a new date, status and body updates in place.
    add(
        &app,
        &[Spec::new("Moving", "2021-06-01T00:00:00Z")
            .tags(&["press", "moved"])
            .body("New words about tapirs.")],
    )
    .await;
    assert!(list_titles(&app, "q=okapis").await.is_empty());
    assert_eq!(list_titles(&app, "q=tapirs").await, ["Moving"]);
    assert_eq!(
        list_titles(&app, "tag=press&since=2021-01-01").await,
        ["Moving"]
    );
    assert!(
        list_titles(&app, "tag=press&until=2020-12-31")
            .await
            .is_empty()
    );
    add(
        &app,
        &[Spec::new("Moving", "2021-06-01T00:00:00Z")
            .tags(&["press", "moved"])
            .body("New words about tapirs.")
            .draft()],
    )
    .await;
    assert!(list_titles(&app, "tag=press").await.is_empty());
    assert_eq!(
        app.get_json("/api/v1/tags").await["tags"],
        serde_json::json!([])
    );
}

/// The full-text index hands matches over in date order, not in the order items were written:
/// items written out of date order (ties on one second, dates before 1970, the edges of the
/// accepted range) come back exactly as the date-sorted list has them, page by page, and
/// follow their item when its date is edited or it is deleted.
#[tokio::test]
async fn search_results_follow_dates_not_write_order() {
    let app = empty_app().await;
    let dates = [
        "2020-05-01T00:00:00Z",
        "1969-07-20T20:17:40Z",
        "2020-05-01T00:00:00Z",
        "2500-12-31T23:59:59Z",
        "1500-01-01T00:00:00Z",
        "2019-12-31T23:59:59Z",
        "1969-07-20T20:17:40Z",
        "2020-05-01T00:00:01Z",
        "1970-01-01T00:00:00Z",
    ];
    let titles: Vec<String> = (0..dates.len()).map(|i| format!("Okapi {i}")).collect();
    let specs: Vec<Spec<'_>> = titles
        .iter()
        .zip(dates)
        .map(|(t, d)| Spec::new(t, d).body("About okapis.").tags(&["okapi"]))
        .collect();
    // One item at a time, so ids follow this (shuffled) order.
    for spec in &specs {
        add(&app, std::slice::from_ref(spec)).await;
    }
    let ids = |items: Vec<Value>| -> Vec<i64> {
        items.iter().map(|i| i["id"].as_i64().unwrap()).collect()
    };
    // The scheduled item (2500) is not public: compare with the full list of an editor's view.
    for (filter, sort) in [
        ("", ""),
        ("", "&sort=published_at"),
        ("&since=1969-07-20&until=2020-05-01", ""),
        ("&since=1969-07-20&until=2020-05-01", "&sort=published_at"),
    ] {
        let by_date = ids(walk(
            &app,
            &format!("/api/v1/news?limit=2&tag=okapi{filter}{sort}"),
        )
        .await);
        let searched = ids(walk(
            &app,
            &format!("/api/v1/news?limit=2&q=okapis{filter}{sort}"),
        )
        .await);
        assert_eq!(searched, by_date, "{filter}{sort}");
        assert!(by_date.len() >= 6, "{filter}{sort}: {by_date:?}");
    }
    let before = list_titles(&app, "q=okapis").await;
    assert_eq!(before.first().map(String::as_str), Some("Okapi 7"));
    assert_eq!(before.last().map(String::as_str), Some("Okapi 4"));
    // Moving the oldest item to the newest date moves it in search results too.
    let token = app.token().await;
    let moved = app
        .get_json("/api/v1/news?q=okapis&sort=published_at&limit=1")
        .await;
    let id = moved["items"][0]["id"].as_i64().unwrap();
    let response = app
        .authed(
            reqwest::Method::PATCH,
            &format!("/api/v1/news/{id}"),
            &token,
        )
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"published_at": "2021-01-01T00:00:00Z"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        list_titles(&app, "q=okapis")
            .await
            .first()
            .map(String::as_str),
        Some("Okapi 4")
    );
    assert_eq!(list_titles(&app, "q=okapis").await.len(), before.len());
    let response = app
        .authed(
            reqwest::Method::DELETE,
            &format!("/api/v1/news/{id}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        list_titles(&app, "q=okapis").await,
        before[..before.len() - 1]
    );
}

/// Walks `query` three items a page, adding `inserted` items after the first page; every item
/// that matched before the walk is seen exactly once.
async fn walk_with_inserts(app: &TestApp, query: &str, inserted: &[Spec<'_>]) {
    let before: HashSet<i64> = walk(app, &format!("/api/v1/news?limit=100&{query}"))
        .await
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(before.len() > 6, "{query}: enough items for several pages");
    let first = app.get_json(&format!("/api/v1/news?limit=3&{query}")).await;
    add(app, inserted).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = walk(
        app,
        &format!("/api/v1/news?limit=3&{query}&cursor={cursor}"),
    )
    .await;
    let seen: Vec<Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .chain(rest)
        .collect();
    let ids: Vec<i64> = seen.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{query}: no item twice");
    assert!(before.is_subset(&unique), "{query}: none skipped");
}

fn many(prefix: &str, day: usize, n: usize) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix} {i}"),
                // Pairs of items share a date, so ties are broken by id.
                format!("2020-03-{:02}T12:00:00Z", day + i / 2),
                "zebra ".repeat(1 + i % 4) + &"filler ".repeat(i % 5),
            )
        })
        .collect()
}

fn specs(rows: &[(String, String, String)]) -> Vec<Spec<'_>> {
    rows.iter()
        .map(|(title, date, body)| Spec::new(title, date).body(body).tags(&["walk"]))
        .collect()
}

#[tokio::test]
async fn cursor_walks_stay_exact_under_every_sort_and_filter_while_items_arrive() {
    let app = empty_app().await;
    let old = many("old", 1, 14);
    add(&app, &specs(&old)).await;
    for (round, query) in [
        "",
        "sort=published_at",
        "sort=-published_at",
        "q=zebra&sort=relevance",
        "q=zebra",
        "q=zebra&sort=published_at",
        "tag=walk",
        "tag=walk&sort=published_at",
        "tag=walk&q=zebra&sort=relevance",
        "since=2020-03-02&until=2020-03-06",
        "since=2020-03-02&until=2020-03-06&sort=published_at",
        "fields=id&count=true",
    ]
    .iter()
    .enumerate()
    {
        // Newcomers land before, among and after the walk's position in every order, and
        // match the search (so they shift any corpus-wide statistics).
        let new = many(&format!("new{round}"), 1, 14);
        walk_with_inserts(&app, query, &specs(&new)).await;
    }
}

#[tokio::test]
async fn relevance_pages_are_in_rank_order() {
    let app = empty_app().await;
    let rows = many("rank", 1, 12);
    add(&app, &specs(&rows)).await;
    let all = app
        .get_json("/api/v1/news?q=zebra&sort=relevance&limit=100")
        .await;
    let paged = walk(&app, "/api/v1/news?q=zebra&sort=relevance&limit=5").await;
    let ids =
        |items: &[Value]| -> Vec<i64> { items.iter().map(|i| i["id"].as_i64().unwrap()).collect() };
    assert_eq!(ids(&paged), ids(all["items"].as_array().unwrap()));
    // More zebras in a body of the same length ranks higher: "rank 3" has four, "rank 0" one.
    let order = titles(&all);
    let pos = |t: &str| order.iter().position(|o| o == t).unwrap();
    assert!(pos("rank 3") < pos("rank 0"), "{order:?}");
}

/// A relevance page is taken from the best-scored matches, then checked for status: when
/// drafts crowd out every candidate, the page must still list the public matches, in order.
#[tokio::test]
async fn relevance_pages_skip_drafts_however_many_outrank_them() {
    let app = empty_app().await;
    let titles: Vec<String> = (0..40).map(|i| format!("Draft {i}")).collect();
    let mut specs: Vec<Spec<'_>> = titles
        .iter()
        .map(|t| {
            Spec::new(t, "2020-04-01T00:00:00Z")
                .body("zebra zebra zebra zebra")
                .draft()
        })
        .collect();
    specs.push(
        Spec::new("Public low", "2020-04-02T00:00:00Z")
            .body("zebra and a long tail of other words"),
    );
    specs.push(Spec::new("Public high", "2020-04-03T00:00:00Z").body("zebra zebra zebra"));
    specs.push(Spec::new("Public mid", "2020-04-04T00:00:00Z").body("zebra zebra and more words"));
    add(&app, &specs).await;
    let expected = ["Public high", "Public mid", "Public low"];
    assert_eq!(list_titles(&app, "q=zebra&sort=relevance").await, expected);
    let walked: Vec<String> = walk(&app, "/api/v1/news?q=zebra&sort=relevance&limit=1")
        .await
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(walked, expected);
}

#[tokio::test]
async fn bulk_json_lines_import_is_searchable_and_idempotent() {
    let app = empty_app().await;
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("items.jsonl");
    let mut lines = String::new();
    for i in 0..2500 {
        lines.push_str(
            &serde_json::json!({
                "key": format!("bulk-{i}"),
                // Every tenth title repeats, so slugs collide and get suffixes.
                "title": format!("Bulk item {}", if i % 10 == 0 { 0 } else { i }),
                "published_at": format!("2021-01-01T00:00:{:02}Z", i % 60),
                "content_markdown": format!("Body {i} about quaggas. See [more](https://example.org/{i})."),
                // Unsorted and repeated: tags are a set, so a re-import changes nothing.
                "tags": if i % 2 == 0 { vec!["even", "all"] } else { vec!["odd", "Odd", "all"] },
                "summary": "Bulk",
            })
            .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(&file, lines).unwrap();
    let import = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["import", "--database-url", &app.database_url])
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(import().contains("2500 created, 0 updated, 0 unchanged"));
    assert!(import().contains("0 created, 0 updated, 2500 unchanged"));
    let body = app
        .get_json("/api/v1/news?q=quaggas&count=true&limit=1")
        .await;
    assert_eq!(body["total"], 2500);
    let odd = app
        .get_json("/api/v1/news?tag=odd&count=true&limit=1")
        .await;
    assert_eq!(odd["total"], 1250);
    assert_eq!(odd["items"][0]["tags"], serde_json::json!(["all", "odd"]));
    assert_eq!(odd["items"][0]["links"][0]["title"], "more");
    let slugs: HashSet<String> = walk(&app, "/api/v1/news?limit=100&fields=slug")
        .await
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs.len(), 2500, "every slug unique");
    assert!(slugs.contains("bulk-item-0-2"));
}
