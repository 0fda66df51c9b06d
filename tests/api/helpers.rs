//! Starting Herald for a test: a spawned server on port 0 for end-to-end paths, or the same
//! app in-process through `actix_web::test`.
//!
//! Tests write through HTTP or `herald::import`; fixtures that need the store go through
//! [`TestApp::seed_items`] here, on the `Store` trait every engine implements, so the suite
//! runs unchanged on either engine. It runs on SQLite, one file per test, unless
//! `HERALD_TEST_POSTGRES` names a PostgreSQL server (`postgres://user@host:port`): then every
//! test gets a fresh database on it. Checks for one engine only say so and start with
//! [`runs_on`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use herald::clock::{Clock, ManualClock};
use herald::config::Settings;
use herald::model::NewsItem;
use herald::startup::{Application, prepare_store};
use herald::state::AppState;
use herald::store::{self, ImportReport, ItemKey, SourcedItem, Visibility};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    /// Where the server listens (differs from `base` when a test sets a public URL).
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: web::Data<AppState>,
    pub database_url: String,
    /// `/metrics`' own port, when the settings gave it an address of its own.
    pub metrics_port: Option<u16>,
    handle: actix_web::dev::ServerHandle,
    dir: Arc<TempDir>,
}

impl Drop for TestApp {
    /// A PostgreSQL database goes with the last server on its directory (a test that keeps the
    /// directory to restart on it keeps the database; one left behind goes at the next run).
    fn drop(&mut self) {
        if Arc::strong_count(&self.dir) == 1 {
            postgres::drop_database_of(self.dir.path());
        }
    }
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

    /// A webhook subscription for `body` whose secret was then rotated once, so it holds both a
    /// current and a previous secret; its creation answer.
    pub async fn webhook_with_rotated_secret(
        &self,
        token: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        // To this server's own address: `authed` goes to the public URL, which a test may set
        // to a name that does not resolve.
        let post = |path: String| {
            self.client
                .post(format!("http://{}{path}", self.addr))
                .bearer_auth(token)
        };
        let created = post("/api/v1/webhooks".to_owned())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let hook: serde_json::Value = created.json().await.unwrap();
        let rotated = post(format!("/api/v1/webhooks/{}/rotate-secret", hook["id"]))
            .send()
            .await
            .unwrap();
        assert_eq!(rotated.status(), 200);
        hook
    }

    /// `method path` sent over a bare connection, so the answer is every byte the server wrote
    /// (see [`raw_http`]).
    pub async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        raw_http(self.addr, method, path, headers).await
    }

    /// Stores fixture items (created, or updated by source key) through the `Store` trait, which
    /// every engine implements, and tells the service its content changed, as a write does.
    /// Only for what the HTTP API cannot write: content it refuses on purpose (hostile text,
    /// relative links as an importer keeps them); anything else goes through HTTP or
    /// [`TestApp::import`].
    pub async fn seed_items(&self, items: &[SourcedItem]) -> ImportReport {
        let report = self
            .state
            .store
            .import(items, self.clock.now())
            .await
            .unwrap();
        self.state.content_changed();
        report
    }

    /// Imports a Jekyll page, a folder of them, or a JSON Lines file, as `herald import` does,
    /// and tells the service its content changed.
    pub async fn import(&self, path: &Path) -> ImportReport {
        let report =
            herald::import::import_path(&self.state.store, path, &self.base, self.clock.now())
                .await
                .unwrap();
        self.state.content_changed();
        report
    }

    /// Imports items given as JSON Lines values (see the README's bulk format).
    pub async fn import_json_lines(&self, lines: &[serde_json::Value]) -> ImportReport {
        let dir = TempDir::new().unwrap();
        let file = dir.path().join("items.jsonl");
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        std::fs::write(&file, text).unwrap();
        self.import(&file).await
    }

    /// The item with `slug` as stored, drafts included: for what no answer shows (its `guid`
    /// is only in feeds, which this checks them against).
    pub async fn stored_item(&self, slug: &str) -> NewsItem {
        self.state
            .store
            .get(&ItemKey::Slug(slug.to_owned()), Visibility::All)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no item `{slug}`"))
    }

    /// A token that was issued as `name` and then revoked, as `herald token revoke` does.
    pub async fn revoked_token(&self, name: &str) -> String {
        let token = herald::auth::issue(&self.state.store, name, self.clock.now())
            .await
            .unwrap();
        self.state
            .store
            .revoke_token(name, self.clock.now())
            .await
            .unwrap();
        token
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Rows in `table`, which no answer shows (links and tags rows left behind), with raw SQL
    /// on the test's database, whichever the engine.
    pub async fn row_count(&self, table: &str) -> i64 {
        let sql = match table {
            "news_items" => "SELECT count(*)::int8 FROM news_items",
            "news_links" => "SELECT count(*)::int8 FROM news_links",
            "news_tags" => "SELECT count(*)::int8 FROM news_tags",
            other => panic!("unknown table {other}"),
        };
        if store::is_postgres_url(&self.database_url) {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        } else {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            let sql = sqlx::AssertSqlSafe(sql.replace("::int8", ""));
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

/// The engines the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The environment variable naming the PostgreSQL server to test on.
pub const POSTGRES_VAR: &str = "HERALD_TEST_POSTGRES";

/// The engine this run tests: PostgreSQL when [`POSTGRES_VAR`] is set, else SQLite.
pub fn engine() -> Engine {
    if postgres::server().is_some() {
        Engine::Postgres
    } else {
        Engine::Sqlite
    }
}

/// Whether a check for `engine` only runs in this run; a check that does not, says so on
/// stderr (past the test harness's capture, so the line shows in a normal run).
pub fn runs_on(only: Engine) -> bool {
    use std::io::Write;
    if engine() == only {
        return true;
    }
    let current = std::thread::current();
    let _ = writeln!(
        std::io::stderr(),
        "{} is {only:?}-only: not run, this run tests {:?}",
        current.name().unwrap_or("a check"),
        engine()
    );
    false
}

/// How long a raw exchange may take before the server is taken to have hung (no EOF although
/// the request said `Connection: close`).
const RAW_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 answer exactly as it came over the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// Every byte after the header block up to EOF, unframed: whatever the server sent.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of header `name` (any case); panics if it is sent twice.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        let mut values = self.headers.iter().filter(|(n, _)| *n == name);
        let value = values.next().map(|(_, v)| v.as_str());
        assert!(
            values.next().is_none(),
            "`{name}` sent twice: {:?}",
            self.headers
        );
        value
    }

    /// A HEAD answer: no body, and a `Content-Length`, if any, that is the GET's (RFC 9110
    /// §9.3.2 lets HEAD carry the length a GET would send).
    pub fn assert_head_of(&self, get_length: usize) {
        if let Some(fault) = self.head_fault(get_length) {
            panic!("{fault}");
        }
    }

    /// What is wrong with this as the answer to a HEAD whose GET sends `get_length` bytes.
    pub fn head_fault(&self, get_length: usize) -> Option<String> {
        if !self.body.is_empty() {
            return Some(format!(
                "HEAD answered with a body: {:?}",
                String::from_utf8_lossy(&self.body)
            ));
        }
        self.header("content-length")
            .filter(|length| *length != get_length.to_string())
            .map(|length| format!("HEAD Content-Length {length}, the GET's is {get_length}"))
    }

    /// A 204 or 304 answer: no body, and no `Content-Length` other than 0 (RFC 9110 §8.6).
    pub fn assert_no_content(&self) {
        if let Some(fault) = self.no_content_fault() {
            panic!("{fault}");
        }
    }

    /// What is wrong with this as a 204 or 304 answer.
    pub fn no_content_fault(&self) -> Option<String> {
        let status = self.status;
        if !matches!(status, 204 | 304) {
            return Some(format!("{status} is not a bodiless status"));
        }
        if !self.body.is_empty() {
            return Some(format!(
                "{status} answered with a body: {:?}",
                String::from_utf8_lossy(&self.body)
            ));
        }
        self.header("content-length")
            .filter(|length| *length != "0")
            .map(|length| format!("{status} with Content-Length {length}"))
    }
}

/// Sends one request on a fresh connection with `Connection: close` and reads the answer to
/// EOF. HTTP clients never read a body after HEAD, 204 or 304 (the status says there is none),
/// so only this shows that the server really sent none: the stray bytes would otherwise be
/// misread as the next answer on a kept-alive connection.
pub async fn raw_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await?;
        std::io::Result::Ok(bytes)
    };
    let bytes = tokio::time::timeout(RAW_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no EOF within {RAW_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    parse_raw(&bytes).unwrap_or_else(|| {
        panic!(
            "{method} {path}: not an HTTP/1.1 answer: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

fn parse_raw(bytes: &[u8]) -> Option<RawResponse> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect::<Option<_>>()?;
    Some(RawResponse {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    })
}

pub fn settings_for(dir: &Path, seed: Option<PathBuf>) -> Settings {
    let database_url = match postgres::server() {
        Some(server) => format!("{server}/{}", postgres::database_of(dir)),
        None => format!("sqlite://{}", database_file(dir).display()),
    };
    Settings {
        database_url: database_url.into(),
        bind: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        seed_dir: seed,
        // Tests make a few requests each and run many servers at once: one worker is plenty.
        workers: Some(1),
        ..Settings::default()
    }
}

fn database_file(dir: &Path) -> PathBuf {
    dir.join("herald.db")
}

/// The public URL templates are rendered against. Every spawned server has its own port, so its
/// start-up re-renders the seed's bodies: measured at 3–5 ms a start, against about 15 ms for
/// migrating and importing the seed from scratch. (A fixed public URL would save those few ms
/// but make every link a test follows point away from the server.)
const TEMPLATE_BASE: &str = "http://template.test/";

/// A migrated database, `seeded` from the project's seed or empty, built once per test binary
/// and kept as the bytes of one self-contained SQLite file.
fn template(seeded: bool) -> &'static [u8] {
    static SEEDED: OnceLock<Vec<u8>> = OnceLock::new();
    static EMPTY: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = if seeded { &SEEDED } else { &EMPTY };
    cell.get_or_init(|| {
        let seed = seeded.then(seed_dir);
        // Its own runtime on its own thread: the store's pool must not outlive the test whose
        // runtime happened to build the template.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(build_sqlite_template(seed))
        })
        .join()
        .expect("the template database builds")
    })
}

/// Migrates and seeds the database at `database_url` as a server's start-up does.
async fn build_template(database_url: String, seed: Option<PathBuf>) {
    let settings = Settings {
        database_url: database_url.into(),
        seed_dir: seed,
        ..Settings::default()
    };
    let store = store::connect(settings.database_url.expose())
        .await
        .unwrap();
    let clock = ManualClock::new(test_now());
    prepare_store(
        &store,
        &settings,
        &Url::parse(TEMPLATE_BASE).unwrap(),
        &clock,
    )
    .await
    .unwrap();
}

async fn build_sqlite_template(seed: Option<PathBuf>) -> Vec<u8> {
    use sqlx::Connection;
    let dir = TempDir::new().unwrap();
    let database_url = format!("sqlite://{}", database_file(dir.path()).display());
    build_template(database_url.clone(), seed).await;
    // VACUUM INTO writes one file with every committed page, nothing left in a `-wal`.
    let file = dir.path().join("template.db");
    let mut conn = sqlx::SqliteConnection::connect(&database_url)
        .await
        .unwrap();
    sqlx::query("VACUUM INTO ?1")
        .bind(file.to_str().unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    std::fs::read(&file).unwrap()
}

/// Puts the matching template in `dir` unless a database is already there (a restart).
/// Only the project's seed has a template; other seed folders, and databases other than the
/// one `settings_for(dir)` names, start from scratch.
pub fn provision(dir: &Path, settings: &Settings) {
    if postgres::server().is_some() {
        postgres::provision(dir, settings);
        return;
    }
    let file = database_file(dir);
    let uses_file = settings.database_url.expose() == format!("sqlite://{}", file.display());
    let seed = settings.seed_dir.as_deref();
    if !uses_file || file.exists() || seed.is_some_and(|s| s != seed_dir()) {
        return;
    }
    std::fs::write(&file, template(seed.is_some())).unwrap();
}

/// The same templates on PostgreSQL: template databases built once per test binary, and a
/// database per test directory copied from one (`CREATE DATABASE … TEMPLATE`).
mod postgres {
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::path::Path;
    use std::sync::{Mutex, OnceLock};

    use herald::config::Settings;
    use sqlx::{Connection, PgConnection};

    use super::{POSTGRES_VAR, build_template, seed_dir};

    /// The server URL from [`POSTGRES_VAR`], without a trailing `/`.
    pub fn server() -> Option<&'static str> {
        static SERVER: OnceLock<Option<String>> = OnceLock::new();
        SERVER
            .get_or_init(|| {
                let url = std::env::var(POSTGRES_VAR).ok()?;
                let url = url.trim().trim_end_matches('/');
                (!url.is_empty()).then(|| url.to_owned())
            })
            .as_deref()
    }

    /// Names of this process's databases start with this, so a later run can tell them from its
    /// own and drop them.
    fn run_prefix() -> String {
        format!("herald_test_{}_", std::process::id())
    }

    /// The database of test directory `dir`.
    pub fn database_of(dir: &Path) -> String {
        let mut hasher = DefaultHasher::new();
        dir.hash(&mut hasher);
        format!("{}{:016x}", run_prefix(), hasher.finish())
    }

    /// Runs `work` on a connection to the server's `postgres` database, on a thread and runtime
    /// of its own (callers are sync, inside a test's runtime).
    fn admin<T: Send + 'static>(
        work: impl AsyncFnOnce(&mut PgConnection) -> T + Send + 'static,
    ) -> T {
        let url = format!("{}/postgres", server().expect("a PostgreSQL run"));
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let mut conn = PgConnection::connect(&url)
                        .await
                        .unwrap_or_else(|e| panic!("{POSTGRES_VAR}: cannot connect: {e}"));
                    let out = work(&mut conn).await;
                    let _ = conn.close().await;
                    out
                })
        })
        .join()
        .expect("the PostgreSQL admin work succeeds")
    }

    async fn execute(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(conn)
            .await
            .map(drop)
    }

    /// The template database, migrated and `seeded` from the project's seed or empty, built
    /// once per test binary (after dropping what earlier runs left behind).
    fn template(seeded: bool) -> &'static str {
        static SEEDED: OnceLock<String> = OnceLock::new();
        static EMPTY: OnceLock<String> = OnceLock::new();
        static BUILDING: Mutex<()> = Mutex::new(());
        let cell = if seeded { &SEEDED } else { &EMPTY };
        cell.get_or_init(|| {
            let _one_at_a_time = BUILDING.lock().unwrap();
            drop_leftovers();
            let name = format!(
                "{}template_{}",
                run_prefix(),
                if seeded { "seeded" } else { "empty" }
            );
            let create = name.clone();
            admin(async move |conn| {
                execute(conn, format!("DROP DATABASE IF EXISTS \"{create}\""))
                    .await
                    .unwrap();
                execute(conn, format!("CREATE DATABASE \"{create}\""))
                    .await
                    .unwrap();
            });
            let url = format!("{}/{name}", server().unwrap());
            let seed = seeded.then(seed_dir);
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(build_template(url, seed))
            })
            .join()
            .expect("the template database builds");
            name
        })
    }

    /// Drops the databases of earlier runs (never this run's); one still in use stays.
    fn drop_leftovers() {
        static DONE: OnceLock<()> = OnceLock::new();
        DONE.get_or_init(|| {
            let ours = run_prefix();
            admin(async move |conn| {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'herald\\_test\\_%'",
                )
                .fetch_all(&mut *conn)
                .await
                .unwrap();
                for name in names.iter().filter(|n| !n.starts_with(&ours)) {
                    let _ = execute(conn, format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
                }
            });
        });
    }

    /// Creates the database `settings` names for `dir` from the matching template, unless this
    /// directory has one already (a restart). Only the project's seed has a template; other
    /// seed folders get an empty database, and the server migrates and seeds it.
    pub fn provision(dir: &Path, settings: &Settings) {
        let name = database_of(dir);
        let own = settings.database_url.expose() == format!("{}/{name}", server().unwrap());
        let marker = dir.join("postgres-database");
        if !own || marker.exists() {
            return;
        }
        let seed = settings.seed_dir.as_deref();
        let template = match seed {
            None => Some(template(false)),
            Some(s) if s == seed_dir() => Some(template(true)),
            Some(_) => None,
        };
        admin(async move |conn| {
            execute(conn, format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await
                .unwrap();
            let from = template
                .map(|t| format!(" TEMPLATE \"{t}\""))
                .unwrap_or_default();
            execute(conn, format!("CREATE DATABASE \"{name}\"{from}"))
                .await
                .unwrap();
        });
        std::fs::write(marker, b"").unwrap();
    }

    /// Drops the database of `dir`, if this run made one, closing its connections.
    pub fn drop_database_of(dir: &Path) {
        if server().is_none() || !dir.join("postgres-database").exists() {
            return;
        }
        let name = database_of(dir);
        admin(async move |conn| {
            let _ = execute(
                conn,
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
        });
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
    provision(dir.path(), &settings);
    let clock = Arc::new(ManualClock::new(test_now()));
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("app starts");
    let base = app.public_url().clone();
    let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
    let state = app.state();
    let handle = app.handle();
    let metrics_port = app.metrics_port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        addr,
        client: reqwest::Client::new(),
        clock,
        state,
        database_url: settings.database_url.expose().to_owned(),
        metrics_port,
        handle,
        dir,
    }
}

/// State for in-process tests; keep the returned directory alive as long as the state.
pub async fn in_process_state() -> (web::Data<AppState>, Arc<ManualClock>, TempDir) {
    let dir = TempDir::new().unwrap();
    let settings = settings_for(dir.path(), Some(seed_dir()));
    provision(dir.path(), &settings);
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

/// The raw helper must see what a server really sends, or the checks built on it pass whatever
/// the server does: fake servers send what Herald must not, and the checks catch it.
mod raw_http_checks {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::raw_http;

    /// A server on a free port answering every request with `answer`, then closing.
    async fn fake_server(answer: &'static str) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn bodies_after_304_and_204_are_seen_although_clients_skip_them() {
        for (method, answer, status) in [
            (
                "GET",
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello",
                304,
            ),
            (
                "DELETE",
                "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
                204,
            ),
        ] {
            let addr = fake_server(answer).await;
            let response = raw_http(addr, method, "/", &[]).await;
            assert_eq!(response.status, status);
            assert_eq!(response.header("content-length"), Some("5"));
            assert_eq!(response.body, b"hello");
            assert_eq!(
                response.no_content_fault().unwrap(),
                format!("{status} answered with a body: \"hello\"")
            );
            // What the checks this helper replaced saw: nothing, so they could not fail.
            let skipped = reqwest::Client::new()
                .request(method.parse().unwrap(), format!("http://{addr}/"))
                .send()
                .await
                .unwrap();
            assert_eq!(skipped.status(), status);
            assert!(skipped.bytes().await.unwrap().is_empty());
        }
        // A length other than 0 is wrong even without the bytes.
        let addr = fake_server("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n").await;
        let response = raw_http(addr, "DELETE", "/", &[]).await;
        assert!(response.body.is_empty());
        assert_eq!(
            response.no_content_fault().unwrap(),
            "204 with Content-Length 3"
        );
        let addr = fake_server("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n").await;
        raw_http(addr, "GET", "/", &[]).await.assert_no_content();
    }

    #[tokio::test]
    async fn a_body_or_a_wrong_length_after_head_is_seen() {
        let addr = fake_server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        let response = raw_http(addr, "HEAD", "/", &[]).await;
        assert_eq!(response.body, b"hello");
        assert_eq!(
            response.head_fault(5).unwrap(),
            "HEAD answered with a body: \"hello\""
        );

        let addr = fake_server("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n").await;
        let response = raw_http(addr, "HEAD", "/", &[]).await;
        assert!(response.body.is_empty());
        assert_eq!(
            response.head_fault(5).unwrap(),
            "HEAD Content-Length 7, the GET's is 5"
        );
        response.assert_head_of(7);

        // No length at all is allowed.
        let addr = fake_server("HTTP/1.1 200 OK\r\n\r\n").await;
        raw_http(addr, "HEAD", "/", &[]).await.assert_head_of(5);
    }
}
