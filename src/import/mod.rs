//! Bringing existing news into the store. Every importer turns its source into
//! [`SourcedItem`]s whose source keys make re-imports update rather than duplicate.

pub mod atom_feed;
pub mod entry;
pub mod export;
pub mod ghost;
pub mod html;
pub mod jekyll;
pub mod jsonl;
pub mod rss_feed;
pub mod wxr;
pub mod xml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::json;
use url::Url;

use crate::model::{NewsItem, slugify};
use crate::schema::{self, Syntax};
use crate::store::{
    AuthorDraft, DynStore, ImportReport, SourcedItem, StoreError, rules::same_content,
};

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

/// An import's shorthand for an item's image made the schema's: a URL string stands for
/// `{"url": …}`, and an image without alt text gets the item's title (sources seldom have
/// any; a title describes the picture better than nothing).
pub fn image_shorthand(doc: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    let title = doc.get("title").and_then(Value::as_str).map(str::to_owned);
    let Some(image) = doc.get_mut("image") else {
        return;
    };
    if let Value::String(url) = image {
        *image = json!({ "url": url });
    }
    if let (Value::Object(image), Some(title)) = (image, title)
        && image.get("alt").is_none_or(Value::is_null)
    {
        image.insert("alt".to_owned(), Value::from(title));
    }
}

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
        let mut doc = json!({
            "title": entry.title,
            "published_at": crate::feeds::rfc3339(entry.published_at),
            "content_markdown": entry.body,
            "authors": authors,
        });
        if let Some(image) = &page.image {
            // A site-relative path (`/assets/a.jpg`) is resolved against the public URL, as the
            // page's own links are.
            let url = base
                .join(&image.url)
                .map(String::from)
                .unwrap_or_else(|_| image.url.clone());
            doc["image"] = json!({
                "url": url,
                "alt": image.alt.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&entry.title),
            });
            if let Some(caption) = &image.caption {
                doc["image"]["caption"] = json!(caption);
            }
        }
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

/// Imports a JSON Lines file ([`jsonl`]) in transactions of [`BULK_BATCH`] items, with a
/// progress bar on a terminal. A bad line stops the import there; the batches before it are
/// committed, and running the import again after fixing the line finishes the job.
async fn import_jsonl(
    target: &mut Target<'_>,
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
        target.ensure_authors(&bylines, now).await?;
        total += target.import(&batch, now).await?;
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

/// The formats `herald import` reads, for the error about a file it cannot.
pub const KNOWN_FORMATS: &str = "a Jekyll page (.md) or a folder of them, JSON Lines (.jsonl, \
     .ndjson: items, or a `herald export`), a WordPress export (WXR .xml), a Ghost export \
     (.json), an RSS 2.0 or an Atom 1.0 feed file (.xml, .rss, .atom)";

/// What a file holds, found from its name and its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jekyll,
    JsonLines,
    HeraldExport,
    WordPress,
    Ghost,
    Rss,
    Atom,
}

fn unknown(path: &Path, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot import {}: {why}; Herald imports {KNOWN_FORMATS}",
        path.display()
    )
}

/// Reads a file an importer takes whole, within [`xml::MAX_XML_BYTES`].
fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(xml::MAX_XML_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > xml::MAX_XML_BYTES {
        anyhow::bail!(
            "cannot import {}: larger than the {} bytes read whole; split it, or use JSON Lines",
            path.display(),
            xml::MAX_XML_BYTES
        );
    }
    Ok(bytes)
}

/// The format of the file or folder at `path`; an error naming the file and the formats known
/// when it is none of them.
pub fn detect(path: &Path) -> anyhow::Result<Format> {
    if path.is_dir() {
        return if pages(path)?.is_empty() {
            Err(unknown(path, "the folder holds no Markdown page (*.md)"))
        } else {
            Ok(Format::Jekyll)
        };
    }
    if !path.is_file() {
        return Err(unknown(path, "no such file or folder"));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "md" | "markdown" => return Ok(Format::Jekyll),
        "jsonl" | "ndjson" => {
            let mut first = String::new();
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut first).ok();
            return Ok(if export::is_export_header(&first) {
                Format::HeraldExport
            } else {
                Format::JsonLines
            });
        }
        _ => {}
    }
    let bytes = read_bounded(path)?;
    let start = bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&bytes)
        .trim_ascii_start();
    match start.first() {
        Some(b'{') => {
            let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                unknown(path, &format!("line {}: not readable JSON: {e}", e.line()))
            })?;
            if ghost::looks_like(&doc) {
                Ok(Format::Ghost)
            } else {
                Err(unknown(
                    path,
                    "a JSON file that is not a Ghost export (no `db[0].data.posts`)",
                ))
            }
        }
        Some(b'<') => {
            let (_, root) = xml::check(&bytes).map_err(|e| unknown(path, &format!("{e:#}")))?;
            let local = root.name.rsplit(':').next().unwrap_or_default();
            let wordpress = root
                .namespaces
                .iter()
                .any(|(_, uri)| uri.starts_with(wxr::NAMESPACE));
            match local {
                "rss" if wordpress => Ok(Format::WordPress),
                "rss" => Ok(Format::Rss),
                "feed" => Ok(Format::Atom),
                other => Err(unknown(
                    path,
                    &format!("an XML file whose root is <{other}>"),
                )),
            }
        }
        _ => Err(unknown(
            path,
            "neither JSON nor XML, and not named .md or .jsonl",
        )),
    }
}

/// How an import runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Report what would be created, updated and skipped, and write nothing.
    pub dry_run: bool,
}

/// Where imported items go: the store, or (dry run) a comparison with what it holds.
struct Target<'a> {
    store: &'a DynStore,
    /// For a dry run: every item the store holds by source key, as it would be after the
    /// items seen so far.
    planned: Option<HashMap<String, NewsItem>>,
}

impl<'a> Target<'a> {
    async fn new(store: &'a DynStore, options: Options) -> anyhow::Result<Self> {
        let planned = if options.dry_run {
            let mut held = HashMap::new();
            let mut after = 0;
            loop {
                let batch = store.export_items(after, 1000).await?;
                let Some(last) = batch.last() else { break };
                after = last.item.id;
                held.extend(
                    batch
                        .into_iter()
                        .filter_map(|s| Some((s.source_key?, s.item))),
                );
            }
            Some(held)
        } else {
            None
        };
        Ok(Self { store, planned })
    }

    /// Creates the authors an import names, unless this is a dry run.
    async fn ensure_authors(&self, bylines: &Bylines, now: DateTime<Utc>) -> anyhow::Result<()> {
        if self.planned.is_some() {
            return Ok(());
        }
        ensure_authors(self.store, bylines, now).await
    }

    async fn import(
        &mut self,
        items: &[SourcedItem],
        now: DateTime<Utc>,
    ) -> anyhow::Result<ImportReport> {
        let Some(planned) = self.planned.as_mut() else {
            return Ok(self.store.import(items, now).await?);
        };
        let mut report = ImportReport::default();
        for sourced in items {
            let as_stored = |current: Option<&NewsItem>| NewsItem {
                id: current.map_or(0, |c| c.id),
                guid: current.map(|c| c.guid.clone()).unwrap_or_default(),
                slug: sourced.item.draft.slug.clone(),
                title: sourced.item.draft.title.clone(),
                summary: sourced.item.draft.summary.clone(),
                content_markdown: sourced.item.draft.content_markdown.clone(),
                content_html: sourced.item.content_html.clone(),
                status: sourced.item.draft.status,
                published_at: sourced.item.draft.published_at,
                created_at: now,
                updated_at: now,
                links: sourced.item.draft.links.clone(),
                tags: sourced.item.draft.tags.clone(),
                // A dry run compares bylines by slug only.
                authors: sourced
                    .item
                    .draft
                    .authors
                    .iter()
                    .map(|slug| crate::model::Byline {
                        name: String::new(),
                        slug: slug.clone(),
                        url: None,
                        avatar: None,
                    })
                    .collect(),
                image: sourced
                    .item
                    .draft
                    .image
                    .clone()
                    .map(|draft| crate::model::ItemImage {
                        draft,
                        files: Vec::new(),
                    }),
            };
            match planned.get(&sourced.source_key) {
                None => report.created += 1,
                Some(current) if same_content(current, &sourced.item) => {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => report.updated += 1,
            }
            let next = as_stored(planned.get(&sourced.source_key));
            planned.insert(sourced.source_key.clone(), next);
        }
        Ok(report)
    }
}

/// Imports every page at `path` (file or folder), each page in one transaction; a `.jsonl`
/// file is a bulk import ([`import_jsonl`]).
pub async fn import_path(
    store: &DynStore,
    path: &Path,
    base: &Url,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    import_with(store, path, base, now, Options::default()).await
}

/// Imports whatever [`detect`] finds at `path`. A Herald export is restored (into an empty
/// store only) by [`export::restore`], and counts its items as created.
pub async fn import_with(
    store: &DynStore,
    path: &Path,
    base: &Url,
    now: DateTime<Utc>,
    options: Options,
) -> anyhow::Result<ImportReport> {
    let format = detect(path)?;
    let mut target = Target::new(store, options).await?;
    let parsed = match format {
        Format::JsonLines => return import_jsonl(&mut target, path, base, now).await,
        Format::Jekyll => {
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
                target.ensure_authors(&bylines, now).await?;
                total += target.import(&items, now).await?;
            }
            return Ok(total);
        }
        Format::HeraldExport => {
            if options.dry_run {
                anyhow::bail!("a Herald export is restored whole: --dry-run does not apply");
            }
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let counts = export::restore(store, &mut std::io::BufReader::new(file))
                .await
                .with_context(|| format!("cannot restore {}", path.display()))?;
            return Ok(ImportReport {
                created: counts.items as usize,
                ..ImportReport::default()
            });
        }
        Format::Ghost => {
            let doc = serde_json::from_slice(&read_bounded(path)?)?;
            ghost::parse(doc)
        }
        Format::WordPress | Format::Rss | Format::Atom => {
            let bytes = read_bounded(path)?;
            let (text, _) = xml::check(&bytes)?;
            match format {
                Format::WordPress => wxr::parse(text),
                Format::Rss => rss_feed::parse(text),
                _ => atom_feed::parse(text),
            }
        }
    }
    .with_context(|| format!("cannot import {}", path.display()))?;
    let (items, bylines) = entry::to_items(&parsed, base, now)
        .with_context(|| format!("cannot import {}", path.display()))?;
    let progress = indicatif::ProgressBar::new(items.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{wide_bar} {pos}/{len} posts {elapsed}")?,
    );
    let mut total = ImportReport {
        skipped: parsed.skipped.len(),
        ..ImportReport::default()
    };
    target.ensure_authors(&bylines, now).await?;
    for batch in items.chunks(500) {
        total += target.import(batch, now).await?;
        progress.inc(batch.len() as u64);
    }
    progress.finish_and_clear();
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
