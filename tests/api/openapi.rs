//! The contract: `openapi.yaml` is exactly what the code generates, and the server serves it.

use serde_json::Value;

use crate::helpers::spawn_app;

const COMMITTED: &str = include_str!("../../openapi.yaml");

#[test]
fn committed_openapi_yaml_matches_the_code() {
    let generated = herald::openapi::yaml();
    assert!(
        generated == COMMITTED,
        "openapi.yaml is stale: regenerate it with `cargo run -- openapi > openapi.yaml`"
    );
}

#[tokio::test]
async fn the_contract_is_served_as_yaml_json_and_docs() {
    let app = spawn_app().await;

    let yaml = app.get("/openapi.yaml").await;
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.text().await.unwrap(), COMMITTED);

    let json: Value = app.get_json("/openapi.json").await;
    assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/news",
        "/api/v1/news/{key}",
        "/api/v1/tags",
        "/healthz",
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/feed.xml",
        "/atom.xml",
        "/rss.xml",
        "/tags/{tag}/feed.{format}",
        "/news/{key}",
    ] {
        assert!(json["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(
        json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // The docs page works offline: its assets come from this server, not a CDN.
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("cdn"), "no CDN: {html}");
    for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"] {
        assert_eq!(app.get(asset).await.status(), 200, "{asset}");
    }
}

#[test]
fn the_contract_states_the_link_url_rule_the_server_applies() {
    use utoipa::OpenApi;
    let spec: Value =
        serde_json::from_str(&herald::openapi::ApiDoc::openapi().to_json().unwrap()).unwrap();
    assert_eq!(
        spec["components"]["schemas"]["LinkInput"]["properties"]["url"]["pattern"],
        herald::api::input::LINK_URL_PATTERN
    );
}

/// YAML 1.1 readers (PyYAML, js-yaml's default schema, Swagger tooling) take a bare
/// `2018-03-01T00:00:00Z` for a timestamp and `yes`/`on` for booleans: none may be left bare,
/// and the YAML must read as the same document as `/openapi.json` (issue 15.8).
#[tokio::test]
async fn the_yaml_reads_as_the_json_for_yaml_1_1_readers_too() {
    let bare = regex::Regex::new(
        r"(?m)(?:: |^\s*- )(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$",
    )
    .unwrap();
    let found: Vec<&str> = bare.find_iter(COMMITTED).map(|m| m.as_str()).collect();
    assert!(
        found.is_empty(),
        "YAML 1.1 would not read these as strings: {found:?}"
    );
    assert!(
        COMMITTED.contains("published_at: '2018-03-01T00:00:00Z'"),
        "the examples are still there, quoted"
    );
    let app = spawn_app().await;
    let json: Value = app.get_json("/openapi.json").await;
    let yaml: Value = yaml_serde::from_str(COMMITTED).unwrap();
    assert_eq!(yaml, json);
}

#[tokio::test]
async fn docs_without_the_slash_redirect_to_the_docs() {
    let app = spawn_app().await;
    let answer = app.raw("GET", "/docs", &[]).await;
    assert_eq!(answer.status, 308);
    let location = answer.header("location").unwrap();
    assert_eq!(
        app.base
            .join("/docs")
            .unwrap()
            .join(location)
            .unwrap()
            .path(),
        "/docs/"
    );
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
}
