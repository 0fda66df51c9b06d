//! Ghost's export (Settings → Labs → Export: one JSON file): posts become items (pages and
//! email-only posts are skipped), known by their `uuid`; `published` and `scheduled` posts are
//! published (scheduled ones by their future date), drafts drafts. Tags come through
//! `posts_tags` (internal `#tags` skipped), authors through `posts_authors` (else the post's
//! `author_id`), the `feature_image` is the image, `custom_excerpt` the summary.

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::entry::{Author, Entry, Image, Parsed, parse_date, text_of_html};
use crate::model::Status;

#[derive(Debug, Deserialize)]
struct Export {
    /// Ghost 1 and later wrap the export in `db: [{meta, data}]`; older ones do not.
    #[serde(default)]
    db: Vec<Database>,
    data: Option<Data>,
}

#[derive(Debug, Deserialize)]
struct Database {
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    posts: Vec<Post>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    posts_tags: Vec<PostTag>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    posts_authors: Vec<PostAuthor>,
    #[serde(default)]
    posts_meta: Vec<PostMeta>,
}

/// An id as Ghost writes it: a string (ObjectId) in Ghost 1 and later, a number before.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq, Hash)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

#[derive(Debug, Deserialize)]
struct Post {
    id: Id,
    uuid: Option<String>,
    title: Option<String>,
    slug: Option<String>,
    html: Option<String>,
    feature_image: Option<String>,
    /// Ghost 4 and later keep these in `posts_meta`; earlier exports on the post.
    feature_image_alt: Option<String>,
    feature_image_caption: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Ghost before 2 marked pages with `page: true` instead of a type.
    page: Option<serde_json::Value>,
    status: Option<String>,
    published_at: Option<String>,
    created_at: Option<String>,
    custom_excerpt: Option<String>,
    author_id: Option<Id>,
}

/// Ghost 4's side table of a post's extra fields.
#[derive(Debug, Deserialize)]
struct PostMeta {
    post_id: Id,
    feature_image_alt: Option<String>,
    feature_image_caption: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tag {
    id: Id,
    name: String,
    visibility: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PostTag {
    post_id: Id,
    tag_id: Id,
    #[serde(default)]
    sort_order: i64,
}

#[derive(Debug, Deserialize)]
struct User {
    id: Id,
    name: String,
    email: Option<String>,
    website: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PostAuthor {
    post_id: Id,
    author_id: Id,
    #[serde(default)]
    sort_order: i64,
}

/// Whether a JSON document looks like a Ghost export (has its `db` or `data` with `posts`).
pub fn looks_like(doc: &serde_json::Value) -> bool {
    let data = doc
        .get("db")
        .and_then(|db| db.get(0))
        .and_then(|db| db.get("data"))
        .or_else(|| doc.get("data"));
    data.and_then(|d| d.get("posts"))
        .is_some_and(|p| p.is_array())
}

pub fn parse(doc: serde_json::Value) -> anyhow::Result<Parsed> {
    let export: Export = serde_json::from_value(doc).context("not a Ghost export")?;
    let data = match (export.db.into_iter().next(), export.data) {
        (Some(db), _) => db.data,
        (None, Some(data)) => data,
        (None, None) => bail!("not a Ghost export: no `db[0].data` or `data`"),
    };
    let tags: HashMap<&Id, &Tag> = data.tags.iter().map(|t| (&t.id, t)).collect();
    let users: HashMap<&Id, &User> = data.users.iter().map(|u| (&u.id, u)).collect();
    let mut post_tags: Vec<&PostTag> = data.posts_tags.iter().collect();
    post_tags.sort_by_key(|pt| pt.sort_order);
    let mut post_authors: Vec<&PostAuthor> = data.posts_authors.iter().collect();
    post_authors.sort_by_key(|pa| pa.sort_order);
    let author = |id: &Id| {
        users.get(id).map(|u| Author {
            name: u.name.clone(),
            email: u.email.clone(),
            url: u.website.clone(),
        })
    };
    let mut parsed = Parsed::default();
    for post in &data.posts {
        let title = post.title.as_deref().unwrap_or_default().trim().to_owned();
        let is_page = post.kind.as_deref() == Some("page")
            || matches!(post.page, Some(serde_json::Value::Bool(true)))
            || post.page.as_ref().and_then(serde_json::Value::as_i64) == Some(1);
        if is_page {
            parsed.skip(format!("`{title}`: a page, not a post"));
            continue;
        }
        let status = match post.status.as_deref().unwrap_or("published") {
            "published" | "scheduled" => Status::Published,
            "draft" => Status::Draft,
            other => {
                parsed.skip(format!("`{title}`: status `{other}`"));
                continue;
            }
        };
        let key = match (&post.uuid, &post.id) {
            (Some(uuid), _) if !uuid.trim().is_empty() => format!("ghost:{}", uuid.trim()),
            (_, Id::Text(id)) => format!("ghost:id:{id}"),
            (_, Id::Number(id)) => format!("ghost:id:{id}"),
        };
        if title.is_empty() {
            parsed.skip(format!("{key}: no title"));
            continue;
        }
        // A draft was never published: the day it was begun stands in.
        let Some(published_at) = [&post.published_at, &post.created_at]
            .into_iter()
            .flatten()
            .find_map(|d| parse_date(d))
        else {
            parsed.skip(format!("`{title}`: no readable date"));
            continue;
        };
        let mut authors: Vec<Author> = post_authors
            .iter()
            .filter(|pa| pa.post_id == post.id)
            .filter_map(|pa| author(&pa.author_id))
            .collect();
        if authors.is_empty() {
            authors.extend(post.author_id.as_ref().and_then(author));
        }
        parsed.entries.push(Entry {
            key,
            title,
            slug: post.slug.clone(),
            summary: post.custom_excerpt.clone(),
            html: post.html.clone().unwrap_or_default(),
            published_at,
            status,
            tags: post_tags
                .iter()
                .filter(|pt| pt.post_id == post.id)
                .filter_map(|pt| tags.get(&pt.tag_id))
                .filter(|t| t.visibility.as_deref() != Some("internal") && !t.name.starts_with('#'))
                .map(|t| t.name.trim().to_owned())
                .collect(),
            authors,
            image: post.feature_image.as_ref().map(|url| {
                let meta = data.posts_meta.iter().find(|m| m.post_id == post.id);
                Image {
                    url: url.clone(),
                    alt: meta
                        .and_then(|m| m.feature_image_alt.clone())
                        .or_else(|| post.feature_image_alt.clone()),
                    caption: meta
                        .and_then(|m| m.feature_image_caption.clone())
                        .or_else(|| post.feature_image_caption.clone())
                        // Ghost stores a caption as HTML (`Photo by <a …>Ada</a>`).
                        .map(|c| text_of_html(&c)),
                    credit: None,
                }
            }),
        });
    }
    Ok(parsed)
}
