//! `/api/v1/tags` and `count=true` read counts the writes keep: after every kind of write they
//! must equal what counting the listed items gives.

use std::collections::BTreeMap;

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, test_now};

/// Every item the list shows to this viewer (`status` for editors), paged through.
async fn all_listed(app: &TestApp, token: &str, status: Option<&str>) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = match status {
        Some(s) => format!("/api/v1/news?limit=100&status={s}"),
        None => "/api/v1/news?limit=100".to_owned(),
    };
    loop {
        let page: Value = app
            .authed(Method::GET, &path, token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("{}&cursor={cursor}", path.split("&cursor").next().unwrap())
            }
            None => return items,
        }
    }
}

async fn total(app: &TestApp, token: &str, query: &str) -> i64 {
    let page: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/news?limit=1&count=true{query}"),
            token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["total"].as_i64().unwrap()
}

/// The kept counts agree with the listed items, for the public and for editors.
async fn assert_counts_agree(app: &TestApp, token: &str, step: &str) {
    let public = all_listed(app, token, Some("published")).await;
    let mut by_tag: BTreeMap<String, i64> = BTreeMap::new();
    for item in &public {
        for tag in item["tags"].as_array().unwrap() {
            *by_tag.entry(tag.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    let tags: Value = app.get_json("/api/v1/tags").await;
    let listed: BTreeMap<String, i64> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_owned(),
                t["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, by_tag, "{step}: /api/v1/tags");
    let counts: Vec<i64> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_i64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "{step}: most used first"
    );

    assert_eq!(
        total(app, "", "").await,
        public.len() as i64,
        "{step}: public total"
    );
    for (tag, count) in &by_tag {
        assert_eq!(
            total(app, "", &format!("&tag={tag}")).await,
            *count,
            "{step}: tag {tag}"
        );
    }
    for status in ["draft", "scheduled"] {
        let listed = all_listed(app, token, Some(status)).await.len() as i64;
        assert_eq!(
            total(app, token, &format!("&status={status}")).await,
            listed,
            "{step}: {status} total"
        );
    }
}

async fn write(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let mut request = app.authed(method.clone(), path, token);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{method} {path}: {}",
        response.status()
    );
    if response.status() == 204 {
        Value::Null
    } else {
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn kept_counts_follow_every_kind_of_write() {
    let app = spawn_app().await;
    let token = app.token().await;
    assert_counts_agree(&app, &token, "seed").await;

    let news = "/api/v1/news";
    let a = write(
        &app,
        &token,
        Method::POST,
        news,
        json!({"title": "A", "tags": ["press", "launch"]}),
    )
    .await;
    let b = write(
        &app,
        &token,
        Method::POST,
        news,
        json!({"title": "B", "tags": ["press"], "status": "draft"}),
    )
    .await;
    let later = (test_now() + Duration::hours(1)).to_rfc3339();
    let c = write(
        &app,
        &token,
        Method::POST,
        news,
        json!({"title": "C", "tags": ["press", "soon"], "published_at": later}),
    )
    .await;
    assert_counts_agree(&app, &token, "created").await;

    let path = |item: &Value| format!("/api/v1/news/{}", item["id"]);
    write(
        &app,
        &token,
        Method::PATCH,
        &path(&a),
        json!({"tags": ["launch", "people"]}),
    )
    .await;
    assert_counts_agree(&app, &token, "retagged").await;
    write(
        &app,
        &token,
        Method::PATCH,
        &path(&b),
        json!({"status": "published"}),
    )
    .await;
    write(
        &app,
        &token,
        Method::PATCH,
        &path(&a),
        json!({"status": "draft"}),
    )
    .await;
    assert_counts_agree(&app, &token, "status changed").await;
    write(
        &app,
        &token,
        Method::PATCH,
        &path(&b),
        json!({"published_at": later}),
    )
    .await;
    assert_counts_agree(&app, &token, "rescheduled").await;

    app.clock.set(test_now() + Duration::hours(2));
    assert_counts_agree(&app, &token, "scheduled items live").await;

    write(&app, &token, Method::DELETE, &path(&c), Value::Null).await;
    write(&app, &token, Method::DELETE, &path(&a), Value::Null).await;
    assert_counts_agree(&app, &token, "deleted").await;

    app.import_json_lines(&[
        json!({"key": "k1", "title": "Imported", "published_at": "2020-01-01", "content_markdown": "x", "tags": ["press", "bulk"]}),
        json!({"key": "k2", "title": "Imported draft", "published_at": "2020-01-02", "content_markdown": "y", "tags": ["bulk"], "status": "draft"}),
    ])
    .await;
    app.import_json_lines(&[
        json!({"key": "k1", "title": "Imported", "published_at": "2020-01-01", "content_markdown": "x", "tags": ["bulk"]}),
    ])
    .await;
    assert_counts_agree(&app, &token, "imported and re-imported").await;
}
