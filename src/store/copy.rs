//! `herald copy-store`: every row of one store written into another, whatever their engines.

use anyhow::{Context, bail};

use super::{AuthorDraft, DynStore, StoreCounts};

/// Items (and changes) read and written per batch: each batch is one transaction on the target.
const BATCH: u32 = 1000;
/// Media per batch: each carries its files' bytes (up to megabytes).
const MEDIA_BATCH: u32 = 20;

/// What a copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyReport {
    /// What the target held before and `--force` deleted (empty without it).
    pub replaced: StoreCounts,
    /// What both stores hold now.
    pub copied: StoreCounts,
}

/// Copies everything in `from` into `to`: items with their ids, GUIDs, slugs, dates, status,
/// links, tags and source keys; media with their files; tokens (hashes and revocation times); meta;
/// webhooks (secrets included) with their deliveries; the change log and the id and sequence counters, so the target carries on exactly where the source stands.
/// A target holding anything is refused unless `force`, which deletes all of it first. The row
/// counts of both stores are compared at the end: writing to the source meanwhile fails the copy.
pub async fn copy_store(from: &DynStore, to: &DynStore, force: bool) -> anyhow::Result<CopyReport> {
    let replaced = to.counts().await.context("counting the target's rows")?;
    if !replaced.is_empty() {
        if !force {
            bail!(
                "the target store is not empty ({}); pass --force to delete everything in it \
                 and copy over it",
                describe(&replaced)
            );
        }
        to.clear().await.context("emptying the target")?;
    }
    copy_authors(from, to)
        .await
        .context("copying the authors")?;
    // Before the items, whose images name media.
    let mut after = 0;
    loop {
        let media = from.export_media(after, MEDIA_BATCH).await?;
        let Some(last) = media.last() else { break };
        after = last.id;
        to.insert_media(&media)
            .await
            .with_context(|| format!("writing the media up to id {after}"))?;
    }
    let mut after = 0;
    loop {
        let items = from.export_items(after, BATCH).await?;
        let Some(last) = items.last() else { break };
        after = last.item.id;
        to.insert_items(&items)
            .await
            .with_context(|| format!("writing the items up to id {after}"))?;
    }
    to.insert_tokens(&from.export_tokens().await?).await?;
    to.insert_webhooks(&from.export_webhooks().await?)
        .await
        .context("writing the webhooks")?;
    let mut after = 0;
    loop {
        let deliveries = from.export_deliveries(after, BATCH).await?;
        let Some(last) = deliveries.last() else { break };
        after = last.id;
        to.insert_deliveries(&deliveries)
            .await
            .with_context(|| format!("writing the webhook deliveries up to id {after}"))?;
    }
    for (key, value) in from.export_meta().await? {
        to.set_meta(&key, &value).await?;
    }
    let mut seq = 0;
    loop {
        let changes = from.changes_after(seq, BATCH).await?;
        let Some(last) = changes.last() else { break };
        seq = last.seq;
        to.insert_changes(&changes).await?;
    }
    to.advance_positions(from.positions().await?).await?;
    let source = from.counts().await?;
    let copied = to.counts().await?;
    if source != copied {
        bail!(
            "the copy does not match its source (source: {}; copy: {}): was the source written \
             to meanwhile? Stop every writer and run copy-store again with --force",
            describe(&source),
            describe(&copied)
        );
    }
    Ok(CopyReport { replaced, copied })
}

/// Every author with its fields and times (an edit that leaves the byline alone records no
/// change, so setting `updated_at` this way writes nothing else).
async fn copy_authors(from: &DynStore, to: &DynStore) -> anyhow::Result<()> {
    for counted in from.authors(chrono::DateTime::UNIX_EPOCH).await? {
        put_author(to, &counted.author).await?;
    }
    Ok(())
}

/// Writes `a` into `to` as it is: its fields and both its times.
pub async fn put_author(to: &DynStore, a: &super::Author) -> anyhow::Result<()> {
    let draft = AuthorDraft {
        slug: a.slug.clone(),
        name: a.name.clone(),
        bio: a.bio.clone(),
        url: a.url.clone(),
        avatar: a.avatar.clone(),
        email: a.email.clone(),
    };
    let created = to.create_author(&draft, a.created_at).await?;
    if a.updated_at != a.created_at {
        to.update_author(&a.slug, &draft, &created, a.updated_at)
            .await?;
    }
    Ok(())
}

/// `12 items, 20 links, 7 tags, 2 tokens, 3 meta entries, 15 changes, 1 media, 1 webhooks, 4
/// deliveries`.
pub fn describe(counts: &StoreCounts) -> String {
    format!(
        "{} items, {} links, {} tags, {} tokens, {} meta entries, {} changes, {} media, \
         {} webhooks, {} deliveries",
        counts.items,
        counts.links,
        counts.tags,
        counts.tokens,
        counts.meta,
        counts.changes,
        counts.media,
        counts.webhooks,
        counts.deliveries
    )
}
