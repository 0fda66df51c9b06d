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
