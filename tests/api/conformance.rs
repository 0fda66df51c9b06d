//! Regressions found by schemathesis against `openapi.yaml` (see the README): each test pins one
//! real bug so it stays fixed.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

/// RFC 9110 §15.5.6: a 405 must say which methods the resource has.
#[tokio::test]
async fn method_not_allowed_lists_the_allowed_methods() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        ("TRACE", "/healthz", "GET, HEAD"),
        ("TRACE", "/api/v1/news", "GET, HEAD, POST"),
        ("POST", "/api/v1/news/1", "GET, HEAD, PUT, PATCH, DELETE"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_problem(response, 405).await;
    }
}

/// HEAD answers like GET, without a body (read off the wire: clients skip it).
#[tokio::test]
async fn head_works_wherever_get_does() {
    let app = spawn_app().await;
    for path in ["/healthz", "/api/v1/news", "/api/v1/news/1", "/news/1"] {
        let get = app.raw("GET", path, &[]).await;
        assert_eq!(get.status, 200, "GET {path}");
        let head = app.raw("HEAD", path, &[]).await;
        assert_eq!(head.status, 200, "HEAD {path}");
        head.assert_head_of(get.body.len());
    }
}

/// The contract caps `tags` and `links` at 100 entries; the server enforces it.
#[tokio::test]
async fn more_than_a_hundred_tags_or_links_are_rejected() {
    let app = spawn_app().await;
    let token = app.token().await;
    let tags: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    let links: Vec<_> = (0..101)
        .map(|i| json!({"title": "x", "url": format!("https://example.org/{i}")}))
        .collect();
    let response = app
        .client
        .post(app.url("/api/v1/news"))
        .bearer_auth(&token)
        .json(&json!({"title": "Too much", "tags": tags, "links": links}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["links", "tags"]);
    let list = app.get_json("/api/v1/news").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        4,
        "nothing written"
    );
}

/// An empty or malformed `If-Match` is a bad request naming the header, not a version mismatch.
#[tokio::test]
async fn malformed_if_match_is_a_400_not_a_412() {
    let app = spawn_app().await;
    let token = app.token().await;
    for value in ["", "abc", "\"unterminated"] {
        let response = app
            .client
            .patch(app.url("/api/v1/news/1"))
            .bearer_auth(&token)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", value)
            .body(r#"{"summary": "changed"}"#)
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, 400).await;
        assert_eq!(body["errors"][0]["field"], "If-Match", "{value:?}");
    }
    let item = app.get_json("/api/v1/news/1").await;
    assert_eq!(item["summary"], serde_json::Value::Null, "nothing written");
}

/// A merge patch may only name fields of an item, even to remove them.
#[tokio::test]
async fn a_patch_naming_an_unknown_field_is_a_422() {
    let app = spawn_app().await;
    let token = app.token().await;
    let response = app
        .client
        .patch(app.url("/api/v1/news/1"))
        .bearer_auth(&token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"": null, "colour": null}"#)
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, 422).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

/// Link URLs need a host name: the pattern the contract states is the one enforced.
#[tokio::test]
async fn link_urls_without_a_proper_host_are_rejected() {
    let app = spawn_app().await;
    let token = app.token().await;
    for url in [
        "http://A*",
        "http://user@example.org/",
        "https://",
        "ftp://example.org/",
        " https://example.org/",
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/news"))
            .bearer_auth(&token)
            .json(&json!({"title": "Links", "links": [{"title": "x", "url": url}]}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, 422).await;
        assert_eq!(body["errors"][0]["field"], "links[0].url", "{url}");
    }
}
