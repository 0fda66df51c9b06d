//! The full-text index of a new store, built beside it while the import writes the rows.
//!
//! A new store (see [`super::FreshFile`]) used to fill its index in one statement after every
//! row was in: the two took turns on one core, and the index alone is slower than the rows. Here
//! the import hands each committed batch's documents to a task that feeds FTS5 in a side file on
//! its own connection (so on SQLite's other worker thread, and the machine's other core); when
//! the import is done, the index's shadow tables are copied into the store in one pass.
//!
//! Only inserts and updates reach the index this way, which is all an import does. The store
//! still checks the result: an index that does not hold exactly the rows the store holds is
//! thrown away and filled from the rows, as before.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, SqliteConnection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::fts;
use crate::model::NewsItem;
use crate::store::WriteItem;

/// FTS5's shadow tables of a contentless index: all there is to copy.
pub(super) const SHADOW_TABLES: [&str; 4] = [
    "news_fts_data",
    "news_fts_idx",
    "news_fts_docsize",
    "news_fts_config",
];

/// Text gathered before it goes into the index in key order: FTS5 flushes its pending postings
/// whenever a key goes backwards, so each gathering becomes about one segment. About the size
/// of the pending-postings buffer the schema gives FTS5 (`hashsize`, 32 MB).
const GATHER_BYTES: usize = 32 << 20;
/// Documents per multi-row INSERT: 4 values each, well under SQLite's 32,766.
const INSERT_ROWS: usize = 500;
/// Batches in flight between the import and the index: bounds memory if the index falls behind.
const QUEUE: usize = 4;

/// One item's indexed text, under its search key.
pub(super) struct Doc {
    key: i64,
    title: String,
    summary: Option<String>,
    body: String,
}

impl Doc {
    fn new(id: i64, item: &WriteItem) -> Self {
        let d = &item.draft;
        Self {
            key: fts::search_key(d.published_at.timestamp(), id),
            title: d.title.clone(),
            summary: d.summary.clone(),
            body: d.content_markdown.clone(),
        }
    }

    fn stored(item: &NewsItem) -> Self {
        Self {
            key: fts::search_key(item.published_at.timestamp(), item.id),
            title: item.title.clone(),
            summary: item.summary.clone(),
            body: item.content_markdown.clone(),
        }
    }

    fn len(&self) -> usize {
        self.title.len() + self.summary.as_ref().map_or(0, String::len) + self.body.len()
    }
}

pub(super) enum Entry {
    Add(Doc),
    /// A contentless index forgets a document only when given its exact old text.
    Remove(Doc),
}

/// What one import batch did to the index, sent once the batch has committed; a no-op
/// collector when no index is being built.
pub(super) struct Entries(Option<Vec<Entry>>);

impl Entries {
    pub fn for_build(build: Option<&SearchBuild>) -> Self {
        Self(build.map(|_| Vec::new()))
    }

    pub fn added(&mut self, id: i64, item: &WriteItem) {
        if let Some(entries) = &mut self.0 {
            entries.push(Entry::Add(Doc::new(id, item)));
        }
    }

    pub fn replaced(&mut self, old: &NewsItem, item: &WriteItem) {
        if let Some(entries) = &mut self.0 {
            entries.push(Entry::Remove(Doc::stored(old)));
            entries.push(Entry::Add(Doc::new(old.id, item)));
        }
    }

    pub async fn send(self, build: Option<&SearchBuild>) -> anyhow::Result<()> {
        match (self.0, build) {
            (Some(entries), Some(build)) if !entries.is_empty() => build.send(entries).await,
            _ => Ok(()),
        }
    }
}

/// The index as built: where it is, how many documents it holds, and its own time.
pub(super) struct Built {
    pub path: PathBuf,
    pub documents: i64,
    pub busy: Duration,
}

/// What the index task did: documents it holds, and its own time.
struct Filled {
    documents: i64,
    busy: Duration,
}

pub(super) struct SearchBuild {
    path: PathBuf,
    sender: Mutex<Option<mpsc::Sender<Vec<Entry>>>>,
    task: Mutex<Option<JoinHandle<anyhow::Result<Filled>>>>,
}

impl SearchBuild {
    /// Starts an empty index in a new file at `path`, made with `create_sql` (the store's own
    /// definition) and the store's index settings (`config`: FTS5's key/value options).
    pub async fn start(
        path: PathBuf,
        create_sql: &str,
        config: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let _ = std::fs::remove_file(&path);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .locking_mode(SqliteLockingMode::Exclusive);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        sqlx::query(sqlx::AssertSqlSafe(create_sql.to_owned()))
            .execute(&mut conn)
            .await?;
        for (key, value) in config {
            sqlx::query("INSERT INTO news_fts (news_fts, rank) VALUES (?1, ?2)")
                .bind(key)
                .bind(value)
                .execute(&mut conn)
                .await?;
        }
        let (sender, receiver) = mpsc::channel(QUEUE);
        let task = tokio::spawn(fill(conn, receiver));
        Ok(Self {
            path,
            sender: Mutex::new(Some(sender)),
            task: Mutex::new(Some(task)),
        })
    }

    async fn send(&self, entries: Vec<Entry>) -> anyhow::Result<()> {
        let sender = self.sender.lock().expect("not poisoned").clone();
        let Some(sender) = sender else {
            anyhow::bail!("the full-text index is already finished");
        };
        if sender.send(entries).await.is_err() {
            // The task ended early: its error is what `finish` reports.
            anyhow::bail!("the full-text index build stopped");
        }
        Ok(())
    }

    /// Waits for every sent document to be in the index, and closes its file.
    pub async fn finish(&self) -> anyhow::Result<Built> {
        drop(self.sender.lock().expect("not poisoned").take());
        let task = self.task.lock().expect("not poisoned").take();
        let task = task.context("the full-text index is already finished")?;
        let filled = task.await.context("the full-text index build panicked")??;
        Ok(Built {
            path: self.path.clone(),
            documents: filled.documents,
            busy: filled.busy,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The index side: gathers documents, puts them in in key order, all in one transaction (the
/// file has no journal; an unfinished build is thrown away whole).
async fn fill(
    mut conn: SqliteConnection,
    mut receiver: mpsc::Receiver<Vec<Entry>>,
) -> anyhow::Result<Filled> {
    let mut busy = Duration::ZERO;
    let mut documents = 0i64;
    let mut gathered: Vec<Doc> = Vec::new();
    let mut gathered_bytes = 0;
    sqlx::query("PRAGMA cache_size = -131072")
        .execute(&mut conn)
        .await?;
    sqlx::query("BEGIN").execute(&mut conn).await?;
    while let Some(entries) = receiver.recv().await {
        for entry in entries {
            match entry {
                Entry::Add(doc) => {
                    gathered_bytes += doc.len();
                    gathered.push(doc);
                    documents += 1;
                }
                Entry::Remove(doc) => {
                    // The document may still be among the gathered ones.
                    busy += put(&mut conn, &mut gathered).await?;
                    gathered_bytes = 0;
                    let started = Instant::now();
                    sqlx::query(
                        "INSERT INTO news_fts (news_fts, rowid, title, summary, content_markdown) \
                         VALUES ('delete', ?1, ?2, ?3, ?4)",
                    )
                    .bind(doc.key)
                    .bind(doc.title)
                    .bind(doc.summary)
                    .bind(doc.body)
                    .execute(&mut conn)
                    .await?;
                    busy += started.elapsed();
                    documents -= 1;
                }
            }
        }
        if gathered_bytes >= GATHER_BYTES {
            busy += put(&mut conn, &mut gathered).await?;
            gathered_bytes = 0;
        }
    }
    busy += put(&mut conn, &mut gathered).await?;
    let started = Instant::now();
    sqlx::query("COMMIT").execute(&mut conn).await?;
    conn.close().await?;
    busy += started.elapsed();
    Ok(Filled { documents, busy })
}

/// Puts the gathered documents into the index in key order; returns the time it took.
async fn put(conn: &mut SqliteConnection, gathered: &mut Vec<Doc>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    gathered.sort_unstable_by_key(|doc| doc.key);
    for chunk in gathered.chunks(INSERT_ROWS) {
        let mut qb =
            QueryBuilder::new("INSERT INTO news_fts (rowid, title, summary, content_markdown) ");
        qb.push_values(chunk, |mut row, doc| {
            row.push_bind(doc.key)
                .push_bind(doc.title.as_str())
                .push_bind(doc.summary.as_deref())
                .push_bind(doc.body.as_str());
        });
        qb.build().execute(&mut *conn).await?;
    }
    gathered.clear();
    Ok(started.elapsed())
}
