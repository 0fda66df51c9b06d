//! Bringing existing news into the store. Every importer turns its source into
//! [`SourcedItem`]s whose source keys make re-imports update rather than duplicate.

pub mod jekyll;
pub mod jsonl;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::json;
use url::Url;

use crate::model::slugify;
use crate::schema::{self, Syntax};
use crate::store::{AuthorDraft, DynStore, ImportReport, SourcedItem, StoreError};

/// Authors an import names: each slug with the name to create it under when the store has no
/// such author yet.
pub type Bylines = Vec<(String, String)>;

/// An importer's `authors` (names or slugs) as the slugs items store, noting each in `found`.
pub fn byline_slugs<'a>(
    names: impl IntoIterator<Item = &'a str>,
    found: &mut Bylines,
) -> Vec<String> {
    let mut slugs = Vec::new();
    for name in names {
        let name = name.trim();
        let slug = if schema::is_slug(name) {
            name.to_owned()
        } else {
            slugify(name)
        };
        if !found.iter().any(|(known, _)| *known == slug) {
            found.push((slug.clone(), name.to_owned()));
        }
        if !slugs.contains(&slug) {
            slugs.push(slug);
        }
    }
    slugs
}

/// Creates every author an import names that the store lacks, under the name the source gave
/// (an author that exists is left as it is: imports never rename people).
pub async fn ensure_authors(
    store: &DynStore,
    bylines: &Bylines,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for (slug, name) in bylines {
        if store.author(slug, now).await?.is_some() {
            continue;
        }
        let draft = AuthorDraft {
            slug: slug.clone(),
            name: name.chars().take(200).collect(),
            bio: None,
            url: None,
            avatar: None,
            email: None,
        };
        match store.create_author(&draft, now).await {
            // Another writer created it meanwhile: as good.
            Ok(_) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A page item's fields as the schema reads them: the page gives a title, a date (already read
/// from any of the page's spellings) and a body, nothing else.
const JEKYLL_SYNTAX: Syntax = Syntax {
    required: &["title", "published_at", "content_markdown"],
    read_date: schema::read_rfc3339,
    date_rule: schema::RFC3339_RULE,
    also_accepts: |_| false,
};

/// Turns a Jekyll news page into items. `source` names the page (its file stem) in source keys
/// and errors. An item the schema refuses fails the whole page, naming each broken item by its
/// line and title.
pub fn from_jekyll(text: &str, source: &str, base: &Url) -> anyhow::Result<Vec<SourcedItem>> {
    Ok(from_jekyll_with_authors(text, source, base)?.0)
}

/// [`from_jekyll`], with the authors the page's front matter names (`author` or `authors`,
/// every item of the page by them).
pub fn from_jekyll_with_authors(
    text: &str,
    source: &str,
    base: &Url,
) -> anyhow::Result<(Vec<SourcedItem>, Bylines)> {
    let page = jekyll::parse(text).with_context(|| format!("cannot read `{source}`"))?;
    let mut bylines = Bylines::new();
    let authors = byline_slugs(page.authors.iter().map(String::as_str), &mut bylines);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut items = Vec::with_capacity(page.items.len());
    let mut broken = Vec::new();
    for entry in page.items {
        let doc = json!({
            "title": entry.title,
            "published_at": crate::feeds::rfc3339(entry.published_at),
            "content_markdown": entry.body,
            "authors": authors,
        });
        let doc = doc.as_object().expect("a JSON object");
        // Every page item is given a date, so `now` is never its default.
        let item = match schema::parse(doc, &JEKYLL_SYNTAX, None, entry.published_at, base) {
            Ok(item) => item,
            Err(errors) => {
                let title: String = entry.title.chars().take(60).collect();
                broken.push(format!(
                    "the item at line {} (`{title}`): {}",
                    entry.line,
                    schema::describe(&errors)
                ));
                continue;
            }
        };
        // Title and date identify an item on the page; a twin on the same day gets a suffix.
        let mut key = format!(
            "jekyll:{source}#{}/{}",
            item.draft.published_at.format("%Y-%m-%d"),
            item.draft.slug
        );
        let twins = seen.entry(key.clone()).or_insert(0);
        *twins += 1;
        if *twins > 1 {
            key = format!("{key}-{twins}");
        }
        items.push(SourcedItem {
            source_key: key,
            item,
        });
    }
    if !broken.is_empty() {
        anyhow::bail!("cannot import `{source}`: {}", broken.join("; "));
    }
    Ok((items, bylines))
}

/// The Markdown pages at `path`: the file itself, or every `*.md` file directly inside it.
pub fn pages(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut found = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?
    {
        let p = entry?.path();
        if p.is_file() && p.extension().is_some_and(|e| e == "md") {
            found.push(p);
        }
    }
    found.sort();
    Ok(found)
}

/// Items per transaction in a bulk import: large enough that commits are rare, small enough
/// that a batch is a few megabytes.
const BULK_BATCH: usize = 2000;

fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "jsonl" || e == "ndjson")
}

/// Imports a JSON Lines file ([`jsonl`]) in transactions of [`BULK_BATCH`] items, with a
/// progress bar on a terminal. A bad line stops the import there; the batches before it are
/// committed, and running the import again after fixing the line finishes the job.
pub async fn import_jsonl(
    store: &DynStore,
    path: &Path,
    base: &Url,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata()?.len();
    let progress =
        indicatif::ProgressBar::new(size).with_style(indicatif::ProgressStyle::with_template(
            "{wide_bar} {bytes}/{total_bytes} {elapsed} eta {eta} {msg}",
        )?);
    // Parsing and rendering Markdown run on their own thread while the store writes the
    // previous batch.
    type Batch = (Vec<SourcedItem>, Bylines, u64);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<anyhow::Result<Batch>>(2);
    let base_owned = base.clone();
    let reader = std::thread::spawn(move || {
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let (mut line, mut bytes) = (0, 0);
        loop {
            let mut bylines = Bylines::new();
            let batch = jsonl::read_batch(
                &mut reader,
                BULK_BATCH,
                &base_owned,
                now,
                &mut line,
                &mut bytes,
                &mut bylines,
            );
            let done = matches!(&batch, Ok(b) if b.is_empty()) || batch.is_err();
            if tx
                .blocking_send(batch.map(|b| (b, bylines, bytes)))
                .is_err()
                || done
            {
                return;
            }
        }
    });
    let mut total = ImportReport::default();
    let mut items = 0usize;
    while let Some(batch) = rx.recv().await {
        let (batch, bylines, bytes) = batch?;
        if batch.is_empty() {
            break;
        }
        items += batch.len();
        ensure_authors(store, &bylines, now).await?;
        total += store.import(&batch, now).await?;
        progress.set_position(bytes);
        progress.set_message(format!("{items} items"));
    }
    progress.finish_and_clear();
    drop(rx);
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    Ok(total)
}

/// Imports every page at `path` (file or folder), each page in one transaction; a `.jsonl`
/// file is a bulk import ([`import_jsonl`]).
pub async fn import_path(
    store: &DynStore,
    path: &Path,
    base: &Url,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    if path.is_file() && is_jsonl(path) {
        return import_jsonl(store, path, base, now).await;
    }
    let mut total = ImportReport::default();
    for page in pages(path)? {
        let text = std::fs::read_to_string(&page)
            .with_context(|| format!("cannot read {}", page.display()))?;
        let stem = page
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("page")
            .to_owned();
        let (items, bylines) = from_jekyll_with_authors(&text, &stem, base)?;
        ensure_authors(store, &bylines, now).await?;
        total += store.import(&items, now).await?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores keep whole seconds; an item with a fraction would differ from its stored self on
    /// every re-import.
    #[test]
    fn jekyll_dates_are_whole_seconds_as_stored() {
        let page = "## Launch\n### 2018-03-01T10:00:00.5Z\n\nBody.\n";
        let base = Url::parse("https://news.example/").unwrap();
        let items = from_jekyll(page, "news", &base).unwrap();
        assert_eq!(
            items[0].item.draft.published_at,
            "2018-03-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
