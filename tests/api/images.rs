//! Item images (issue 16): `image` on writes (a medium or a URL, alt required), on every read
//! of an item, in every feed format and on the item page; an image change reaching every cached
//! answer.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::feeds::assert_valid_json_feed;
use crate::helpers::{TestApp, assert_problem, spawn_app};
use crate::write::create;

/// A 1×1 PNG: real image bytes for the stored files (their stated sizes are the test's).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Stores a medium as uploads do: an original of 1000×500 (`{tag}/o.png`) with PNG variants
/// 320 and 640 wide and a WebP variant 320 wide, with raw SQL on the test's database (the
/// upload API is another part of the service). Returns the medium's id.
pub async fn insert_medium(app: &TestApp, tag: &str) -> i64 {
    let files = [
        (format!("{tag}/o.png"), true, "image/png", 1000, 500),
        (format!("{tag}/320.png"), false, "image/png", 320, 160),
        (format!("{tag}/640.png"), false, "image/png", 640, 320),
        (format!("{tag}/320.webp"), false, "image/webp", 320, 160),
    ];
    let postgres = herald::store::is_postgres_url(&app.database_url);
    let sql = |text: &str| {
        if postgres {
            text.to_owned()
        } else {
            text.replace('$', "?")
        }
    };
    let medium = sql(
        "INSERT INTO media (source_hash, type, width, height, bytes, created_at) \
         VALUES ($1, 'image/png', 1000, 500, $2, 0) RETURNING id",
    );
    let file = sql(
        "INSERT INTO media_files (path, media_id, original, type, width, height, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    );
    macro_rules! insert {
        ($pool:expr) => {{
            let pool = $pool;
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(medium.clone()))
                .bind(format!("hash-{tag}"))
                .bind(PNG.len() as i64)
                .fetch_one(&pool)
                .await
                .unwrap();
            for (path, original, kind, width, height) in &files {
                sqlx::query(sqlx::AssertSqlSafe(file.clone()))
                    .bind(path)
                    .bind(id)
                    .bind(*original)
                    .bind(*kind)
                    .bind(*width as i64)
                    .bind(*height as i64)
                    .bind(PNG)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
            id
        }};
    }
    if postgres {
        insert!(sqlx::PgPool::connect(&app.database_url).await.unwrap())
    } else {
        insert!(sqlx::SqlitePool::connect(&app.database_url).await.unwrap())
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.authed(method, path, token)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
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
async fn a_url_image_is_stored_with_its_texts_and_shown_on_every_read() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, _) = create(
        &app,
        &token,
        json!({"title": "With a picture", "image": {
            "url": "https://images.example/a%20b.jpg?size=large&v=2",
            "alt": "  A harbour at dawn ", "caption": "Oslo", "credit": "Photo: Ada",
            "width": 1600, "height": 900,
        }}),
    )
    .await;
    let image = &item["image"];
    assert_eq!(
        image["url"],
        "https://images.example/a%20b.jpg?size=large&v=2"
    );
    assert_eq!(image["alt"], "A harbour at dawn");
    assert_eq!(image["caption"], "Oslo");
    assert_eq!(image["credit"], "Photo: Ada");
    assert_eq!(image["width"], 1600);
    assert_eq!(image["height"], 900);
    assert_eq!(image["media_id"], Value::Null);
    assert_eq!(
        image["srcset"],
        "https://images.example/a%20b.jpg?size=large&v=2 1600w"
    );
    let path = format!("/api/v1/news/{}", item["id"]);
    assert_eq!(app.get_json(&path).await["image"], *image);
    let listed = app.get_json("/api/v1/news?fields=id,image").await;
    assert_eq!(listed["items"][0]["image"], *image);
    assert_eq!(listed["items"][0].as_object().unwrap().len(), 2, "{listed}");

    // Without an image, `image` is null; a merge patch edits one member, and null removes it.
    let (plain, _) = create(&app, &token, json!({"title": "Plain"})).await;
    assert_eq!(plain["image"], Value::Null);
    let patched = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        json!({"image": {"alt": "Dawn"}}),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["image"]["alt"], "Dawn");
    assert_eq!(patched["image"]["caption"], "Oslo");
    let removed = send(&app, Method::PATCH, &path, &token, json!({"image": null})).await;
    assert_eq!(removed.status(), 200);
    assert_eq!(removed.json::<Value>().await.unwrap()["image"], Value::Null);
    assert_eq!(app.get_json(&path).await["image"], Value::Null);
}

#[tokio::test]
async fn broken_images_are_refused_naming_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let token = app.token().await;
    let medium = insert_medium(&app, "m").await;
    let items_before = app.row_count("news_items").await;
    let cases = [
        (json!({"url": "https://i.example/a.jpg"}), vec!["image.alt"]),
        (
            json!({"url": "https://i.example/a.jpg", "alt": "  "}),
            vec!["image.alt"],
        ),
        (json!({"alt": "x"}), vec!["image"]),
        (
            json!({"url": "https://i.example/a.jpg", "media_id": medium, "alt": "x"}),
            vec!["image"],
        ),
        (
            json!({"url": "ftp://i.example/a.jpg", "alt": "x"}),
            vec!["image.url"],
        ),
        (
            json!({"url": "javascript:alert(1)", "alt": "x"}),
            vec!["image.url"],
        ),
        (
            json!({"url": "/relative.jpg", "alt": "x"}),
            vec!["image.url"],
        ),
        (json!({"media_id": "1", "alt": "x"}), vec!["image.media_id"]),
        (
            json!({"media_id": medium, "alt": "x", "width": 5}),
            vec!["image.width"],
        ),
        (
            json!({"url": "https://i.example/a.jpg", "alt": "x", "width": 0, "height": -1}),
            vec!["image.width", "image.height"],
        ),
        (
            json!({"url": "https://i.example/a.jpg", "alt": 3}),
            vec!["image.alt"],
        ),
        (
            json!({"url": "https://i.example/a.jpg", "alt": "x", "caption": "a\u{0}b"}),
            vec!["image.caption"],
        ),
        (
            json!({"url": "https://i.example/a.jpg", "alt": "x".repeat(1001)}),
            vec!["image.alt"],
        ),
        (
            json!({"url": "https://i.example/a.jpg", "alt": "x", "colour": 1}),
            vec!["image.colour"],
        ),
        (json!("https://i.example/a.jpg"), vec!["image"]),
    ];
    for (image, expected) in cases {
        let response = send(
            &app,
            Method::POST,
            "/api/v1/news",
            &token,
            json!({"title": "t", "image": image}),
        )
        .await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(fields(&problem), expected, "{image}");
    }
    // A medium that does not exist is named too, and the item is not half-written.
    let response = send(
        &app,
        Method::POST,
        "/api/v1/news",
        &token,
        json!({"title": "t", "image": {"media_id": medium + 1000, "alt": "x"}}),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields(&problem), ["image.media_id"]);
    assert_eq!(app.row_count("news_items").await, items_before);
    assert_eq!(image_rows(&app).await, 0);
}

#[tokio::test]
async fn a_media_image_has_the_originals_size_a_srcset_of_its_variants_and_a_webp_source() {
    let app = spawn_app().await;
    let token = app.token().await;
    let medium = insert_medium(&app, "ab").await;
    let (item, _) = create(
        &app,
        &token,
        json!({"title": "Uploaded", "image": {"media_id": medium, "alt": "A chart"}}),
    )
    .await;
    let media = |path: &str| app.url(&format!("/media/ab/{path}"));
    let image = &item["image"];
    assert_eq!(image["media_id"], medium);
    assert_eq!(image["url"], media("o.png"));
    assert_eq!(image["width"], 1000);
    assert_eq!(image["height"], 500);
    assert_eq!(image["type"], "image/png");
    assert_eq!(image["caption"], Value::Null);
    assert_eq!(
        image["srcset"],
        format!(
            "{} 320w, {} 640w, {} 1000w",
            media("320.png"),
            media("640.png"),
            media("o.png")
        )
    );
    assert_eq!(
        image["sources"],
        json!([{"type": "image/webp", "srcset": format!("{} 320w", media("320.webp"))}])
    );
    // Many items on one page, each with its own image.
    for n in 0..5 {
        create(
            &app,
            &token,
            json!({"title": format!("More {n}"), "image": {"url": format!("https://i.example/{n}.png"), "alt": format!("n{n}")}}),
        )
        .await;
    }
    let listed = app.get_json("/api/v1/news?limit=100").await;
    let items: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["image"].is_null())
        .collect();
    assert_eq!(items.len(), 6);
    for listed in items {
        let id = listed["id"].clone();
        let one = app.get_json(&format!("/api/v1/news/{id}")).await;
        assert_eq!(listed["image"], one["image"], "item {id}");
        assert!(listed["image"]["alt"].is_string());
    }
}

#[tokio::test]
async fn an_image_change_changes_the_etag_and_every_cached_answer() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, etag) = create(
        &app,
        &token,
        json!({"title": "Cached", "image": {"url": "https://i.example/1.png", "alt": "one"}}),
    )
    .await;
    let path = format!("/api/v1/news/{}", item["id"]);
    // Read everything once so the answers are cached.
    for p in [
        path.as_str(),
        "/api/v1/news",
        "/feed.json",
        "/feed.rss",
        "/feed.atom",
    ] {
        assert_eq!(app.get(p).await.status(), 200, "{p}");
    }
    let response = app
        .authed(Method::PATCH, &path, &token)
        .header("content-type", "application/merge-patch+json")
        .header("if-match", &etag)
        .body(json!({"image": {"url": "https://i.example/2.png"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let new_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let response = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the old ETag no longer matches");
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["image"]["url"], "https://i.example/2.png");
    assert_eq!(
        app.get_json("/api/v1/news").await["items"][0]["image"]["url"],
        "https://i.example/2.png"
    );
    assert_eq!(
        app.get_json("/feed.json").await["items"][0]["image"],
        "https://i.example/2.png"
    );
    for feed in ["/feed.rss", "/feed.atom"] {
        let text = app.get(feed).await.text().await.unwrap();
        assert!(text.contains("https://i.example/2.png"), "{feed}");
        assert!(!text.contains("https://i.example/1.png"), "{feed}");
    }
    // Removing the image is a change too.
    let response = send(&app, Method::PATCH, &path, &token, json!({"image": null})).await;
    assert_ne!(response.headers()["etag"].to_str().unwrap(), new_etag);
    let feed = app.get_json("/feed.json").await;
    assert!(feed["items"][0].get("image").is_none(), "{feed}");
}

/// An element of a parsed XML document: its name, attributes and text.
#[derive(Debug, Default, Clone)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    /// Names of the elements it sits in, outermost first.
    parents: Vec<String>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every element of `xml`, in document order, with entities resolved.
fn elements(xml: &str) -> Vec<Element> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut out, mut open): (Vec<Element>, Vec<usize>) = (Vec::new(), Vec::new());
    let parents = |out: &Vec<Element>, open: &Vec<usize>| -> Vec<String> {
        open.iter().map(|&i| out[i].name.clone()).collect()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let element = element(&e, parents(&out, &open));
                out.push(element);
                open.push(out.len() - 1);
            }
            Event::Empty(e) => {
                let element = element(&e, parents(&out, &open));
                out.push(element);
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t.xml10_content().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = open.last() {
                    let name = String::from_utf8(r.to_vec()).unwrap();
                    let resolved = match name.as_str() {
                        "amp" => "&".to_owned(),
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        other => {
                            let code = other
                                .strip_prefix("#x")
                                .map(|h| u32::from_str_radix(h, 16).unwrap())
                                .or_else(|| other.strip_prefix('#').map(|d| d.parse().unwrap()))
                                .expect("a character reference");
                            char::from_u32(code).unwrap().to_string()
                        }
                    };
                    out[i].text.push_str(&resolved);
                }
            }
            Event::CData(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(std::str::from_utf8(&t).unwrap());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn element(e: &quick_xml::events::BytesStart<'_>, parents: Vec<String>) -> Element {
    Element {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect(),
        text: String::new(),
        parents,
    }
}

fn named<'a>(all: &'a [Element], name: &str) -> Vec<&'a Element> {
    all.iter().filter(|e| e.name == name).collect()
}

const HOSTILE_ALT: &str = "A \"quoted\" <b>bold</b> & 'odd' ünïcødé 🌅 alt";
const HOSTILE_CAPTION: &str = "<script>alert(1)</script> & caption";

#[tokio::test]
async fn feeds_carry_the_image_as_enclosure_media_rss_json_feed_fields_and_a_figure() {
    let app = spawn_app().await;
    let token = app.token().await;
    let medium = insert_medium(&app, "cd").await;
    create(
        &app,
        &token,
        json!({"title": "Medium", "published_at": "2025-01-02T00:00:00Z",
               "image": {"media_id": medium, "alt": "Chart", "credit": "Herald & co"}}),
    )
    .await;
    let external = "https://i.example/p.jpg?w=1&h=2";
    create(
        &app,
        &token,
        json!({"title": "External", "published_at": "2025-01-01T00:00:00Z",
               "content_markdown": "Body text.",
               "image": {"url": external, "alt": HOSTILE_ALT, "caption": HOSTILE_CAPTION}}),
    )
    .await;
    let original = app.url("/media/cd/o.png");

    // RSS: an enclosure and Media RSS per item.
    let rss = app.get("/feed.rss").await.text().await.unwrap();
    assert!(rss.contains("xmlns:media=\"http://search.yahoo.com/mrss/\""));
    let all = elements(&rss);
    let enclosures = named(&all, "enclosure");
    assert_eq!(enclosures.len(), 2);
    assert_eq!(enclosures[0].attr("url"), Some(original.as_str()));
    assert_eq!(
        enclosures[0].attr("length"),
        Some(PNG.len().to_string().as_str())
    );
    assert_eq!(enclosures[0].attr("type"), Some("image/png"));
    assert_eq!(enclosures[1].attr("url"), Some(external));
    assert_eq!(enclosures[1].attr("length"), Some("0"));
    assert_eq!(enclosures[1].attr("type"), Some("image/jpeg"));
    let contents = named(&all, "media:content");
    assert_eq!(contents.len(), 2);
    assert_eq!(contents[0].attr("medium"), Some("image"));
    assert_eq!(contents[0].attr("width"), Some("1000"));
    assert_eq!(contents[0].attr("height"), Some("500"));
    assert_eq!(contents[0].attr("type"), Some("image/png"));
    assert!(contents.iter().all(|c| c.parents.last().unwrap() == "item"));
    let thumbnails = named(&all, "media:thumbnail");
    assert_eq!(
        thumbnails[0].attr("url"),
        Some(app.url("/media/cd/320.png").as_str())
    );
    assert_eq!(thumbnails[0].attr("width"), Some("320"));
    let descriptions = named(&all, "media:description");
    assert_eq!(descriptions[1].attr("type"), Some("html"));
    assert_eq!(
        descriptions[1].text,
        HOSTILE_ALT
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    assert_eq!(named(&all, "media:credit")[0].text, "Herald & co");
    let encoded = named(&all, "content:encoded");
    // The HTML is in CDATA, its `&` and `<` written as character references (see `rss.rs`).
    let html = &encoded[1]
        .text
        .replace("&#x26;", "&amp;")
        .replace("&#x3C;", "&lt;");
    assert!(
        html.starts_with(
            "<figure><img src=\"https://i.example/p.jpg?w=1&amp;h=2\" alt=\"A &quot;quoted&quot; \
             &lt;b&gt;bold&lt;/b&gt; &amp; 'odd' ünïcødé 🌅 alt\"><figcaption>&lt;script&gt;"
        ),
        "{html}"
    );
    assert!(
        encoded[0].text.contains("width=\"1000\" height=\"500\""),
        "{}",
        encoded[0].text
    );

    // Atom: an enclosure link, its length only when known.
    let atom = app.get("/feed.atom").await.text().await.unwrap();
    let all = elements(&atom);
    let links: Vec<&Element> = named(&all, "link")
        .into_iter()
        .filter(|l| l.attr("rel") == Some("enclosure"))
        .collect();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].attr("href"), Some(original.as_str()));
    assert_eq!(links[0].attr("type"), Some("image/png"));
    assert_eq!(
        links[0].attr("length"),
        Some(PNG.len().to_string().as_str())
    );
    assert_eq!(links[1].attr("href"), Some(external));
    assert_eq!(links[1].attr("length"), None);
    let content = named(&all, "content");
    assert!(
        content[1].text.starts_with("<figure><img src="),
        "{}",
        content[1].text
    );

    // JSON Feed 1.1: image and banner_image.
    let feed = app.get_json("/feed.json").await;
    assert_valid_json_feed(&feed);
    assert_eq!(feed["items"][0]["image"], original);
    assert_eq!(feed["items"][0]["banner_image"], original);
    assert_eq!(feed["items"][1]["image"], external);
    let html = feed["items"][1]["content_html"].as_str().unwrap();
    assert!(html.starts_with("<figure><img src=\"https://i.example/p.jpg?w=1&amp;h=2\""));
    assert!(html.ends_with("<p>Body text.</p>\n"), "{html}");
}

#[tokio::test]
async fn the_item_page_shows_the_image_in_a_picture_with_its_srcset() {
    let app = spawn_app().await;
    let token = app.token().await;
    let medium = insert_medium(&app, "ef").await;
    create(
        &app,
        &token,
        json!({"title": "Page", "slug": "page", "image": {"media_id": medium, "alt": "A \"chart\"", "caption": "<Caption>"}}),
    )
    .await;
    let response = app.get("/news/page").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let webp = format!(
        "<source type=\"image/webp\" srcset=\"{} 320w\"",
        app.url("/media/ef/320.webp")
    );
    assert!(html.contains("<picture>"), "{html}");
    assert!(html.contains(&webp), "{html}");
    assert!(
        html.contains(&format!("src=\"{}\"", app.url("/media/ef/o.png"))),
        "{html}"
    );
    assert!(html.contains("alt=\"A &quot;chart&quot;\""), "{html}");
    assert!(html.contains("width=\"1000\" height=\"500\""), "{html}");
    assert!(html.contains("&lt;Caption&gt;"), "{html}");
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/import")
        .join(name)
}

/// An item by slug as an editor reads it (drafts and scheduled items included).
async fn read(app: &TestApp, token: &str, slug: &str) -> Value {
    let response = app
        .authed(Method::GET, &format!("/api/v1/news/{slug}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{slug}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn json_lines_images_are_urls_or_objects_and_a_reimport_keeps_one() {
    let app = spawn_app().await;
    let lines = [
        json!({"key": "a", "title": "Short form", "published_at": "2024-01-01", "content_markdown": "x",
               "image": "https://i.example/a.png"}),
        json!({"key": "b", "title": "Long form", "published_at": "2024-01-02", "content_markdown": "x",
               "image": {"url": "https://i.example/b.png", "alt": "Bee", "caption": "A bee", "credit": "Ann"}}),
    ];
    let report = app.import_json_lines(&lines).await;
    assert_eq!(report.created, 2);
    let a = app.get_json("/api/v1/news/short-form").await;
    assert_eq!(a["image"]["url"], "https://i.example/a.png");
    assert_eq!(
        a["image"]["alt"], "Short form",
        "the title stands in for alt text"
    );
    let b = app.get_json("/api/v1/news/long-form").await;
    assert_eq!(b["image"]["alt"], "Bee");
    assert_eq!(b["image"]["caption"], "A bee");
    assert_eq!(b["image"]["credit"], "Ann");
    let again = app.import_json_lines(&lines).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2));
    assert_eq!(image_rows(&app).await, 2);
    // A changed image replaces the old one.
    let changed = [
        json!({"key": "a", "title": "Short form", "published_at": "2024-01-01",
                          "content_markdown": "x", "image": "https://i.example/a2.png"}),
    ];
    assert_eq!(app.import_json_lines(&changed).await.updated, 1);
    let a = app.get_json("/api/v1/news/short-form").await;
    assert_eq!(a["image"]["url"], "https://i.example/a2.png");
    assert_eq!(image_rows(&app).await, 2);
}

/// Rows of `news_images`, which no answer counts.
async fn image_rows(app: &TestApp) -> i64 {
    let sql = "SELECT count(*) FROM news_images";
    if herald::store::is_postgres_url(&app.database_url) {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

#[tokio::test]
async fn jekyll_front_matter_gives_every_item_of_the_page_its_image() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().unwrap();
    let page = dir.path().join("news.md");
    std::fs::write(
        &page,
        "---\ntitle: News\nimage:\n  path: https://cdn.example/cover.jpg\n  alt: Our office\n---\n\n\
         ## First\n### 1st of March, 2018\n\nOne.\n\n---\n",
    )
    .unwrap();
    app.import(&page).await;
    let first = app.get_json("/api/v1/news/first").await;
    assert_eq!(first["image"]["url"], "https://cdn.example/cover.jpg");
    assert_eq!(first["image"]["alt"], "Our office");
    let short = dir.path().join("short.md");
    std::fs::write(
        &short,
        "---\nimage: https://i.example/s.jpg\n---\n\n## Second\n### 2nd of March, 2018\n\nTwo.\n",
    )
    .unwrap();
    app.import(&short).await;
    let second = app.get_json("/api/v1/news/second").await;
    assert_eq!(second["image"]["url"], "https://i.example/s.jpg");
    assert_eq!(second["image"]["alt"], "Second");
}

#[tokio::test]
async fn wordpress_ghost_rss_and_atom_featured_images_are_imported_as_image_urls() {
    let app = spawn_app().await;
    let token = app.token().await;
    app.import(&fixture("wordpress.xml")).await;
    let rocket = read(&app, &token, "we-launched-the-acme-rocket").await;
    assert_eq!(
        rocket["image"]["url"],
        "https://blog.acme.example/wp-content/uploads/2023/05/hero.jpg"
    );
    assert_eq!(rocket["image"]["alt"], "The Acme Rocket on the launch pad");
    assert_eq!(rocket["image"]["caption"], "Launch day, 1 May");

    app.import(&fixture("ghost.json")).await;
    let hello = read(&app, &token, "ghost-says-hello").await;
    assert_eq!(
        hello["image"]["url"],
        "https://ghost.example/content/images/2024/01/hello.png"
    );
    assert_eq!(hello["image"]["alt"], "A friendly ghost waving");
    assert_eq!(hello["image"]["caption"], "Photo by Casper & friends");
    assert_eq!(
        read(&app, &token, "a-draft-in-ghost").await["image"],
        Value::Null
    );

    app.import(&fixture("feed.rss")).await;
    let markets = read(&app, &token, "markets-open-higher").await;
    assert_eq!(
        markets["image"]["url"],
        "https://wire.example/img/markets.jpg"
    );
    assert_eq!(markets["image"]["alt"], "Traders at the exchange");
    assert_eq!(markets["image"]["credit"], "Wire Photo");
    let weather = read(&app, &token, "weather-warning-lifted").await;
    assert_eq!(weather["image"]["url"], "https://wire.example/img/sky.png");
    assert_eq!(weather["image"]["alt"], "Weather warning lifted");

    app.import(&fixture("feed.atom")).await;
    let one = read(&app, &token, "experiment-one").await;
    assert_eq!(one["image"]["url"], "https://lab.example/one.webp");
    assert_eq!(one["image"]["type"], "image/webp");

    // Re-importing changes nothing and keeps one image per item.
    let before = image_rows(&app).await;
    for file in ["wordpress.xml", "ghost.json", "feed.rss", "feed.atom"] {
        let again = app.import(&fixture(file)).await;
        assert_eq!((again.created, again.updated), (0, 0), "{file}");
    }
    assert_eq!(image_rows(&app).await, before);
}

#[tokio::test]
async fn markdown_images_of_stored_media_get_their_width_and_height() {
    let app = spawn_app().await;
    let token = app.token().await;
    insert_medium(&app, "md").await;
    let (item, _) = create(
        &app,
        &token,
        json!({"title": "Inline", "content_markdown":
            "![A chart](/media/md/640.png) and ![Elsewhere](https://i.example/x.png) and ![Gone](/media/md/none.png)"}),
    )
    .await;
    let html = item["content_html"].as_str().unwrap();
    let sized = format!(
        "<img src=\"{}\" alt=\"A chart\" width=\"640\" height=\"320\">",
        app.url("/media/md/640.png")
    );
    assert!(html.contains(&sized), "{html}");
    assert!(
        html.contains("<img src=\"https://i.example/x.png\" alt=\"Elsewhere\">"),
        "{html}"
    );
    assert!(html.contains("none.png\" alt=\"Gone\">"), "{html}");
    // An edit keeps them sized.
    let path = format!("/api/v1/news/{}", item["id"]);
    let response = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        json!({"title": "Inline 2"}),
    )
    .await;
    let edited: Value = response.json().await.unwrap();
    assert!(edited["content_html"].as_str().unwrap().contains(&sized));
}
