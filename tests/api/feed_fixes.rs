//! Issue 15's feed defects and the feed language, each through HTTP: URLs that are valid URIs,
//! plain text escaped in RSS, tags that own their feed URL, feeds that always hold the newest
//! items, `updated` and `Last-Modified` that never move backwards, one ETag per coding, and
//! `HERALD_LANGUAGE` in every format.

use serde_json::Value;

use crate::helpers::{TestApp, spawn_adjusted, spawn_app};

async fn text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn every_feed_states_the_configured_language() {
    let app = spawn_app().await;
    assert!(
        text(&app, "/feed.rss")
            .await
            .contains("<language>en</language>")
    );
    assert!(text(&app, "/feed.atom").await.contains(r#"xml:lang="en""#));
    let json: Value = serde_json::from_str(&text(&app, "/feed.json").await).unwrap();
    assert_eq!(json["language"], "en");

    let app = spawn_adjusted(|s| s.feed.language = "nb-NO".to_owned()).await;
    let rss = text(&app, "/feed.rss").await;
    assert!(rss.contains("<language>nb-NO</language>"), "{rss}");
    let atom = text(&app, "/tags/press/feed.atom").await;
    assert!(atom.contains(r#"xml:lang="nb-NO""#), "{atom}");
    let json: Value = serde_json::from_str(&text(&app, "/feed.json").await).unwrap();
    assert_eq!(json["language"], "nb-NO");
}
