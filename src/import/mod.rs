//! Bringing existing news into the store. Every importer turns its source into
//! [`SourcedItem`]s whose source keys make re-imports update rather than duplicate.

pub mod jekyll;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use url::Url;

use crate::markdown;
use crate::model::{ItemDraft, Status, slugify};
use crate::store::{DynStore, ImportReport, SourcedItem, WriteItem};

/// Turns a Jekyll news page into items. `source` names the page (its file stem) in source keys.
pub fn from_jekyll(text: &str, source: &str, base: &Url) -> anyhow::Result<Vec<SourcedItem>> {
    let page = jekyll::parse(text).with_context(|| format!("cannot read `{source}`"))?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    Ok(page
        .items
        .into_iter()
        .map(|item| {
            let slug = slugify(&item.title);
            // Title and date identify an item on the page; a twin on the same day gets a suffix.
            let mut key = format!(
                "jekyll:{source}#{}/{slug}",
                item.published_at.format("%Y-%m-%d")
            );
            let twins = seen.entry(key.clone()).or_insert(0);
            *twins += 1;
            if *twins > 1 {
                key = format!("{key}-{twins}");
            }
            let draft = ItemDraft {
                slug,
                links: markdown::links(&item.body),
                title: item.title,
                summary: None,
                content_markdown: item.body,
                status: Status::Published,
                published_at: item.published_at,
                tags: Vec::new(),
            };
            SourcedItem {
                source_key: key,
                item: WriteItem::render(draft, base),
            }
        })
        .collect())
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

/// Imports every page at `path` (file or folder), each page in one transaction.
pub async fn import_path(
    store: &DynStore,
    path: &Path,
    base: &Url,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    let mut total = ImportReport::default();
    for page in pages(path)? {
        let text = std::fs::read_to_string(&page)
            .with_context(|| format!("cannot read {}", page.display()))?;
        let stem = page
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("page")
            .to_owned();
        let items = from_jekyll(&text, &stem, base)?;
        let report = store.import(&items, now).await?;
        total.created += report.created;
        total.updated += report.updated;
        total.unchanged += report.unchanged;
    }
    Ok(total)
}
