//! Importing through `herald::import::import_path`: JSON Lines and Jekyll pages go through the
//! same item schema as the API, so a bulk import cannot store what the API would refuse.

use std::path::{Path, PathBuf};

use herald::clock::Clock;
use herald::store::ImportReport;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, spawn_app};

/// Writes `lines` as a `.jsonl` file in `dir` and returns its path.
fn jsonl_file(dir: &TempDir, lines: &[Value]) -> PathBuf {
    let path = dir.path().join("batch.jsonl");
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Imports `lines` as one JSON Lines file into `app`'s store.
async fn import_lines(app: &TestApp, lines: &[Value]) -> anyhow::Result<ImportReport> {
    let dir = TempDir::new().unwrap();
    let path = jsonl_file(&dir, lines);
    herald::import::import_path(&app.state.store, &path, &app.base, app.clock.now()).await
}

/// Imports a Jekyll page into `app`'s store, its file named `stem.md`.
async fn import_page(app: &TestApp, stem: &str, page: &str) -> anyhow::Result<ImportReport> {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(format!("{stem}.md"));
    std::fs::write(&path, page).unwrap();
    herald::import::import_path(&app.state.store, &path, &app.base, app.clock.now()).await
}

/// A line every rule accepts.
fn good_line(key: &str, title: &str) -> Value {
    json!({
        "key": key,
        "title": title,
        "published_at": "2020-05-01",
        "content_markdown": "Body with [a link](https://example.org/a).",
    })
}

/// What anonymous readers see: the JSON list and the Atom feed.
async fn public_output(app: &TestApp) -> (String, String) {
    let list = app.get("/api/v1/news?limit=100").await;
    assert_eq!(list.status(), 200);
    let feed = app.get("/feed.atom").await;
    assert_eq!(feed.status(), 200);
    (list.text().await.unwrap(), feed.text().await.unwrap())
}

/// Imports a batch of a good line then `bad` (line 2), and asserts that the import is refused
/// with an error naming line 2 and `field`, and that readers see nothing of the batch.
async fn assert_line_refused(bad: Value, field: &str) {
    let app = spawn_app().await;
    let before = public_output(&app).await;
    let err = import_lines(&app, &[good_line("ok", "Harmless neighbour"), bad])
        .await
        .expect_err("the bad line is refused");
    let message = format!("{err:#}");
    assert!(
        message.contains(&format!("line 2: `{field}`")),
        "the error names the line and `{field}`: {message}"
    );
    let after = public_output(&app).await;
    assert_eq!(after, before, "nothing of the batch was stored");
    assert!(!after.0.contains("Harmless neighbour"));
}

#[tokio::test]
async fn a_javascript_link_url_is_refused_and_reaches_no_reader() {
    let mut bad = good_line("bad", "Evil link");
    bad["links"] = json!([{"title": "x", "url": "javascript:alert(1)"}]);
    assert_line_refused(bad, "links[0].url").await;
    // The same check through the feed a reader would follow.
    let app = spawn_app().await;
    let mut bad = good_line("bad", "Evil link");
    bad["links"] = json!([{"title": "x", "url": "javascript:alert(1)"}]);
    assert!(import_lines(&app, &[bad]).await.is_err());
    let (list, feed) = public_output(&app).await;
    assert!(!list.contains("javascript:"), "{list}");
    assert!(!feed.contains("javascript:"), "{feed}");
}

#[tokio::test]
async fn an_over_long_title_is_refused() {
    let long = "x".repeat(herald::schema::MAX_TITLE_CHARS + 1);
    assert_line_refused(good_line("bad", &long), "title").await;
}

#[tokio::test]
async fn a_title_with_a_control_character_is_refused() {
    assert_line_refused(good_line("bad", "Two\u{7}bells"), "title").await;
}

#[tokio::test]
async fn an_invalid_slug_is_refused_not_slugified() {
    let mut bad = good_line("bad", "Fine title");
    bad["slug"] = json!("Not A Slug");
    assert_line_refused(bad, "slug").await;
}

#[tokio::test]
async fn too_many_tags_are_refused() {
    let mut bad = good_line("bad", "Tagged");
    let tags: Vec<String> = (0..=herald::schema::MAX_TAGS)
        .map(|i| format!("t{i}"))
        .collect();
    bad["tags"] = json!(tags);
    assert_line_refused(bad, "tags").await;
}

#[tokio::test]
async fn an_over_long_summary_is_refused() {
    let mut bad = good_line("bad", "Summarised");
    bad["summary"] = json!("s".repeat(herald::schema::MAX_SUMMARY_CHARS + 1));
    assert_line_refused(bad, "summary").await;
}

#[tokio::test]
async fn a_valid_line_imports_with_its_slug_tags_links_status_and_date() {
    let app = spawn_app().await;
    let line = json!({
        "key": "cms:1",
        "title": "  Hello, Import  ",
        "published_at": "2020-05-01",
        "content_markdown": "Read [the release](https://example.org/r) and [more](https://example.org/m).",
        "summary": "Short",
        "tags": ["Press", " press ", "Launch"],
    });
    let report = import_lines(&app, &[line]).await.unwrap();
    assert_eq!(report.created, 1);
    let item = app.get_json("/api/v1/news/hello-import").await;
    assert_eq!(item["title"], "Hello, Import");
    assert_eq!(item["slug"], "hello-import");
    assert_eq!(item["summary"], "Short");
    assert_eq!(item["status"], "published");
    assert_eq!(item["published_at"], "2020-05-01T00:00:00Z");
    assert_eq!(item["tags"], json!(["launch", "press"]));
    assert_eq!(
        item["links"],
        json!([
            {"title": "the release", "url": "https://example.org/r"},
            {"title": "more", "url": "https://example.org/m"},
        ])
    );
    // A chosen slug and explicit links are kept as written; re-importing changes nothing.
    let chosen = json!({
        "key": "cms:2",
        "title": "Chosen",
        "slug": "my-own-slug",
        "published_at": "2021-02-03T04:05:06+01:00",
        "content_markdown": "Body [ignored](https://example.org/i).",
        "status": "draft",
        "links": [{"title": "Kept", "url": "https://example.org/k"}],
    });
    import_lines(&app, std::slice::from_ref(&chosen))
        .await
        .unwrap();
    let token = app.token().await;
    let response = app
        .authed(Method::GET, "/api/v1/news/my-own-slug", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["status"], "draft");
    assert_eq!(item["published_at"], "2021-02-03T03:05:06Z");
    assert_eq!(
        item["links"],
        json!([{"title": "Kept", "url": "https://example.org/k"}])
    );
    let again = import_lines(&app, &[chosen]).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 1));
}

/// The item a JSON Lines line stores is the item the API stores for the same fields, derived
/// links (resolved against the public URL, non-web ones dropped) included.
#[tokio::test]
async fn a_line_stores_what_the_api_stores_for_the_same_fields() {
    let fields = json!({
        "title": "Same either way",
        "content_markdown": "See [about](/about), [mail](mailto:a@b.example) and [x](https://x.example/).",
        "summary": "Both",
        "tags": ["Beta", "alpha"],
        "published_at": "2019-07-08T09:10:11Z",
    });
    let imported_app = spawn_app().await;
    let mut line = fields.clone();
    line["key"] = json!("same");
    import_lines(&imported_app, &[line]).await.unwrap();
    let imported = imported_app.get_json("/api/v1/news/same-either-way").await;

    let api_app = spawn_app().await;
    let token = api_app.token().await;
    let response = api_app
        .authed(Method::POST, "/api/v1/news", &token)
        .json(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();

    // The two apps differ only in their port, so compare with each app's base taken out.
    let portable = |item: &Value, app: &TestApp| -> Value {
        serde_json::from_str(&item.to_string().replace(app.base.as_str(), "BASE/")).unwrap()
    };
    assert_eq!(
        portable(&imported, &imported_app),
        portable(&created, &api_app)
    );
    assert_eq!(
        imported["links"],
        json!([
            {"title": "about", "url": imported_app.url("/about")},
            {"title": "x", "url": "https://x.example/"},
        ])
    );
}

#[tokio::test]
async fn line_errors_name_every_broken_field_and_the_line() {
    let app = spawn_app().await;
    let bad = json!({
        "key": "k",
        "title": "",
        "published_at": "soon",
        "content_markdown": "",
        "colour": "red",
    });
    let err = import_lines(&app, &[good_line("a", "A"), bad])
        .await
        .unwrap_err();
    let message = format!("{err:#}");
    for expected in [
        "`colour` is not a field",
        "`title` must be 1 to",
        "`published_at` must be",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert!(message.starts_with("line 2: "), "{message}");
}

#[tokio::test]
async fn a_jekyll_item_the_schema_refuses_names_the_page_and_item_and_imports_nothing() {
    let app = spawn_app().await;
    let before = public_output(&app).await;
    let long = "y".repeat(herald::schema::MAX_TITLE_CHARS + 1);
    let page = format!(
        "---\ntitle: News\n---\n\n## Fine item\n### 2020-01-01\n\nBody.\n\n---\n\n## {long}\n### 2020-01-02\n\nBody.\n"
    );
    let err = import_page(&app, "press", &page)
        .await
        .expect_err("the long title is refused");
    let message = format!("{err:#}");
    assert!(message.contains("`press`"), "{message}");
    assert!(message.contains("line 12"), "{message}");
    assert!(message.contains("`title`"), "{message}");
    assert_eq!(public_output(&app).await, before);
}

/// `herald import` into a database file that does not exist yet.
fn import_new_store(db: &Path, lines: &str) -> std::process::Output {
    let file = db.with_file_name("items.jsonl");
    std::fs::write(&file, lines).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("import")
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Every stored item holding `word`, counted.
fn word_query(word: &str) -> herald::store::ListQuery {
    herald::store::ListQuery {
        visibility: herald::store::Visibility::All,
        limit: 1,
        search: vec![herald::store::SearchTerm {
            words: vec![word.to_owned()],
            prefix: false,
        }],
        count: true,
        ..Default::default()
    }
}

/// Files in `dir` other than the import's input.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "items.jsonl")
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_new_store_is_built_aside_and_appears_only_when_whole() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("new.db");
    // More than one batch, so several transactions go into the unjournaled file.
    let lines: String = (0..4500)
        .map(|i| {
            format!(
                "{}\n",
                json!({"key": format!("n{i}"), "title": format!("New {i}"), "published_at": "2021-02-03", "content_markdown": "Fresh words", "tags": ["fresh"]})
            )
        })
        .collect();
    // A key seen again later in the file (an update inside the build) and a title whose slug
    // is taken (a one-by-one insert): the index filled at the end must hold both as they end.
    let twins = [
        json!({"key": "n7", "title": "New 7", "published_at": "2020-05-06", "content_markdown": "Replaced words", "tags": ["fresh"]}),
        json!({"key": "twin", "title": "New 3", "published_at": "2021-02-03", "content_markdown": "Twin words"}),
    ];
    let all = format!("{lines}{}\n{}\n", twins[0], twins[1]);
    let output = import_new_store(&db, &all);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("4501 created"), "{stdout}");
    assert_eq!(
        files_in(dir.path()),
        ["new.db"],
        "nothing left beside the store"
    );

    let store = herald::store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(
            &sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        mode, "wal",
        "the new store is opened like any other afterwards"
    );
    let tags = store.tags(herald::store::Visibility::All).await.unwrap();
    assert_eq!((tags[0].tag.as_str(), tags[0].count), ("fresh", 4500));
    let integrity = sqlx::query("INSERT INTO news_fts (news_fts) VALUES ('integrity-check')")
        .execute(
            &sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap(),
        )
        .await;
    assert!(
        integrity.is_ok(),
        "FTS5 finds its index sound: {integrity:?}"
    );
    // The full-text index, filled at the end of the build, finds every item, and its triggers
    // are back: a later import into the existing store is searchable too.
    let matches = |word: &str| {
        let (store, query) = (store.clone(), word_query(word));
        async move { store.list(&query).await.unwrap().total.unwrap() }
    };
    assert_eq!(matches("fresh").await, 4499);
    assert_eq!(matches("replaced").await, 1);
    assert_eq!(matches("twin").await, 1);
    let later = json!({"key": "n1", "title": "New 1", "published_at": "2021-02-03", "content_markdown": "Later words"});
    let output = import_new_store(&db, &format!("{later}\n"));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(matches("fresh").await, 4498);
    assert_eq!(matches("later").await, 1);

    // A failed import into a store that does not exist leaves no store and no half-built file.
    let broken = dir.path().join("broken.db");
    let bad = format!(
        "{lines}{{\"key\":\"x\",\"title\":\"\",\"published_at\":\"2021-01-01\",\"content_markdown\":\"\"}}\n"
    );
    let output = import_new_store(&broken, &bad);
    assert!(!output.status.success());
    assert!(
        files_in(dir.path())
            .iter()
            .all(|f| !f.starts_with("broken")),
        "{:?}",
        files_in(dir.path())
    );
}
