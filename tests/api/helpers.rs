//! Starting Herald for a test: a spawned server on port 0 for end-to-end paths, or the same
//! app in-process through `actix_web::test`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};
use herald::clock::{Clock, ManualClock};
use herald::config::Settings;
use herald::startup::{Application, prepare_store};
use herald::state::AppState;
use herald::store;
use tempfile::TempDir;
use url::Url;

pub fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed")
}

/// The fixed "now" of tests: after every seed item.
pub fn test_now() -> DateTime<Utc> {
    "2026-01-01T12:00:00Z".parse().unwrap()
}

pub struct TestApp {
    /// Base URL of the running server, ending in `/`.
    pub base: Url,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: web::Data<AppState>,
    pub database_url: String,
    handle: actix_web::dev::ServerHandle,
    _dir: Arc<TempDir>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        self.base
            .join(path.trim_start_matches('/'))
            .unwrap()
            .to_string()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// A fresh, active API token (made the way `herald token create` makes one).
    pub async fn token(&self) -> String {
        let name = format!("test-{}", uuid::Uuid::new_v4());
        herald::auth::issue(&self.state.store, &name, self.clock.now())
            .await
            .unwrap()
    }

    /// A request to `path` carrying `Authorization: Bearer <token>`.
    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

pub fn settings_for(dir: &Path, seed: Option<PathBuf>) -> Settings {
    Settings {
        database_url: format!("sqlite://{}", dir.join("herald.db").display()).into(),
        bind: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        seed_dir: seed,
        ..Settings::default()
    }
}

/// A real server on a free port, seeded from the project's `seed/`.
pub async fn spawn_app() -> TestApp {
    spawn_with(Arc::new(TempDir::new().unwrap()), Some(seed_dir())).await
}

/// A real server on the database in `dir` (so a test can restart on the same file).
pub async fn spawn_with(dir: Arc<TempDir>, seed: Option<PathBuf>) -> TestApp {
    let settings = settings_for(dir.path(), seed);
    spawn_configured(dir, settings).await
}

/// A seeded server on a fresh database, with settings adjusted by `adjust`.
pub async fn spawn_adjusted(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), Some(seed_dir()));
    adjust(&mut settings);
    spawn_configured(dir, settings).await
}

/// A real server with exactly these settings, its database in `dir`.
pub async fn spawn_configured(dir: Arc<TempDir>, settings: Settings) -> TestApp {
    let clock = Arc::new(ManualClock::new(test_now()));
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("app starts");
    let base = app.public_url().clone();
    let state = app.state();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        client: reqwest::Client::new(),
        clock,
        state,
        database_url: settings.database_url.expose().to_owned(),
        handle,
        _dir: dir,
    }
}

/// State for in-process tests; keep the returned directory alive as long as the state.
pub async fn in_process_state() -> (web::Data<AppState>, Arc<ManualClock>, TempDir) {
    let dir = TempDir::new().unwrap();
    let settings = settings_for(dir.path(), Some(seed_dir()));
    let base = Url::parse("http://news.test/").unwrap();
    let clock = Arc::new(ManualClock::new(test_now()));
    let store = store::connect(settings.database_url.expose())
        .await
        .unwrap();
    prepare_store(&store, &settings, &base, clock.as_ref())
        .await
        .unwrap();
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    (
        web::Data::new(AppState::new(store, base, clock_dyn)),
        clock,
        dir,
    )
}

/// A Jekyll page with `n` generated items, one a day from 2000-01-01.
pub fn generated_page(n: usize, prefix: &str) -> String {
    let mut page = String::from("---\ntitle: Generated\n---\n\n");
    let start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    for i in 0..n {
        let day = start + chrono::Duration::days(i as i64);
        page.push_str(&format!(
            "## {prefix} item {i}\n### {}\n\nBody of {prefix} {i} with [a link](https://example.org/{prefix}/{i}).\n\n---\n\n",
            day.format("%Y-%m-%d")
        ));
    }
    page
}

/// The ids of a list page's items, in order.
pub fn item_ids(body: &serde_json::Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// Asserts an RFC 9457 problem response and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string());
    assert!(body["title"].is_string());
    assert!(body["detail"].is_string());
    body
}
