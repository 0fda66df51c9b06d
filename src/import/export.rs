//! `herald export`: the whole store as JSON Lines, which `herald import` restores into an empty
//! store exactly as it was (ids, GUIDs, slugs, times, stored HTML, source keys, media with
//! their files, tokens as hashes, meta, webhooks with their secrets and deliveries, the change log
//! and the id counters), so every answer and feed comes out byte
//! for byte the same.
//!
//! The first line names the format (`{"type":"herald-export","version":1}`), the last one
//! (`{"type":"end",…}`) carries the row counts, so a truncated file is refused rather than
//! restored in part. Every line between is one row: `author`, `medium`, `item`, `token`,
//! `meta`, `webhook`, `delivery`, `change` or `positions`.

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Byline, ImageDraft, ImageSource, ItemImage, Link, NewsItem, Status};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::store::media::MediaFileData;
use crate::store::{
    Change, ChangeKind, DynStore, Positions, StoreCounts, StoredDelivery, StoredItem, StoredMedium,
    StoredToken, StoredWebhook,
};

/// Rows read and written per batch (one transaction each on restore).
const BATCH: u32 = 1000;
/// Media read per batch: each carries its files' bytes.
const MEDIA_BATCH: u32 = 20;

pub const VERSION: u32 = 1;

/// The first line of every export, which is how `herald import` tells one from a bulk file.
pub fn is_export_header(line: &str) -> bool {
    serde_json::from_str::<Record>(line).is_ok_and(|r| matches!(r, Record::Header { .. }))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    #[serde(rename = "herald-export")]
    Header {
        version: u32,
    },
    Author(AuthorRecord),
    Medium(Box<MediumRecord>),
    Item(Box<ItemRecord>),
    Token(TokenRecord),
    Meta {
        key: String,
        value: String,
    },
    Change(ChangeRecord),
    /// A webhook subscription as stored, secrets included (signing needs them).
    Webhook(StoredWebhook),
    /// A webhook delivery as stored, after its subscription.
    Delivery(StoredDelivery),
    Positions {
        item_id: i64,
        change_seq: i64,
        /// Absent from exports made before webhooks moved with them.
        #[serde(default)]
        webhook_id: i64,
        #[serde(default)]
        delivery_id: i64,
    },
    End(Counts),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemRecord {
    id: i64,
    guid: String,
    slug: String,
    title: String,
    summary: Option<String>,
    content_markdown: String,
    content_html: String,
    status: Status,
    published_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    links: Vec<Link>,
    tags: Vec<String>,
    /// Author slugs, in byline order (the authors come earlier in the export).
    #[serde(default)]
    authors: Vec<String>,
    /// The item's image: a medium by id (the media come with the store's own copy) or a URL.
    #[serde(default)]
    image: Option<ImageRecord>,
    source_key: Option<String>,
}

/// An uploaded medium with every file's bytes (base64), so a round trip keeps `/media/…`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediumRecord {
    id: i64,
    source_hash: String,
    /// The media type (`type` names the row).
    media_type: String,
    width: i64,
    height: i64,
    bytes: i64,
    created_at: DateTime<Utc>,
    files: Vec<MediaFileRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaFileRecord {
    path: String,
    original: bool,
    #[serde(rename = "type")]
    kind: String,
    width: i64,
    height: i64,
    /// Standard base64 of the file.
    data: String,
}

impl From<StoredMedium> for MediumRecord {
    fn from(m: StoredMedium) -> Self {
        Self {
            id: m.id,
            source_hash: m.source_hash,
            media_type: m.kind,
            width: m.width,
            height: m.height,
            bytes: m.bytes,
            created_at: m.created_at,
            files: m
                .files
                .into_iter()
                .map(|f| MediaFileRecord {
                    path: f.path,
                    original: f.original,
                    kind: f.kind,
                    width: f.width,
                    height: f.height,
                    data: STANDARD.encode(f.data),
                })
                .collect(),
        }
    }
}

impl MediumRecord {
    fn into_stored(self) -> anyhow::Result<StoredMedium> {
        let files = self
            .files
            .into_iter()
            .map(|f| {
                Ok(MediaFileData {
                    data: STANDARD
                        .decode(&f.data)
                        .with_context(|| format!("file `{}`: `data` is not base64", f.path))?,
                    path: f.path,
                    original: f.original,
                    kind: f.kind,
                    width: f.width,
                    height: f.height,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(StoredMedium {
            id: self.id,
            source_hash: self.source_hash,
            kind: self.media_type,
            width: self.width,
            height: self.height,
            bytes: self.bytes,
            created_at: self.created_at,
            files,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageRecord {
    media_id: Option<i64>,
    url: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    alt: String,
    caption: Option<String>,
    credit: Option<String>,
}

impl From<ImageDraft> for ImageRecord {
    fn from(d: ImageDraft) -> Self {
        let (media_id, url, width, height) = match d.source {
            ImageSource::Media(id) => (Some(id), None, None, None),
            ImageSource::Url { url, width, height } => (None, Some(url), width, height),
        };
        Self {
            media_id,
            url,
            width,
            height,
            alt: d.alt,
            caption: d.caption,
            credit: d.credit,
        }
    }
}

impl ImageRecord {
    fn into_image(self) -> anyhow::Result<ItemImage> {
        let source = match (self.media_id, self.url) {
            (Some(id), None) => ImageSource::Media(id),
            (None, Some(url)) => ImageSource::Url {
                url,
                width: self.width,
                height: self.height,
            },
            _ => anyhow::bail!("an image needs exactly one of `media_id` and `url`"),
        };
        Ok(ItemImage {
            draft: ImageDraft {
                source,
                alt: self.alt,
                caption: self.caption,
                credit: self.credit,
            },
            files: Vec::new(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorRecord {
    slug: String,
    name: String,
    bio: Option<String>,
    url: Option<String>,
    avatar: Option<String>,
    email: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRecord {
    name: String,
    /// The SHA-256 of the secret, as stored; the secret itself is never kept anywhere.
    hash: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    prefix: Option<String>,
    scopes: String,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRecord {
    seq: i64,
    kind: String,
    item_id: i64,
    tags: Vec<String>,
    was_public: bool,
    is_public: bool,
    at: DateTime<Utc>,
}

#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counts {
    #[serde(default)]
    authors: i64,
    #[serde(default)]
    media: i64,
    items: i64,
    tokens: i64,
    meta: i64,
    changes: i64,
    #[serde(default)]
    webhooks: i64,
    #[serde(default)]
    deliveries: i64,
}

/// The rows an export line counts, as a store counts them (links and tags travel inside their
/// items, so an export does not count them).
impl From<&Counts> for StoreCounts {
    fn from(c: &Counts) -> Self {
        StoreCounts {
            items: c.items,
            tokens: c.tokens,
            meta: c.meta,
            changes: c.changes,
            media: c.media,
            webhooks: c.webhooks,
            deliveries: c.deliveries,
            ..StoreCounts::default()
        }
    }
}

impl From<StoredItem> for ItemRecord {
    fn from(stored: StoredItem) -> Self {
        let i = stored.item;
        Self {
            id: i.id,
            guid: i.guid,
            slug: i.slug,
            title: i.title,
            summary: i.summary,
            content_markdown: i.content_markdown,
            content_html: i.content_html,
            status: i.status,
            published_at: i.published_at,
            created_at: i.created_at,
            updated_at: i.updated_at,
            links: i.links,
            tags: i.tags,
            authors: i.authors.into_iter().map(|a| a.slug).collect(),
            image: i.image.map(|image| image.draft.into()),
            source_key: stored.source_key,
        }
    }
}

impl TryFrom<ItemRecord> for StoredItem {
    type Error = anyhow::Error;

    fn try_from(r: ItemRecord) -> anyhow::Result<Self> {
        let image = r.image.map(ImageRecord::into_image).transpose()?;
        Ok(StoredItem {
            item: NewsItem {
                id: r.id,
                guid: r.guid,
                slug: r.slug,
                title: r.title,
                summary: r.summary,
                content_markdown: r.content_markdown,
                content_html: r.content_html,
                status: r.status,
                published_at: r.published_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
                links: r.links,
                tags: r.tags,
                // Only the slug is written back; the rest of a byline is the author's record.
                authors: r
                    .authors
                    .into_iter()
                    .map(|slug| Byline {
                        name: String::new(),
                        slug,
                        url: None,
                        avatar: None,
                    })
                    .collect(),
                image,
            },
            source_key: r.source_key,
        })
    }
}

fn line(out: &mut impl Write, record: &Record) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Writes every row of `store` to `out`; returns what was written. Stop writers first for a
/// consistent export: rows written meanwhile may or may not be in it.
pub async fn write(store: &DynStore, out: &mut impl Write) -> anyhow::Result<StoreCounts> {
    let mut counts = Counts::default();
    line(out, &Record::Header { version: VERSION })?;
    // Authors first: a restored item's byline names an author that must already be there.
    for counted in store.authors(DateTime::UNIX_EPOCH).await? {
        counts.authors += 1;
        let a = counted.author;
        let record = AuthorRecord {
            slug: a.slug,
            name: a.name,
            bio: a.bio,
            url: a.url,
            avatar: a.avatar,
            email: a.email,
            created_at: a.created_at,
            updated_at: a.updated_at,
        };
        line(out, &Record::Author(record))?;
    }
    // Media before items, whose images name them.
    let mut after = 0;
    loop {
        let media = store.export_media(after, MEDIA_BATCH).await?;
        let Some(last) = media.last() else { break };
        after = last.id;
        for medium in media {
            counts.media += 1;
            line(out, &Record::Medium(Box::new(medium.into())))?;
        }
    }
    let mut after = 0;
    loop {
        let items = store.export_items(after, BATCH).await?;
        let Some(last) = items.last() else { break };
        after = last.item.id;
        for item in items {
            counts.items += 1;
            line(out, &Record::Item(Box::new(item.into())))?;
        }
    }
    for t in store.export_tokens().await? {
        counts.tokens += 1;
        let record = TokenRecord {
            name: t.name,
            hash: t.hash,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
            prefix: t.prefix,
            scopes: t.scopes,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        };
        line(out, &Record::Token(record))?;
    }
    for (key, value) in store.export_meta().await? {
        counts.meta += 1;
        line(out, &Record::Meta { key, value })?;
    }
    for webhook in store.export_webhooks().await? {
        counts.webhooks += 1;
        line(out, &Record::Webhook(webhook))?;
    }
    let mut after = 0;
    loop {
        let deliveries = store.export_deliveries(after, BATCH).await?;
        let Some(last) = deliveries.last() else { break };
        after = last.id;
        for delivery in deliveries {
            counts.deliveries += 1;
            line(out, &Record::Delivery(delivery))?;
        }
    }
    let mut seq = 0;
    loop {
        let changes = store.changes_after(seq, BATCH).await?;
        let Some(last) = changes.last() else { break };
        seq = last.seq;
        for c in changes {
            counts.changes += 1;
            let record = ChangeRecord {
                seq: c.seq,
                kind: c.kind.as_str().to_owned(),
                item_id: c.item_id,
                tags: c.tags,
                was_public: c.was_public,
                is_public: c.is_public,
                at: c.at,
            };
            line(out, &Record::Change(record))?;
        }
    }
    let positions = store.positions().await?;
    line(
        out,
        &Record::Positions {
            item_id: positions.item_id,
            change_seq: positions.change_seq,
            webhook_id: positions.webhook_id,
            delivery_id: positions.delivery_id,
        },
    )?;
    let written = StoreCounts::from(&counts);
    line(out, &Record::End(counts))?;
    out.flush()?;
    Ok(written)
}

/// Rows waiting to be written, flushed a batch at a time.
#[derive(Default)]
struct Pending {
    items: Vec<StoredItem>,
    changes: Vec<Change>,
    deliveries: Vec<StoredDelivery>,
}

/// Restores an export into `store`, which must hold no items, tokens, webhooks or changes. Its meta
/// (such as the public URL a fresh store records) is replaced by the export's, so the store
/// is exactly the exported one. Errors name the line.
pub async fn restore(store: &DynStore, reader: &mut impl BufRead) -> anyhow::Result<StoreCounts> {
    let held = store.counts().await?;
    if held.items + held.tokens + held.changes + held.webhooks > 0 {
        bail!(
            "an export is restored only into an empty store, and this one holds {}",
            crate::store::copy::describe(&held)
        );
    }
    store.clear().await?;
    let mut counts = Counts::default();
    let mut pending = Pending::default();
    let mut text = String::new();
    let mut number = 0usize;
    let mut ended = None;
    loop {
        text.clear();
        if reader.read_line(&mut text)? == 0 {
            break;
        }
        number += 1;
        if text.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&text)
            .with_context(|| format!("line {number}: not a Herald export row"))?;
        if ended.is_some() {
            bail!("line {number}: rows after the end line");
        }
        match record {
            Record::Header { version } if number == 1 && version == VERSION => {}
            Record::Header { version } => {
                bail!(
                    "line {number}: an export header (version {version}) out of place; this Herald reads version {VERSION} at line 1"
                )
            }
            _ if number == 1 => bail!("line 1: not a Herald export header"),
            Record::Item(item) => {
                counts.items += 1;
                pending
                    .items
                    .push(StoredItem::try_from(*item).with_context(|| format!("line {number}"))?);
            }
            Record::Token(t) => {
                counts.tokens += 1;
                let token = StoredToken {
                    name: t.name,
                    hash: t.hash,
                    created_at: t.created_at,
                    revoked_at: t.revoked_at,
                    prefix: t.prefix,
                    scopes: t.scopes,
                    expires_at: t.expires_at,
                    last_used_at: t.last_used_at,
                };
                store.insert_tokens(&[token]).await?;
            }
            Record::Author(a) => {
                counts.authors += 1;
                let author = crate::store::Author {
                    slug: a.slug,
                    name: a.name,
                    bio: a.bio,
                    url: a.url,
                    avatar: a.avatar,
                    email: a.email,
                    created_at: a.created_at,
                    updated_at: a.updated_at,
                };
                crate::store::copy::put_author(store, &author)
                    .await
                    .with_context(|| format!("line {number}: author `{}`", author.slug))?;
            }
            Record::Medium(m) => {
                counts.media += 1;
                let medium = m
                    .into_stored()
                    .with_context(|| format!("line {number}: a medium"))?;
                store
                    .insert_media(&[medium])
                    .await
                    .with_context(|| format!("line {number}: a medium"))?;
            }
            Record::Meta { key, value } => {
                counts.meta += 1;
                store.set_meta(&key, &value).await?;
            }
            Record::Change(c) => {
                counts.changes += 1;
                let kind = ChangeKind::parse(&c.kind).with_context(|| {
                    format!("line {number}: `kind` `{}` is not a kind of change", c.kind)
                })?;
                pending.changes.push(Change {
                    seq: c.seq,
                    kind,
                    item_id: c.item_id,
                    tags: c.tags,
                    was_public: c.was_public,
                    is_public: c.is_public,
                    at: c.at,
                });
            }
            Record::Webhook(webhook) => {
                counts.webhooks += 1;
                store
                    .insert_webhooks(&[webhook])
                    .await
                    .with_context(|| format!("line {number}: a webhook"))?;
            }
            Record::Delivery(delivery) => {
                counts.deliveries += 1;
                pending.deliveries.push(delivery);
            }
            Record::Positions {
                item_id,
                change_seq,
                webhook_id,
                delivery_id,
            } => {
                flush(store, &mut pending, true).await?;
                store
                    .advance_positions(Positions {
                        item_id,
                        change_seq,
                        webhook_id,
                        delivery_id,
                    })
                    .await?;
            }
            Record::End(expected) => ended = Some((number, expected)),
        }
        flush(store, &mut pending, false).await?;
    }
    let Some((at, expected)) = ended else {
        bail!("the export ends at line {number} without its end line: it is truncated");
    };
    flush(store, &mut pending, true).await?;
    if expected != counts {
        bail!("line {at}: the end line counts {expected:?} but the file holds {counts:?}");
    }
    Ok((&counts).into())
}

async fn flush(store: &DynStore, pending: &mut Pending, all: bool) -> anyhow::Result<()> {
    let full = |n: usize| n > 0 && (all || n >= BATCH as usize);
    if full(pending.items.len()) {
        store
            .insert_items(&std::mem::take(&mut pending.items))
            .await?;
    }
    if full(pending.deliveries.len()) {
        store
            .insert_deliveries(&std::mem::take(&mut pending.deliveries))
            .await?;
    }
    if full(pending.changes.len()) {
        store
            .insert_changes(&std::mem::take(&mut pending.changes))
            .await?;
    }
    Ok(())
}
