//! The database going away and coming back, on PostgreSQL: a server started before its database
//! waits for it; one whose database goes away answers 503 with `Retry-After` (never a hang or a
//! 500), keeps serving the feeds it has rendered, and resumes by itself. The outage is a TCP
//! proxy in front of the test's database that the test cuts and restores, so no cluster is
//! stopped and every wait is bounded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald::startup::Application;
use reqwest::Method;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use url::Url;

use crate::helpers::{Engine, TestApp, assert_problem, runs_on, spawn_app};
use crate::replicas::spawn_replica;

/// Long enough for a loaded machine, short enough that a hang fails the test instead of CI.
const BOUND: Duration = Duration::from_secs(30);

/// Forwards connections to the database while up; while down, closes every open one and hangs
/// up on new ones at once, as a database that went away does.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr, up: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(up));
        let connections = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let (state, open) = (up.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !state.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            up,
            connections,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// `database_url` with its host and port replaced by the proxy's.
    fn url_for(&self, database_url: &str) -> String {
        let mut url = Url::parse(database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }
}

/// Where the test's database server listens.
fn database_addr(database_url: &str) -> SocketAddr {
    let url = Url::parse(database_url).unwrap();
    let host = url.host_str().unwrap();
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{}", url.port().unwrap_or(5432))
        .parse()
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .unwrap()
}

/// A request while the database is away: 503 problem+json with `Retry-After`, within the
/// bound (the pool gives up after `--db-timeout`).
async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.headers()["retry-after"], "5");
    let problem = assert_problem(response, 503).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("unavailable"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_database_that_goes_away_gives_503s_and_service_resumes_when_it_is_back() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let app = spawn_app().await;
    let token = app.token().await;
    let proxy = Proxy::start(database_addr(&app.database_url), true).await;
    let replica = spawn_replica(&app, |s| {
        s.database_url = proxy.url_for(&app.database_url).into();
        s.pool.timeout = Duration::from_secs(1);
    })
    .await;
    let feed = get(&replica, "/feed.atom").await;
    assert_eq!(feed.status(), 200);
    let feed = feed.text().await.unwrap();

    proxy.cut();
    let started = Instant::now();
    assert_unavailable(get(&replica, "/api/v1/news").await).await;
    assert_unavailable(get(&replica, "/healthz").await).await;
    let write = replica
        .client
        .request(Method::POST, format!("http://{}/api/v1/news", replica.addr))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Lost"}))
        .send()
        .await
        .unwrap();
    assert_unavailable(write).await;
    assert!(started.elapsed() < BOUND, "answered, not hung");
    // What is rendered already needs no database.
    let cached = get(&replica, "/feed.atom").await;
    assert_eq!(cached.status(), 200);
    assert_eq!(cached.text().await.unwrap(), feed);

    proxy.restore();
    let restored = Instant::now();
    loop {
        let response = get(&replica, "/api/v1/news").await;
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(restored.elapsed() < BOUND, "service did not resume");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get(&replica, "/healthz").await.status(), 200);
}

#[tokio::test]
async fn serve_waits_for_a_database_that_is_not_up_yet() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let app = spawn_app().await;
    let proxy = Proxy::start(database_addr(&app.database_url), false).await;
    let mut settings = crate::helpers::settings_for(tempfile::TempDir::new().unwrap().path(), None);
    settings.database_url = proxy.url_for(&app.database_url).into();
    settings.public_url = Some(app.base.clone());
    let starting = tokio::spawn(Application::build(settings));
    // Several tries later, still waiting rather than exited.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !starting.is_finished(),
        "serve gave up on a database that is not up yet"
    );

    proxy.restore();
    let started = tokio::time::timeout(BOUND, starting)
        .await
        .expect("serve starts once the database is up")
        .unwrap()
        .expect("app starts");
    let addr = SocketAddr::from(([127, 0, 0, 1], started.port()));
    tokio::spawn(started.run_until_stopped());
    let response = reqwest::get(format!("http://{addr}/api/v1/news"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
