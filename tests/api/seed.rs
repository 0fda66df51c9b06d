//! The seed: the exact Working Group Two page, imported on first start, idempotently.

use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

use crate::helpers::{item_ids, seed_dir, spawn_app, spawn_with};

pub fn titles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn seed_serves_four_items_newest_first_with_dates_and_links() {
    let app = spawn_app().await;
    let body = app.get_json("/api/v1/news").await;
    assert_eq!(
        titles(&body),
        [
            "Working Group Two discussed in Reuters article",
            "Signing our Head of Engineering",
            "The launch of Working Group Two",
            // Dated 2017 on the page, so it sorts last; the data is kept as written.
            "Working Group Two readies commercial launch",
        ]
    );
    assert_eq!(body["next_cursor"], Value::Null);
    let items = body["items"].as_array().unwrap();
    let dates: Vec<&str> = items
        .iter()
        .map(|i| i["published_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        [
            "2018-03-01T00:00:00Z",
            "2017-12-04T00:00:00Z",
            "2017-10-05T00:00:00Z",
            "2017-02-27T00:00:00Z"
        ]
    );
    let links = |i: usize| -> Vec<(String, String)> {
        items[i]["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["title"].as_str().unwrap().to_owned(),
                    l["url"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        links(0),
        [(
            "Reuters article".to_owned(),
            "https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA".to_owned()
        )]
    );
    assert_eq!(links(1), []);
    assert_eq!(
        links(2),
        [
            (
                "Cisco press release".to_owned(),
                "https://newsroom.cisco.com/press-release-content?type=webcontent&articleId=1884622".to_owned()
            ),
            (
                "Telenor press release".to_owned(),
                "https://www.telenor.com/media/press-release/telenor-and-cisco-introduce-workinggrouptwo/".to_owned()
            ),
        ]
    );
    assert_eq!(
        links(3),
        [
            (
                "Telenor press release".to_owned(),
                "https://www.telenor.com/media/press-release/working-group-two-readies-commercial-launch/".to_owned()
            ),
            (
                "Cisco press release".to_owned(),
                "https://newsroom.cisco.com/press-release-content?type=webcontent&articleId=1913518".to_owned()
            ),
        ]
    );
    // The body is the page's Markdown, and the HTML is rendered from it.
    let signing = &items[1];
    assert!(
        signing["content_markdown"]
            .as_str()
            .unwrap()
            .starts_with("We are proud and happy to announce that Daniel Petersson")
    );
    assert!(
        signing["content_html"]
            .as_str()
            .unwrap()
            .starts_with("<p>We are proud and happy")
    );
    assert_eq!(
        signing["url"],
        app.url("/news/signing-our-head-of-engineering")
    );
}

#[tokio::test]
async fn importing_the_seed_again_keeps_four_items_and_their_ids() {
    let app = spawn_app().await;
    let before = app.get_json("/api/v1/news").await;
    for _ in 0..2 {
        let output = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["import", "--database-url", &app.database_url])
            .arg(seed_dir())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("0 created, 0 updated, 4 unchanged"),
            "{stdout}"
        );
    }
    let after = app.get_json("/api/v1/news").await;
    assert_eq!(item_ids(&after), item_ids(&before));
    assert_eq!(after["items"], before["items"]);
}

#[tokio::test]
async fn restart_on_the_same_file_keeps_ids_and_does_not_seed_twice() {
    let dir = Arc::new(tempfile::TempDir::new().unwrap());
    let first = spawn_with(dir.clone(), Some(seed_dir())).await;
    let before = first.get_json("/api/v1/news").await;
    first.stop().await;

    let second = spawn_with(dir, Some(seed_dir())).await;
    let after = second.get_json("/api/v1/news").await;
    assert_eq!(item_ids(&after).len(), 4);
    assert_eq!(item_ids(&after), item_ids(&before));
    assert_eq!(titles(&after), titles(&before));
}

#[tokio::test]
async fn an_empty_store_without_seed_serves_an_empty_list() {
    let app = spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await;
    let body = app.get_json("/api/v1/news").await;
    assert_eq!(body["items"], serde_json::json!([]));
    assert_eq!(body["next_cursor"], Value::Null);
}

/// Test servers start from a template database seeded once (see `helpers::provision`); what
/// they serve must be what a fresh start seeds, links rendered against their own URL included.
#[tokio::test]
async fn the_seeded_template_serves_what_a_fresh_start_seeds() {
    let templated = spawn_app().await;
    // A seed folder other than the project's has no template.
    let seed = tempfile::TempDir::new().unwrap();
    std::fs::copy(seed_dir().join("news.md"), seed.path().join("news.md")).unwrap();
    let fresh = spawn_with(
        Arc::new(tempfile::TempDir::new().unwrap()),
        Some(seed.path().to_owned()),
    )
    .await;
    let served = |app: &crate::helpers::TestApp, body: Value| {
        body.to_string()
            .replace(app.base.as_str(), "http://herald.test/")
    };
    for path in ["/api/v1/news?limit=100", "/api/v1/tags"] {
        assert_eq!(
            served(&templated, templated.get_json(path).await),
            served(&fresh, fresh.get_json(path).await),
            "{path}"
        );
    }
}
