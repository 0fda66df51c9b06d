//! The real `herald` binary as operators run it: logs on stderr, signals, `kill -9`, and
//! `herald backup` while a server writes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald::store::{self, ItemKey, Visibility};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Engine, engine, provision, seed_dir, settings_for, spawn_adjusted};

fn herald() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command.env_remove("RUST_LOG").env_remove("DATABASE_URL");
    command
}

/// A `herald serve` child on a free port, its stderr collected line by line.
struct Server {
    child: Child,
    port: u16,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut child = herald()
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .arg("--database-url")
            .arg(database_url)
            .arg("--seed-dir")
            .arg(seed_dir())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("herald starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("serving")
                    && let Some(port) = port_in(&line)
                {
                    let _ = port_tx.send(port);
                }
                kept.lock().unwrap().push(line);
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no `serving` line: {:?}", logs.lock().unwrap()));
        Self { child, port, logs }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to end, at most `within`.
    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < until, "herald still runs after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number after `port` in a log line, text (`port=8080`) or JSON (`"port":8080`).
fn port_in(line: &str) -> Option<u16> {
    let rest = &line[line.find("port")? + 4..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A store for a child process: the engine's own (a SQLite file or a PostgreSQL database),
/// seeded, with an API token made by `herald token create`.
fn store_with_token(dir: &Path) -> (String, String) {
    let settings = settings_for(dir, Some(seed_dir()));
    provision(dir, &settings);
    let url = settings.database_url.expose().to_owned();
    let out = herald()
        .args([
            "token",
            "create",
            "--name",
            "ops-test",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (url, token)
}

#[tokio::test]
async fn json_logs_name_the_request_id_on_every_line_and_never_a_secret() {
    let dir = TempDir::new().unwrap();
    let (url, token) = store_with_token(dir.path());
    let server = Server::start(
        &url,
        &[("HERALD_LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
    );
    let client = reqwest::Client::new();
    let created = client
        .post(server.url("/api/v1/news"))
        .bearer_auth(&token)
        .header("X-Request-Id", "ops-write-1")
        .json(&json!({"title": "Logged write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let bad_token = client
        .get(server.url("/api/v1/news?status=draft"))
        .header("Authorization", "Bearer hrld_not-a-real-token-but-secret")
        .header("X-Request-Id", "ops-bad-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), 401);
    let searched = client
        .get(server.url(
            "/api/v1/news?q=whistleblower+privately&token=sneaky-query-token&preview_token=pv-secret",
        ))
        .header("X-Request-Id", "ops-search")
        .send()
        .await
        .unwrap();
    assert!(searched.status().is_success() || searched.status().is_client_error());
    let long = format!("/api/v1/news?tag={}", "x".repeat(8000));
    client.get(server.url(&long)).send().await.unwrap();
    // Not HTTP at all, and a body cut short by a client that went away.
    let addr = format!("127.0.0.1:{}", server.port);
    for junk in [
        "GARBAGE \u{1} NOT HTTP\r\n\r\n".to_owned(),
        format!(
            "POST /api/v1/news HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"title\""
        ),
    ] {
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        conn.write_all(junk.as_bytes()).await.unwrap();
        conn.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
    }
    server.signal("TERM");
    let mut server = server;
    assert!(server.wait(Duration::from_secs(30)).success());

    let logs = server.logs();
    let mut access = Vec::new();
    for line in &logs {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        if object["target"] == "herald::access" {
            access.push(object);
        }
        for secret in [
            token.as_str(),
            "hrld_not-a-real-token-but-secret",
            "sneaky-query-token",
            "pv-secret",
            "whistleblower",
        ] {
            assert!(!line.contains(secret), "a secret reached the log: {line}");
        }
        assert!(
            line.len() < 4096,
            "an unbounded log line: {} bytes",
            line.len()
        );
    }
    for id in ["ops-write-1", "ops-bad-token", "ops-search"] {
        let line = access
            .iter()
            .find(|a| a["span"]["id"] == id)
            .unwrap_or_else(|| panic!("no access line with request id {id}: {access:?}"));
        assert_eq!(line["level"], "INFO", "{line}");
    }
    // Every line logged while serving a request carries that request's id.
    for line in logs.iter().filter(|l| l.contains("ops-write-1")) {
        let object: Value = serde_json::from_str(line).unwrap();
        assert_eq!(object["span"]["id"], "ops-write-1", "{line}");
    }
    // A malformed or refused request is the client's doing: nothing at ERROR.
    for line in &logs {
        let object: Value = serde_json::from_str(line).unwrap();
        assert_ne!(object["level"], "ERROR", "{line}");
    }
}

/// A write whose body is still arriving when SIGTERM comes is finished and answered; no new
/// connection is taken meanwhile; the process exits 0 with the write-ahead log checkpointed.
#[tokio::test]
async fn sigterm_finishes_a_request_in_flight_then_exits_0() {
    let dir = TempDir::new().unwrap();
    let (url, token) = store_with_token(dir.path());
    let mut server = Server::start(&url, &[("HERALD_SHUTDOWN_TIMEOUT", "20")]);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();

    let body = json!({"title": "Written across a shutdown"}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/news HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal("TERM");
    // Stopped accepting: a new connection is refused (or closed unanswered) from now on.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let refused = match tokio::net::TcpStream::connect(addr).await {
            Err(_) => true,
            Ok(mut probe) => {
                let _ = probe
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await;
                // Left unaccepted in the kernel's queue, or closed unanswered: no answer.
                let mut answer = Vec::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), probe.read_to_end(&mut answer))
                        .await;
                answer.is_empty()
            }
        };
        if refused {
            break;
        }
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    conn.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let status = server.wait(Duration::from_secs(30));
    assert!(status.success(), "{status:?}: {:?}", server.logs());
    if engine() == Engine::Sqlite {
        let wal = dir.path().join("herald.db-wal");
        let left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert_eq!(left, 0, "the write-ahead log was not checkpointed");
    }
    let store = store::connect(&url).await.unwrap();
    let found = store
        .list(&herald::store::ListQuery {
            visibility: Visibility::All,
            limit: 100,
            search: vec![],
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .any(|item| item.title == "Written across a shutdown");
    assert!(found, "the write answered during shutdown is in the store");
}

/// Acknowledged writes survive `kill -9`, round after round: a 201 means committed.
#[tokio::test]
async fn kill_9_under_write_load_loses_no_acknowledged_write() {
    let dir = TempDir::new().unwrap();
    let (url, token) = store_with_token(dir.path());
    let mut acknowledged: Vec<i64> = Vec::new();
    for round in 0..3 {
        let mut server = Server::start(&url, &[]);
        let acked = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::new();
        let mut writers = Vec::new();
        for writer in 0..4 {
            let (client, acked, token) = (client.clone(), acked.clone(), token.clone());
            let endpoint = server.url("/api/v1/news");
            writers.push(tokio::spawn(async move {
                for n in 0..10_000 {
                    let sent = client
                        .post(&endpoint)
                        .bearer_auth(&token)
                        .json(&json!({"title": format!("Round {round} writer {writer} #{n}")}))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(item) = response.json::<Value>().await else {
                        break;
                    };
                    acked.lock().unwrap().push(item["id"].as_i64().unwrap());
                }
            }));
        }
        let until = Instant::now() + Duration::from_secs(30);
        while acked.lock().unwrap().len() < 40 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.signal("KILL");
        server.wait(Duration::from_secs(10));
        for writer in writers {
            writer.await.unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() >= 40,
            "round {round}: only {} writes",
            acked.len()
        );
        acknowledged.extend(acked);

        let store = store::connect(&url).await.unwrap();
        for id in &acknowledged {
            let item = store.get(&ItemKey::Id(*id), Visibility::All).await.unwrap();
            assert!(
                item.is_some(),
                "round {round}: acknowledged item {id} is gone"
            );
        }
    }
}

/// `herald backup PATH` on the store at `database_url`.
fn backup(database_url: &str, target: &Path) -> std::process::Output {
    herald()
        .args(["backup", "--database-url", database_url])
        .arg(target)
        .output()
        .unwrap()
}

#[tokio::test]
async fn backup_copies_a_store_while_it_is_written_and_the_copy_serves() {
    // As many writes as the machine manages: the per-token write limit would cut them off.
    let app = spawn_adjusted(|s| s.integrations.rate_limit_writes = 0).await;
    let dir = TempDir::new().unwrap();
    let target = dir.path().join("backup.db");
    let backup_here = |target: &Path| backup(&app.database_url, target);
    // PostgreSQL: the command says to use pg_dump instead, and fails.
    if engine() == Engine::Postgres {
        let out = backup_here(&target);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    let token = app.token().await;
    let before = app.get_json("/api/v1/news?count=true&limit=1").await["total"]
        .as_i64()
        .unwrap();
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (client, endpoint, token, writing) = (
            app.client.clone(),
            app.url("/api/v1/news"),
            token.clone(),
            writing.clone(),
        );
        tokio::spawn(async move {
            let mut written = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let response = client
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("Written during a backup {written}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                written += 1;
            }
            written
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Through the shell's `herald backup`, on a thread of its own while the writer goes on.
    let out = tokio::task::spawn_blocking({
        let (target, database_url) = (target.clone(), app.database_url.clone());
        move || backup(&database_url, &target)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("integrity_check ok"));
    assert!(written > 0);

    // The copy is a store of its own: at least what was there before, at most what was written.
    let copy_url = format!("sqlite://{}", target.display());
    let copy = store::connect(&copy_url).await.unwrap();
    let total = |s: store::DynStore| async move {
        s.list(&herald::store::ListQuery {
            visibility: Visibility::All,
            limit: 1,
            count: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .total
        .unwrap()
    };
    let copied = total(copy).await;
    assert!(
        copied >= before && copied <= before + written,
        "{before} before, {written} written, {copied} copied"
    );
    // Restore is a copy of the file: a server on it answers.
    let restored = crate::helpers::spawn_configured(Arc::new(dir), {
        let mut settings = settings_for(Path::new("/nonexistent"), None);
        settings.database_url = copy_url.into();
        settings
    })
    .await;
    let public = restored.get_json("/api/v1/news?count=true&limit=1").await;
    assert!(public["total"].as_i64().unwrap() >= before);

    // Never over an existing file.
    let again = backup_here(&target);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
