//! WebSub publishing against a local fake hub that records every ping.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use herald::websub::{self, Publisher};
use tokio::sync::{Semaphore, mpsc};
use url::Url;

use crate::helpers::{spawn_adjusted, spawn_app};

/// One request the hub received.
#[derive(Debug)]
pub(crate) struct Ping {
    content_type: String,
    form: Vec<(String, String)>,
}

impl Ping {
    fn feed_url(&self) -> &str {
        assert!(
            self.form.contains(&("hub.mode".into(), "publish".into())),
            "{self:?}"
        );
        let urls: Vec<&str> = self
            .form
            .iter()
            .filter(|(k, _)| k == "hub.url")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(urls.len(), 1, "one hub.url per ping: {self:?}");
        urls[0]
    }
}

struct HubState {
    pings: mpsc::UnboundedSender<Ping>,
    /// Answer 503 to this many requests before accepting.
    failures_left: AtomicUsize,
    /// Each answer waits for a permit, so a test can hold the hub mid-request.
    gate: Arc<Semaphore>,
}

pub(crate) struct FakeHub {
    pub(crate) url: Url,
    pings: mpsc::UnboundedReceiver<Ping>,
    gate: Arc<Semaphore>,
}

impl FakeHub {
    /// `failures`: how many requests fail first; `open`: whether answers flow without permits.
    pub(crate) fn start(failures: usize, open: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(if open {
            Semaphore::MAX_PERMITS
        } else {
            0
        }));
        let state = web::Data::new(HubState {
            pings: tx,
            failures_left: AtomicUsize::new(failures),
            gate: gate.clone(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/hub", listener.local_addr().unwrap())).unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(hub))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url,
            pings: rx,
            gate,
        }
    }

    /// The next ping; a guard against hanging, not a timing assertion.
    pub(crate) async fn next(&mut self) -> Ping {
        tokio::time::timeout(Duration::from_secs(30), self.pings.recv())
            .await
            .expect("the hub was pinged")
            .expect("hub running")
    }

    /// The feed URLs of the next `n` pings, sorted.
    pub(crate) async fn next_urls(&mut self, n: usize) -> Vec<String> {
        let mut urls = Vec::with_capacity(n);
        for _ in 0..n {
            urls.push(self.next().await.feed_url().to_owned());
        }
        urls.sort();
        urls
    }

    /// Every ping received so far (call after the publisher is done).
    pub(crate) fn drain(&mut self) -> Vec<Ping> {
        std::iter::from_fn(|| self.pings.try_recv().ok()).collect()
    }
}

async fn hub(req: HttpRequest, body: web::Bytes, state: web::Data<HubState>) -> HttpResponse {
    let ping = Ping {
        content_type: req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
    };
    state.pings.send(ping).unwrap();
    state.gate.acquire().await.unwrap().forget();
    let failing = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        HttpResponse::ServiceUnavailable().finish()
    } else {
        HttpResponse::NoContent().finish()
    }
}

/// The main feeds and `tag`'s feeds, every format, sorted: what a write to an item with that tag
/// touches.
pub(crate) fn feeds_of_tag(app: &crate::helpers::TestApp, tag: &str) -> Vec<String> {
    let mut urls: Vec<String> = ["feed.atom", "feed.json", "feed.rss"]
        .iter()
        .map(|p| app.url(p))
        .chain(
            ["atom", "json", "rss"]
                .iter()
                .map(|ext| app.url(&format!("tags/{tag}/feed.{ext}"))),
        )
        .collect();
    urls.sort();
    urls
}

fn quick(publisher: Publisher, attempts: u32) -> Publisher {
    publisher.with_retries(attempts, Duration::from_millis(1))
}

#[tokio::test]
async fn publish_returns_at_once_and_the_hub_gets_every_feed_url() {
    let mut hub = FakeHub::start(0, false);
    let feeds = vec![
        "http://news.test/feed.rss".to_owned(),
        "http://news.test/feed.atom".to_owned(),
    ];
    let done = Publisher::new(hub.url.clone())
        .unwrap()
        .publish(feeds.clone())
        .unwrap();

    // The hub holds both requests unanswered, yet publish has already returned.
    let mut seen = vec![hub.next().await, hub.next().await];
    assert!(
        !done.is_finished(),
        "pings wait for the hub, the caller does not"
    );
    hub.gate.add_permits(2);
    done.await.unwrap();

    seen.sort_by(|a, b| a.feed_url().cmp(b.feed_url()));
    assert_eq!(seen[0].feed_url(), feeds[1]);
    assert_eq!(seen[1].feed_url(), feeds[0]);
    for ping in &seen {
        assert_eq!(ping.content_type, "application/x-www-form-urlencoded");
    }
    assert!(
        hub.drain().is_empty(),
        "one ping per feed when the hub accepts"
    );
}

#[tokio::test]
async fn failed_pings_are_retried_until_the_hub_accepts() {
    let mut hub = FakeHub::start(2, true);
    let feed = "http://news.test/feed.rss".to_owned();
    quick(Publisher::new(hub.url.clone()).unwrap(), 5)
        .publish(vec![feed.clone()])
        .unwrap()
        .await
        .unwrap();
    let pings = hub.drain();
    assert_eq!(pings.len(), 3, "two failures, then the accepted ping");
    assert!(pings.iter().all(|p| p.feed_url() == feed));
}

#[tokio::test]
async fn a_hub_that_keeps_failing_is_given_up_after_the_attempts() {
    let mut hub = FakeHub::start(usize::MAX, true);
    quick(Publisher::new(hub.url.clone()).unwrap(), 3)
        .publish(vec!["http://news.test/feed.atom".to_owned()])
        .unwrap()
        .await
        .unwrap();
    assert_eq!(hub.drain().len(), 3);

    // Nobody listening: the task still ends, quietly.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}/hub", closed.local_addr().unwrap())).unwrap();
    drop(closed);
    quick(Publisher::new(url).unwrap(), 2)
        .publish(vec!["http://news.test/feed.atom".to_owned()])
        .unwrap()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_configured_hub_hears_about_every_feed() {
    let mut hub = FakeHub::start(0, true);
    let url = hub.url.clone();
    let app = spawn_adjusted(|s| s.websub_hub = Some(url)).await;
    let hub_client = app.state.websub.as_ref().expect("a hub is configured");
    hub_client
        .publish(websub::feed_urls(&app.state.urls))
        .expect("a runtime runs the pings")
        .await
        .unwrap();
    let mut got: Vec<String> = hub
        .drain()
        .iter()
        .map(|p| p.feed_url().to_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = ["feed.atom", "feed.json", "feed.rss"]
        .iter()
        .map(|p| app.url(p))
        .collect();
    want.sort();
    assert_eq!(got, want);

    // Every committed write reports itself through content_changed, which pings the hub.
    app.state.content_changed();
    let mut got: Vec<String> = Vec::new();
    for _ in 0..3 {
        got.push(hub.next().await.feed_url().to_owned());
    }
    got.sort();
    assert_eq!(got, want);

    let without = spawn_app().await;
    assert!(without.state.websub.is_none());
}

#[test]
fn outside_a_runtime_nothing_is_sent_and_nothing_panics() {
    let publisher = Publisher::new(Url::parse("http://127.0.0.1:9/hub").unwrap()).unwrap();
    assert!(
        publisher
            .publish(vec!["http://news.test/feed.rss".into()])
            .is_none()
    );
}

#[tokio::test]
async fn feeds_advertise_the_hub_and_an_http_write_pings_it() {
    let mut hub = FakeHub::start(0, true);
    let hub_url = hub.url.clone();
    let app = spawn_adjusted(|s| s.websub_hub = Some(hub_url.clone())).await;

    // Subscribers discover the hub next to rel="self" in every format.
    let atom = app.get("/feed.atom").await.text().await.unwrap();
    assert!(
        atom.contains(&format!(r#"<link href="{hub_url}" rel="hub"/>"#)),
        "{atom}"
    );
    let rss = app.get("/feed.rss").await.text().await.unwrap();
    assert!(rss.contains(&format!(r#"href="{hub_url}""#)) && rss.contains(r#"rel="hub""#));
    let json: serde_json::Value = app.get("/feed.json").await.json().await.unwrap();
    assert_eq!(json["hubs"][0]["type"], "WebSub");
    assert_eq!(json["hubs"][0]["url"], hub_url.as_str());

    // A write through the API, not a direct call, reaches the hub for every feed it touches:
    // the main feeds and those of its tags.
    let token = app.token().await;
    let response = app
        .client
        .post(app.url("/api/v1/news"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Pinged", "tags": ["Press"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(hub.next_urls(6).await, feeds_of_tag(&app, "press"));
    // Each is a URL a reader subscribed to: the feed names it as its own rel="self".
    let tag_feed = app.get("/tags/press/feed.atom").await.text().await.unwrap();
    assert!(
        tag_feed.contains(&format!(
            r#"href="{}" rel="self""#,
            app.url("tags/press/feed.atom")
        )),
        "{tag_feed}"
    );
}

#[tokio::test]
async fn a_scheduled_item_going_live_pings_the_hub_once() {
    let mut hub = FakeHub::start(0, true);
    let hub_url = hub.url.clone();
    let app = spawn_adjusted(|s| s.websub_hub = Some(hub_url.clone())).await;
    let token = app.token().await;
    let due = crate::helpers::test_now() + chrono::Duration::hours(1);
    let response = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&serde_json::json!({
            "title": "Later",
            "tags": ["Embargo"],
            "published_at": due.to_rfc3339(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // Nobody can see it yet, so the write itself pings nothing (see the test below).
    tokio::time::sleep(2 * herald::events::WATCH_EVERY).await;
    assert!(
        hub.drain().is_empty(),
        "a scheduled item's tags are not news yet"
    );

    app.clock.set(due);
    assert_eq!(
        hub.next_urls(6).await,
        feeds_of_tag(&app, "embargo"),
        "going live is announced like a write"
    );
    // Several watches later, nothing more: the change was recorded once.
    tokio::time::sleep(4 * herald::events::WATCH_EVERY).await;
    assert!(hub.drain().is_empty(), "announced once");
}

/// A draft's or scheduled item's tags are not public: the hub (and through it the world) must
/// not hear of their feeds until the item is public (issue 12: a draft tagged
/// `acquisition-talks` named that tag's feeds to the public hub).
#[tokio::test]
async fn writes_to_items_nobody_can_see_ping_nothing() {
    let mut hub = FakeHub::start(0, true);
    let hub_url = hub.url.clone();
    let app = spawn_adjusted(|s| s.websub_hub = Some(hub_url.clone())).await;
    let token = app.token().await;
    let later = crate::helpers::test_now() + chrono::Duration::hours(1);
    let mut ids = Vec::new();
    for body in [
        serde_json::json!({"title": "Secret", "tags": ["acquisition-talks"], "status": "draft"}),
        serde_json::json!({"title": "Embargoed", "tags": ["acquisition-talks"], "published_at": later.to_rfc3339()}),
    ] {
        let response = app
            .authed(reqwest::Method::POST, "/api/v1/news", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let item: serde_json::Value = response.json().await.unwrap();
        ids.push(item["id"].as_i64().unwrap());
    }
    // An edit that keeps the draft a draft, and a delete of the scheduled item.
    for (method, id, body) in [
        (
            reqwest::Method::PATCH,
            ids[0],
            serde_json::json!({"tags": ["acquisition-talks", "board"]}),
        ),
        (reqwest::Method::DELETE, ids[1], serde_json::Value::Null),
    ] {
        let mut request = app.authed(method, &format!("/api/v1/news/{id}"), &token);
        if !body.is_null() {
            request = request.json(&body);
        }
        assert!(request.send().await.unwrap().status().is_success());
    }
    tokio::time::sleep(4 * herald::events::WATCH_EVERY).await;
    let leaked: Vec<String> = hub
        .drain()
        .iter()
        .map(|p| p.feed_url().to_owned())
        .collect();
    assert!(leaked.is_empty(), "pinged for hidden items: {leaked:?}");

    // Once public, its feeds are news: the main feeds and every tag's, once.
    let response = app
        .authed(
            reqwest::Method::PATCH,
            &format!("/api/v1/news/{}", ids[0]),
            &token,
        )
        .json(&serde_json::json!({"status": "published"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let mut want = feeds_of_tag(&app, "acquisition-talks");
    want.extend(
        ["atom", "json", "rss"]
            .iter()
            .map(|ext| app.url(&format!("tags/board/feed.{ext}"))),
    );
    want.sort();
    assert_eq!(hub.next_urls(9).await, want);
}
