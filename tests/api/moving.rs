//! Moving in and out (issue 18): `herald export` restored by `herald import` answers byte for
//! byte as the original; WordPress, Ghost, RSS and Atom files import idempotently by their
//! source ids; a file Herald cannot read is an error naming it and the formats it knows;
//! hostile XML is refused with its line.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use herald::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use url::Url;

use crate::helpers::{TestApp, settings_for, spawn_app, spawn_configured, spawn_with};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/import")
        .join(name)
}

/// `herald ARGS` on the store at `database_url`, as an operator runs it.
fn herald(database_url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("HERALD_PUBLIC_URL")
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "herald failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What readers and editors see: every item (drafts and scheduled ones included) and the feed.
async fn everything(app: &TestApp, token: &str) -> Vec<String> {
    // A client of its own each time: the commands run between two looks can outlast the
    // server's keep-alive, and a pooled connection it closed would fail the request.
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for (path, authed) in [
        ("/api/v1/news?status=draft&limit=100", true),
        ("/api/v1/news?status=scheduled&limit=100", true),
        ("/api/v1/news?limit=100", false),
        ("/feed.atom", false),
    ] {
        let mut request = client.get(app.url(path));
        if authed {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        seen.push(response.text().await.unwrap());
    }
    seen
}

async fn editor_view(app: &TestApp, token: &str, slug: &str) -> Value {
    let response = app
        .authed(Method::GET, &format!("/api/v1/news/{slug}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{slug}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_file_herald_cannot_read_is_an_error_naming_it_and_the_formats_it_knows() {
    let app = spawn_app().await;
    let token = app.token().await;
    let before = everything(&app, &token).await;
    let dir = TempDir::new().unwrap();
    let empty_folder = dir.path().join("nothing-here");
    std::fs::create_dir(&empty_folder).unwrap();
    let cases = [
        ("notes.txt", "just some notes\n".as_bytes()),
        ("posts.json", br#"{"posts": [{"title": "x"}]}"#.as_slice()),
        ("broken.json", b"{\"db\": [".as_slice()),
        ("page.xml", b"<html><body>hi</body></html>".as_slice()),
        ("feed.xml", b"".as_slice()),
    ];
    let mut paths: Vec<PathBuf> = cases
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    paths.push(empty_folder);
    for path in &paths {
        let output = herald(&app.database_url, &["import", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "names the file: {stderr}"
        );
        for format in [
            "WordPress export",
            "Ghost export",
            "RSS 2.0",
            "Atom 1.0",
            "Jekyll",
        ] {
            assert!(stderr.contains(format), "names {format}: {stderr}");
        }
        assert!(!String::from_utf8_lossy(&output.stdout).contains("created"));
    }
    assert_eq!(everything(&app, &token).await, before);
}

#[tokio::test]
async fn a_wordpress_export_imports_posts_with_statuses_tags_and_faithful_bodies() {
    let app = spawn_app().await;
    let token = app.token().await;
    let report = app.import(&fixture("wordpress.xml")).await;
    // Four posts; the attachment, the page and the trashed post are skipped.
    assert_eq!((report.created, report.skipped), (4, 3), "{report:?}");

    let launch = app
        .get_json("/api/v1/news/we-launched-the-acme-rocket")
        .await;
    assert_eq!(launch["title"], "We launched the Acme Rocket");
    assert_eq!(launch["published_at"], "2023-05-01T08:00:00Z");
    assert_eq!(launch["summary"], "The Acme Rocket is out.");
    assert_eq!(launch["tags"], json!(["launch", "press"]));
    // The post's author by display name, created as an author record.
    assert_eq!(launch["authors"][0]["name"], "Jane Doe", "{launch}");
    assert_eq!(launch["authors"][0]["slug"], "jane-doe");
    let authors = app.get_json("/api/v1/authors").await;
    let names: Vec<&str> = authors["authors"]
        .as_array()
        .or_else(|| authors.as_array())
        .expect("a list of authors")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Jane Doe") && names.contains(&"Ops Team"),
        "{authors}"
    );
    let html = launch["content_html"].as_str().unwrap();
    // WordPress's paragraphs and line breaks, as the blog showed them.
    assert!(
        html.contains("<p>Today we <strong>launched</strong> the Acme Rocket.<br>"),
        "{html}"
    );
    assert!(html.contains("<li>Fast</li>"), "{html}");
    assert!(
        html.contains("href=\"https://press.acme.example/rocket\""),
        "{html}"
    );
    assert_eq!(
        launch["links"],
        json!([{"title": "the press release", "url": "https://press.acme.example/rocket"}])
    );

    let results = app.get_json("/api/v1/news/quarterly-results").await;
    assert_eq!(results["tags"], json!(["finance"]));
    let html = results["content_html"].as_str().unwrap();
    assert!(
        html.contains("<figcaption>Revenue by quarter</figcaption>"),
        "{html}"
    );
    // The blank line inside the code block survives.
    assert!(
        html.contains("revenue += 12\n\ntotal = revenue * 2"),
        "{html}"
    );

    // The draft and the scheduled post are there for editors only, with their status.
    for slug in ["unfinished-thoughts", "coming-soon-rocket-2", "about"] {
        assert_eq!(app.get(&format!("/api/v1/news/{slug}")).await.status(), 404);
    }
    let draft = editor_view(&app, &token, "unfinished-thoughts").await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["published_at"], "2023-08-01T09:00:00Z");
    assert_eq!(draft["tags"], json!(["ideas"]));
    let scheduled = editor_view(&app, &token, "coming-soon-rocket-2").await;
    assert_eq!(scheduled["status"], "published");
    assert_eq!(scheduled["published_at"], "2100-01-01T09:00:00Z");

    // Again: nothing changes. Edited at the source: updated in place, never a twin.
    let before = everything(&app, &token).await;
    let again = app.import(&fixture("wordpress.xml")).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 4));
    assert_eq!(everything(&app, &token).await, before);
    let guid = app.stored_item("we-launched-the-acme-rocket").await.guid;
    let dir = TempDir::new().unwrap();
    let edited = dir.path().join("edited.xml");
    let text = std::fs::read_to_string(fixture("wordpress.xml")).unwrap();
    std::fs::write(&edited, text.replace("It flew.", "It flew twice.")).unwrap();
    let edit = app.import(&edited).await;
    assert_eq!((edit.created, edit.updated, edit.unchanged), (0, 1, 3));
    let updated = app
        .get_json("/api/v1/news/we-launched-the-acme-rocket")
        .await;
    assert_eq!(updated["id"], launch["id"]);
    assert!(
        updated["content_html"]
            .as_str()
            .unwrap()
            .contains("It flew twice.")
    );
    assert_eq!(
        app.stored_item("we-launched-the-acme-rocket").await.guid,
        guid
    );
}

#[tokio::test]
async fn a_ghost_export_imports_posts_tags_and_lossless_markdown() {
    let app = spawn_app().await;
    let token = app.token().await;
    let report = app.import(&fixture("ghost.json")).await;
    assert_eq!((report.created, report.skipped), (3, 1), "{report:?}");
    let hello = editor_view(&app, &token, "ghost-says-hello").await;
    assert_eq!(hello["status"], "published");
    assert_eq!(hello["published_at"], "2024-01-10T09:00:00Z");
    assert_eq!(hello["summary"], "Hello from Ghost.");
    assert_eq!(hello["authors"][0]["name"], "Gina Host", "{hello}");
    // The internal `#newsletter` tag is Ghost's own bookkeeping, not a topic.
    assert_eq!(hello["tags"], json!(["announcements", "product"]));
    // Simple HTML becomes Markdown because it renders back the same.
    assert_eq!(
        hello["content_markdown"],
        "Our first post on [Ghost](https://ghost.example/).\n\nSecond paragraph with *style*."
    );
    let draft = editor_view(&app, &token, "a-draft-in-ghost").await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["published_at"], "2024-01-12T10:00:00Z");
    let scheduled = editor_view(&app, &token, "scheduled-in-ghost").await;
    assert_eq!(scheduled["published_at"], "2100-06-01T12:00:00Z");
    let html = scheduled["content_html"].as_str().unwrap();
    assert!(html.contains("<figure"), "{html}");
    assert_eq!(app.get("/api/v1/news/contact").await.status(), 404);
    let again = app.import(&fixture("ghost.json")).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
}

#[tokio::test]
async fn rss_and_atom_feed_files_import_by_guid_and_id() {
    let app = spawn_app().await;
    let rss = app.import(&fixture("feed.rss")).await;
    assert_eq!(rss.created, 2);
    let markets = app.get_json("/api/v1/news/markets-open-higher").await;
    assert_eq!(markets["published_at"], "2024-01-02T07:30:00Z");
    assert_eq!(markets["tags"], json!(["economy", "markets"]));
    assert_eq!(markets["summary"], "Stocks rose at the open.");
    let html = markets["content_html"].as_str().unwrap();
    assert!(html.contains("<td>+1.2%</td>"), "{html}");
    let weather = app.get_json("/api/v1/news/weather-warning-lifted").await;
    assert_eq!(weather["published_at"], "2024-01-03T17:05:00Z");
    assert!(
        weather["content_html"]
            .as_str()
            .unwrap()
            .contains("<em>passed</em>")
    );

    let atom = app.import(&fixture("feed.atom")).await;
    assert_eq!(atom.created, 2);
    let one = app.get_json("/api/v1/news/experiment-one").await;
    assert_eq!(one["published_at"], "2024-01-20T08:00:00Z");
    assert_eq!(one["summary"], "A first try.");
    assert_eq!(one["tags"], json!(["science"]));
    assert_eq!(
        one["content_markdown"],
        "We tried [the method](https://lab.example/method)."
    );
    let two = app.get_json("/api/v1/news/experiment-two").await;
    assert_eq!(two["published_at"], "2024-01-25T12:00:00Z");
    assert!(
        two["content_html"]
            .as_str()
            .unwrap()
            .contains("<b>positive</b>")
    );

    for file in ["feed.rss", "feed.atom"] {
        let again = app.import(&fixture(file)).await;
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (0, 0, 2),
            "{file}"
        );
    }
}

#[tokio::test]
async fn a_dry_run_reports_what_would_change_and_writes_nothing() {
    let app = spawn_app().await;
    let token = app.token().await;
    let wxr = fixture("wordpress.xml");
    let before = everything(&app, &token).await;
    let out = stdout_of(&herald(
        &app.database_url,
        &["import", "--dry-run", wxr.to_str().unwrap()],
    ));
    assert!(
        out.contains("4 created, 0 updated, 0 unchanged, 3 skipped"),
        "{out}"
    );
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(everything(&app, &token).await, before);

    stdout_of(&herald(
        &app.database_url,
        &["import", wxr.to_str().unwrap()],
    ));
    let dir = TempDir::new().unwrap();
    let edited = dir.path().join("edited.xml");
    let text = std::fs::read_to_string(&wxr).unwrap();
    std::fs::write(&edited, text.replace("Revenue grew.", "Revenue fell.")).unwrap();
    app.state.content_changed();
    let before = everything(&app, &token).await;
    let out = stdout_of(&herald(
        &app.database_url,
        &["import", "--dry-run", edited.to_str().unwrap()],
    ));
    assert!(
        out.contains("0 created, 1 updated, 3 unchanged, 3 skipped"),
        "{out}"
    );
    assert_eq!(everything(&app, &token).await, before);
}

/// Where every server of the round trip says it lives: the copy must answer as the original.
const PUBLIC_URL: &str = "http://news.test/";

async fn serve(dir: Arc<TempDir>, seed: bool) -> TestApp {
    let mut settings = settings_for(dir.path(), seed.then(crate::helpers::seed_dir));
    settings.public_url = Some(Url::parse(PUBLIC_URL).unwrap());
    // Deliveries stay queued, as written: the restored outbox is compared too.
    settings.integrations.webhook_delivery = false;
    spawn_configured(dir, settings).await
}

async fn answer(app: &TestApp, path: &str, token: Option<&str>) -> Answer {
    let mut request = app.client.get(format!("http://{}{path}", app.addr));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    // Not `Last-Modified`: it is when this process saw content change, and a server starting
    // on a restored store may take the restored change log for news and move it a second on
    // (`http_cache::moved_on`), as it does after any write by another process.
    let headers = ["etag", "content-type"]
        .iter()
        .map(|name| {
            response
                .headers()
                .get(*name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        })
        .collect();
    (
        response.status().as_u16(),
        headers,
        response.text().await.unwrap(),
    )
}

type Answer = (u16, Vec<String>, String);

/// Every path's answer, each as an editor when its flag says so.
async fn answers(app: &TestApp, token: &str, paths: &[(String, bool)]) -> Vec<(String, Answer)> {
    let mut all = Vec::new();
    for (path, authed) in paths {
        all.push((
            path.clone(),
            answer(app, path, authed.then_some(token)).await,
        ));
    }
    all
}

async fn write(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let response = app
        .client
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {response:?}");
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_export_imported_into_an_empty_store_answers_byte_for_byte_as_the_original() {
    let original = serve(Arc::new(TempDir::new().unwrap()), true).await;
    let token = original.token().await;
    let revoked = original.revoked_token("gone").await;
    // A webhook (its secret rotated) that the writes below queue deliveries for.
    let hook = original
        .webhook_with_rotated_secret(
            &token,
            json!({"url": "https://hooks.news.test/in", "events": ["item.published"]}),
        )
        .await;
    // Imported items (with source keys), a tagged item with links, a draft, a scheduled item,
    // and a deleted newest item, so the next id is not max(id) + 1.
    original.import(&fixture("wordpress.xml")).await;
    // An author with every field, named by an item's byline.
    write(
        &original,
        &token,
        Method::POST,
        "/api/v1/authors",
        json!({"name": "Ada Lovelace", "slug": "ada", "bio": "Wrote the first program.",
               "url": "https://ada.example/", "email": "ada@example.org"}),
    )
    .await;
    let tagged = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Exported", "summary": "With everything", "tags": ["Moving", "Press"],
               "authors": ["ada"],
               "content_markdown": "See [the docs](https://example.org/docs).",
               "image": {"url": "https://images.example/docs.png?v=2", "width": 800,
                         "height": 400, "alt": "The docs", "caption": "Read them",
                         "credit": "Photo & text: Ada"},
               "published_at": "2025-12-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(tagged["image"]["credit"], "Photo & text: Ada");
    let draft = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Unfinished", "status": "draft", "tags": ["Moving"]}),
    )
    .await;
    let doomed = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Doomed"}),
    )
    .await;
    let response = original
        .client
        .delete(format!(
            "http://{}/api/v1/news/{}",
            original.addr, doomed["id"]
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let public_paths = [
        "/api/v1/news".to_owned(),
        "/api/v1/news?limit=2".to_owned(),
        "/api/v1/news?tag=moving&count=true".to_owned(),
        "/api/v1/news?q=docs&sort=relevance".to_owned(),
        "/api/v1/tags".to_owned(),
        format!("/api/v1/news/{}", tagged["id"]),
        "/api/v1/news/we-launched-the-acme-rocket".to_owned(),
        "/feed.atom".to_owned(),
        "/feed.rss".to_owned(),
        "/feed.json".to_owned(),
        "/tags/press/feed.atom".to_owned(),
        "/api/v1/authors".to_owned(),
        "/api/v1/authors/ada".to_owned(),
        "/authors/ada/feed.json".to_owned(),
    ];
    let editor_paths = [
        "/api/v1/authors/ada".to_owned(),
        "/api/v1/news?status=draft".to_owned(),
        "/api/v1/news?status=scheduled".to_owned(),
        format!("/api/v1/news/{}", draft["id"]),
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{}/deliveries", hook["id"]),
    ];
    let paths: Vec<(String, bool)> = public_paths
        .iter()
        .map(|p| (p.clone(), false))
        .chain(editor_paths.iter().map(|p| (p.clone(), true)))
        .collect();
    let before = answers(&original, &token, &paths).await;
    let revision = original.state.store.revision().await.unwrap();
    let hooks = original.state.store.export_webhooks().await.unwrap();
    let outbox = original
        .state
        .store
        .export_deliveries(0, 100)
        .await
        .unwrap();
    assert!(!outbox.is_empty(), "the writes queued deliveries");

    let dir = TempDir::new().unwrap();
    let export = dir.path().join("store.jsonl");
    let out = herald(
        &original.database_url,
        &["export", export.to_str().unwrap()],
    );
    stdout_of(&out);
    // `-` writes the same to stdout.
    let to_stdout = herald(&original.database_url, &["export", "-"]);
    assert_eq!(
        stdout_of(&to_stdout),
        std::fs::read_to_string(&export).unwrap()
    );

    // An empty store on the engine under test, restored while no server runs on it.
    let target_dir = Arc::new(TempDir::new().unwrap());
    let empty = serve(target_dir.clone(), false).await;
    empty.stop().await;
    let restored = herald(&empty.database_url, &["import", export.to_str().unwrap()]);
    stdout_of(&restored);
    // Restoring twice is refused: it would have to replace what is there.
    let twice = herald(&empty.database_url, &["import", export.to_str().unwrap()]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("empty store"));

    let copy = serve(target_dir, false).await;
    assert_eq!(copy.state.store.revision().await.unwrap(), revision);
    // Webhooks with both secrets, and their outbox, as they were.
    assert_eq!(copy.state.store.export_webhooks().await.unwrap(), hooks);
    assert_eq!(
        copy.state.store.export_deliveries(0, 100).await.unwrap(),
        outbox
    );
    let after = answers(&copy, &token, &paths).await;
    for ((path, before), (_, after)) in before.iter().zip(&after) {
        assert_eq!(after, before, "{path}");
    }
    // Exported again, the copy gives the very same file; the tokens came along as hashes.
    let again = dir.path().join("again.jsonl");
    stdout_of(&herald(
        &copy.database_url,
        &["export", again.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(&export).unwrap()
    );
    let response = answer(&copy, "/api/v1/news?status=draft", Some(&revoked)).await;
    assert_eq!(response.0, 401);
    let next = json!({"title": "After the move"});
    let on_original = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        next.clone(),
    )
    .await;
    let on_copy = write(&copy, &token, Method::POST, "/api/v1/news", next).await;
    assert_eq!(on_copy["id"], on_original["id"]);
    drop(empty);
}

#[tokio::test]
async fn a_truncated_export_is_refused_and_restores_nothing() {
    let original = spawn_app().await;
    let dir = TempDir::new().unwrap();
    let export = dir.path().join("store.jsonl");
    stdout_of(&herald(
        &original.database_url,
        &["export", export.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&export).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    let truncated = dir.path().join("cut.jsonl");
    std::fs::write(&truncated, cut[..cut.len() / 2].join("\n")).unwrap();
    let target = spawn_with(Arc::new(TempDir::new().unwrap()), None).await;
    target.stop().await;
    let output = herald(
        &target.database_url,
        &["import", truncated.to_str().unwrap()],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("truncated"), "{stderr}");
}

/// Imports `bytes` as `name` and returns the error, asserting the store is unchanged.
async fn refused(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let before = app
        .get("/api/v1/news?limit=100")
        .await
        .text()
        .await
        .unwrap();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = herald::import::import_path(&app.state.store, &path, &app.base, app.clock.now())
        .await
        .expect_err("refused");
    let after = app
        .get("/api/v1/news?limit=100")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(after, before);
    format!("{err:#}")
}

#[tokio::test]
async fn hostile_xml_is_refused_with_its_line() {
    let app = spawn_app().await;
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n<rss version=\"2.0\"><channel><title>&lol3;</title></channel></rss>\n";
    let err = refused(&app, "laughs.xml", laughs.as_bytes()).await;
    assert!(err.contains("line 2") && err.contains("DOCTYPE"), "{err}");
    let external = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<rss><channel><title>&x;</title></channel></rss>";
    let err = refused(&app, "xxe.rss", external.as_bytes()).await;
    assert!(err.contains("line 2"), "{err}");

    let wxr = std::fs::read(fixture("wordpress.xml")).unwrap();
    let err = refused(&app, "cut.xml", &wxr[..wxr.len() / 2]).await;
    assert!(err.contains("truncated") || err.contains("line "), "{err}");
    assert!(err.contains("line "), "{err}");

    let mut latin1 =
        b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\">\n<channel><title>Caf".to_vec();
    latin1.extend_from_slice(b"\xe9</title></channel></rss>");
    let err = refused(&app, "latin1.rss", &latin1).await;
    assert!(err.contains("line 3") && err.contains("UTF-8"), "{err}");
    let declared =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss version=\"2.0\"><channel/></rss>";
    let err = refused(&app, "declared.rss", declared.as_bytes()).await;
    assert!(
        err.contains("line 1") && err.contains("iso-8859-1"),
        "{err}"
    );
    let mismatched = "<rss version=\"2.0\">\n<channel>\n<item></channel>\n</rss>";
    let err = refused(&app, "mismatch.xml", mismatched.as_bytes()).await;
    assert!(err.contains("line 3"), "{err}");
}
