//! Authors as records (issue 16): the `/api/v1/authors` resource, bylines on items, the
//! `author=` filter, per-author feeds, every author in every feed format, and an author edit
//! reaching every answer that shows the author.

use herald::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::feeds::assert_valid_json_feed;
use crate::helpers::{TestApp, assert_problem, item_ids, spawn_app};
use crate::write::create;

/// POSTs an author and returns it as answered.
async fn author(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .authed(Method::POST, "/api/v1/authors", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "POST {body}");
    response.json().await.unwrap()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.authed(method, path, token);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn editors_create_patch_and_delete_authors_and_the_email_stays_private() {
    let app = spawn_app().await;
    let token = app.token().await;
    let response = app
        .authed(Method::POST, "/api/v1/authors", &token)
        .json(&json!({"name": "Ada Lovelace", "bio": "Engines.", "url": "https://ada.example/", "email": "ada@ada.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["location"],
        app.url("/api/v1/authors/ada-lovelace").as_str()
    );
    assert!(response.headers().contains_key("etag"));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["slug"], "ada-lovelace");
    assert_eq!(created["email"], "ada@ada.example");
    assert_eq!(created["items"], 0);

    // Public reads never show the e-mail; editors' reads do and are not cached.
    let public = app.get_json("/api/v1/authors/ada-lovelace").await;
    assert_eq!(public["name"], "Ada Lovelace");
    assert_eq!(public["bio"], "Engines.");
    assert!(public.get("email").is_none(), "{public}");
    let listed = app.get_json("/api/v1/authors").await;
    assert_eq!(listed["authors"][0]["slug"], "ada-lovelace");
    assert!(listed["authors"][0].get("email").is_none());
    let private = app
        .authed(Method::GET, "/api/v1/authors/ada-lovelace", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(private.headers()["cache-control"], "private, no-store");
    let etag = private.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(
        private.json::<Value>().await.unwrap()["email"],
        "ada@ada.example"
    );

    // Anonymous writes are refused; bad fields are named; a taken slug is a conflict.
    let anonymous = app
        .client
        .post(app.url("/api/v1/authors"))
        .json(&json!({"name": "X"}))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
    let bad = send(
        &app,
        Method::POST,
        "/api/v1/authors",
        &token,
        None,
        Some(json!({"bio": 3, "url": "ftp://x", "email": "nope", "slug": "Not A Slug", "age": 3})),
    )
    .await;
    let problem = assert_problem(bad, 422).await;
    for field in ["age", "name", "slug", "bio", "url", "email"] {
        assert!(fields(&problem).contains(&field), "{field}: {problem}");
    }
    let taken = send(
        &app,
        Method::POST,
        "/api/v1/authors",
        &token,
        None,
        Some(json!({"name": "Ada Lovelace"})),
    )
    .await;
    assert_eq!(fields(&assert_problem(taken, 409).await), ["slug"]);

    // Merge patch with If-Match: a stale tag is 412, the current one (public or editor's) works,
    // and `null` removes a field.
    let stale = send(
        &app,
        Method::PATCH,
        "/api/v1/authors/ada-lovelace",
        &token,
        Some("\"stale\""),
        Some(json!({"name": "A. L."})),
    )
    .await;
    assert_problem(stale, 412).await;
    let patched = send(
        &app,
        Method::PATCH,
        "/api/v1/authors/ada-lovelace",
        &token,
        Some(&etag),
        Some(json!({"name": "Augusta Ada King", "bio": null})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "Augusta Ada King");
    assert_eq!(patched["slug"], "ada-lovelace");
    assert!(patched["bio"].is_null());
    assert_eq!(patched["email"], "ada@ada.example");
    let unnamed = send(
        &app,
        Method::PATCH,
        "/api/v1/authors/ada-lovelace",
        &token,
        None,
        Some(json!({"name": null})),
    )
    .await;
    assert_eq!(fields(&assert_problem(unnamed, 422).await), ["name"]);

    let gone = send(
        &app,
        Method::DELETE,
        "/api/v1/authors/ada-lovelace",
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(gone.status(), 204);
    assert_problem(app.get("/api/v1/authors/ada-lovelace").await, 404).await;
    let missing = send(
        &app,
        Method::DELETE,
        "/api/v1/authors/ada-lovelace",
        &token,
        None,
        None,
    )
    .await;
    assert_problem(missing, 404).await;
}

#[tokio::test]
async fn items_name_authors_in_order_and_lists_filter_by_every_author() {
    let app = spawn_app().await;
    let token = app.token().await;
    author(
        &app,
        &token,
        json!({"name": "Ada", "url": "https://ada.example/"}),
    )
    .await;
    author(&app, &token, json!({"name": "Grace"})).await;

    let (both, _) = create(
        &app,
        &token,
        json!({"title": "Both", "authors": ["grace", "ada"]}),
    )
    .await;
    assert_eq!(
        both["authors"],
        json!([
            {"name": "Grace", "slug": "grace", "url": null, "avatar": null},
            {"name": "Ada", "slug": "ada", "url": "https://ada.example/", "avatar": null},
        ])
    );
    let (ada_only, _) = create(
        &app,
        &token,
        json!({"title": "Ada alone", "authors": ["ada"]}),
    )
    .await;
    create(
        &app,
        &token,
        json!({"title": "Ada's draft", "authors": ["ada"], "status": "draft"}),
    )
    .await;
    assert_eq!(
        app.get_json(&format!("/api/v1/news/{}", ada_only["id"]))
            .await["authors"][0]["slug"],
        "ada"
    );

    // Unknown, repeated or malformed authors are 422s naming the entry; nothing is written.
    for (authors, field) in [
        (json!(["nobody"]), "authors[0]"),
        (json!(["ada", "ada"]), "authors[1]"),
        (json!(["ada", 7]), "authors[1]"),
        (json!("ada"), "authors"),
    ] {
        let refused = send(
            &app,
            Method::POST,
            "/api/v1/news",
            &token,
            None,
            Some(json!({"title": "Refused", "authors": authors})),
        )
        .await;
        assert_eq!(
            fields(&assert_problem(refused, 422).await),
            [field],
            "{authors}"
        );
    }
    assert_eq!(
        app.get_json("/api/v1/news?q=refused").await["items"],
        json!([])
    );

    // author= is repeatable and every one must match; it keeps its place in the next link.
    let ids = |v: &Value| item_ids(v);
    let by_ada = app.get_json("/api/v1/news?author=ada&count=true").await;
    assert_eq!(
        ids(&by_ada),
        [
            ada_only["id"].as_i64().unwrap(),
            both["id"].as_i64().unwrap()
        ]
    );
    assert_eq!(by_ada["total"], 2);
    let by_both = app.get_json("/api/v1/news?author=ada&author=grace").await;
    assert_eq!(ids(&by_both), [both["id"].as_i64().unwrap()]);
    let paged = app.get("/api/v1/news?author=ada&limit=1").await;
    let link = paged.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("author=ada"), "{link}");
    assert_problem(app.get("/api/v1/news?author=Not%20a%20slug").await, 400).await;

    // Counts are of public items; an author items name cannot go until they stop naming it.
    let authors = app.get_json("/api/v1/authors").await;
    let counts: Vec<(&str, i64)> = authors["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["slug"].as_str().unwrap(), a["items"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [("ada", 2), ("grace", 1)]);
    let in_use = send(
        &app,
        Method::DELETE,
        "/api/v1/authors/grace",
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(fields(&assert_problem(in_use, 409).await), ["slug"]);
    let path = format!("/api/v1/news/{}", both["id"]);
    let unnamed = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        Some(json!({"authors": ["ada"]})),
    )
    .await;
    assert_eq!(unnamed.status(), 200);
    let gone = send(
        &app,
        Method::DELETE,
        "/api/v1/authors/grace",
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(gone.status(), 204);
    // A patch that leaves `authors` alone keeps the byline.
    let kept = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        Some(json!({"summary": "S"})),
    )
    .await;
    assert_eq!(
        kept.json::<Value>().await.unwrap()["authors"][0]["slug"],
        "ada"
    );
}

#[tokio::test]
async fn feeds_carry_every_author_and_each_author_has_feeds() {
    let app = spawn_app().await;
    let token = app.token().await;
    author(&app, &token, json!({"name": "Ada", "url": "https://ada.example/", "avatar": "https://ada.example/a.png"})).await;
    author(&app, &token, json!({"name": "Grace & Co"})).await;
    create(&app, &token, json!({"title": "Two bylines", "authors": ["ada", "grace-co"], "published_at": "2025-12-31T00:00:00Z"})).await;

    let atom = app.get("/feed.atom").await.text().await.unwrap();
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    let names =
        |e: &feed_rs::model::Entry| e.authors.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&feed.entries[0]), ["Ada", "Grace & Co"]);
    assert_eq!(
        feed.entries[0].authors[0].uri.as_deref(),
        Some("https://ada.example/")
    );
    // Items without a byline keep the feed's author (HERALD_AUTHOR, here the title).
    assert_eq!(names(&feed.entries[1]), ["News"]);

    let rss = app.get("/feed.rss").await.text().await.unwrap();
    let first = &rss[rss.find("<item>").unwrap()..rss.find("</item>").unwrap()];
    assert!(first.contains("<dc:creator>Ada</dc:creator>"), "{first}");
    assert!(
        first.contains("<dc:creator>Grace &#x26; Co</dc:creator>"),
        "{first}"
    );

    let json_feed = app.get_json("/feed.json").await;
    assert_valid_json_feed(&json_feed);
    assert_eq!(
        json_feed["items"][0]["authors"],
        json!([
            {"name": "Ada", "url": "https://ada.example/", "avatar": "https://ada.example/a.png"},
            {"name": "Grace & Co"},
        ])
    );
    assert_eq!(json_feed["items"][1]["authors"], json!([{"name": "News"}]));

    // Per-author feeds, and `author=` on any feed URL, list only that author's items.
    for path in ["/authors/ada/feed.json", "/feed.json?author=ada"] {
        let by_ada = app.get_json(path).await;
        assert_valid_json_feed(&by_ada);
        assert_eq!(by_ada["items"].as_array().unwrap().len(), 1, "{path}");
        assert_eq!(by_ada["items"][0]["title"], "Two bylines");
    }
    let by_ada = app.get_json("/authors/ada/feed.json").await;
    assert_eq!(by_ada["title"], "News: by Ada");
    assert_eq!(
        by_ada["feed_url"],
        app.url("/authors/ada/feed.json").as_str()
    );
    for format in ["rss", "atom"] {
        let response = app.get(&format!("/authors/grace-co/feed.{format}")).await;
        assert_eq!(response.status(), 200);
        let feed = feed_rs::parser::parse(response.text().await.unwrap().as_bytes()).unwrap();
        assert_eq!(feed.entries.len(), 1, "{format}");
    }
    assert_eq!(
        app.get_json("/authors/nobody/feed.json").await["items"],
        json!([])
    );
    assert_problem(app.get("/authors/ada/feed.txt").await, 404).await;
}

#[tokio::test]
async fn an_author_edit_reaches_every_answer_that_shows_the_author() {
    let app = spawn_app().await;
    let token = app.token().await;
    author(&app, &token, json!({"name": "Ada"})).await;
    let (item, etag) = create(
        &app,
        &token,
        json!({"title": "Bylined", "authors": ["ada"]}),
    )
    .await;
    let item_path = format!("/api/v1/news/{}", item["id"]);
    // Warm the caches of every kind of answer that shows the byline.
    let before_item = app.get(&item_path).await;
    let before_modified = before_item.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        before_item.json::<Value>().await.unwrap()["authors"][0]["name"],
        "Ada"
    );
    assert!(
        app.get("/feed.atom")
            .await
            .text()
            .await
            .unwrap()
            .contains("<name>Ada</name>")
    );
    assert_eq!(
        app.get_json("/api/v1/news").await["items"][0]["authors"][0]["name"],
        "Ada"
    );
    assert_eq!(
        app.get_json("/authors/ada/feed.json").await["title"],
        "News: by Ada"
    );

    app.clock.advance(chrono::Duration::seconds(5));
    let renamed = send(
        &app,
        Method::PATCH,
        "/api/v1/authors/ada",
        &token,
        None,
        Some(json!({"name": "Ada King", "slug": "ada-king"})),
    )
    .await;
    assert_eq!(renamed.status(), 200);

    let after_item = app.get(&item_path).await;
    assert_ne!(after_item.headers()["etag"].to_str().unwrap(), etag);
    assert_ne!(
        after_item.headers()["last-modified"].to_str().unwrap(),
        before_modified
    );
    assert_eq!(
        after_item.json::<Value>().await.unwrap()["authors"][0],
        json!({"name": "Ada King", "slug": "ada-king", "url": null, "avatar": null})
    );
    let atom = app.get("/feed.atom").await.text().await.unwrap();
    assert!(atom.contains("<name>Ada King</name>"), "{atom}");
    assert_eq!(
        app.get_json("/api/v1/news").await["items"][0]["authors"][0]["name"],
        "Ada King"
    );
    assert_eq!(
        app.get_json("/authors/ada-king/feed.json").await["title"],
        "News: by Ada King"
    );
    assert_eq!(
        app.get_json("/authors/ada/feed.json").await["items"],
        json!([])
    );
    // The item's old ETag no longer guards a write.
    let stale = send(
        &app,
        Method::PATCH,
        &item_path,
        &token,
        Some(&etag),
        Some(json!({"summary": "S"})),
    )
    .await;
    assert_problem(stale, 412).await;
}

#[tokio::test]
async fn imports_name_authors_by_name_or_slug_and_create_missing_ones() {
    let app = spawn_app().await;
    let token = app.token().await;
    author(&app, &token, json!({"name": "Ada Lovelace", "slug": "ada"})).await;
    let report = app
        .import_json_lines(&[
            json!({"key": "a", "title": "Imported pair", "published_at": "2025-02-01", "content_markdown": "Body", "authors": ["Grace Hopper", "ada"]}),
            json!({"key": "b", "title": "Imported alone", "published_at": "2025-02-02", "content_markdown": "Body", "authors": ["Grace Hopper"]}),
        ])
        .await;
    assert_eq!(report.created, 2);
    let pair = app.get_json("/api/v1/news/imported-pair").await;
    let slugs: Vec<&str> = pair["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["grace-hopper", "ada"]);
    // Created under the name the source gave; an existing author keeps its own.
    assert_eq!(pair["authors"][0]["name"], "Grace Hopper");
    assert_eq!(pair["authors"][1]["name"], "Ada Lovelace");
    assert_eq!(
        app.get_json("/api/v1/authors/grace-hopper").await["items"],
        2
    );

    // Jekyll front matter: `author`, or `authors` as a list, for every item of the page.
    let dir = tempfile::TempDir::new().unwrap();
    let page = dir.path().join("team.md");
    std::fs::write(
        &page,
        "---\ntitle: Team\nauthors:\n  - Linus T\n  - ada\n---\n\n## Team news\n### 2025-03-01\n\nBody.\n",
    )
    .unwrap();
    let solo = dir.path().join("solo.md");
    std::fs::write(
        &solo,
        "---\ntitle: Solo\nauthor: \"Grace Hopper\"\n---\n\n## Solo news\n### 2025-03-02\n\nBody.\n",
    )
    .unwrap();
    app.import(dir.path()).await;
    let team = app.get_json("/api/v1/news/team-news").await;
    assert_eq!(team["authors"][0]["name"], "Linus T");
    assert_eq!(team["authors"][1]["slug"], "ada");
    let solo = app.get_json("/api/v1/news/solo-news").await;
    assert_eq!(solo["authors"][0]["slug"], "grace-hopper");

    // A malformed entry is refused with its line, as any broken field.
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, "{\"key\": \"c\", \"title\": \"T\", \"published_at\": \"2025-01-01\", \"content_markdown\": \"B\", \"authors\": [3]}\n").unwrap();
    let err = herald::import::import_path(&app.state.store, &file, &app.base, app.clock.now())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("authors[0]"), "{err:#}");
}
