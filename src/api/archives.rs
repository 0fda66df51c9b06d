//! RFC 5005 archive documents of the main feed and of each tag's feed: every public item is in
//! exactly one archive of a feed (see `archive` for the partition), and the subscription feeds
//! link to the newest (`prev-archive`; JSON Feed `next_url`). A complete archive is immutable
//! for caches; an edit or a delete still re-renders it with a new ETag.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use utoipa::OpenApi;

use super::feeds::{app_state, feed_title, from_cache};
use super::news::normalise_tag;
use super::read_only;
use crate::archive::{IMMUTABLE, IdRange};
use crate::error::{ApiError, ApiResult, Problem};
use crate::feeds::{Entry, FeedDoc, FeedMeta, Format, History};
use crate::model::NewsItem;
use crate::response_cache::{CacheKey, Rendered};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/archives/{range}/feed.{format}", main_archive))
        .service(read_only(
            "/tags/{tag}/archives/{range}/feed.{format}",
            tag_archive,
        ));
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(paths(main_archive, tag_archive))]
pub struct ArchivesDoc;

/// An archive document of the main feed (RFC 5005): the public items whose id lies in the range.
#[utoipa::path(
    get,
    path = "/archives/{range}/feed.{format}",
    operation_id = "feedArchive",
    tag = "feeds",
    params(
        ("range" = String, Path, pattern = "^[1-9][0-9]*-[1-9][0-9]*$", description = "Item ids `first-last`, as the feeds link them (`prev-archive`, `next-archive`)"),
        ("format" = String, Path, pattern = "^(rss|atom|json)$", description = "`rss`, `atom` or `json`"),
    ),
    responses(
        (status = 200, description = "The archive; `Cache-Control: public, max-age=31536000, immutable` once complete", content(
            (String = "application/rss+xml; charset=utf-8"),
            (String = "application/atom+xml; charset=utf-8"),
            (Object = "application/feed+json"),
        )),
        (status = 404, description = "No such archive or format", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn main_archive(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (range, ext) = path.into_inner();
    serve(app_state(&req)?, &req, None, &range, &ext).await
}

/// An archive document of one tag's feed (RFC 5005).
#[utoipa::path(
    get,
    path = "/tags/{tag}/archives/{range}/feed.{format}",
    operation_id = "tagFeedArchive",
    tag = "feeds",
    params(
        ("tag" = String, Path, description = "The tag"),
        ("range" = String, Path, pattern = "^[1-9][0-9]*-[1-9][0-9]*$", description = "Item ids `first-last`, as the feeds link them"),
        ("format" = String, Path, pattern = "^(rss|atom|json)$", description = "`rss`, `atom` or `json`"),
    ),
    responses(
        (status = 200, description = "The archive; `Cache-Control: public, max-age=31536000, immutable` once complete", content(
            (String = "application/rss+xml; charset=utf-8"),
            (String = "application/atom+xml; charset=utf-8"),
            (Object = "application/feed+json"),
        )),
        (status = 400, description = "The tag is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such archive or format", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn tag_archive(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (tag, range, ext) = path.into_inner();
    serve(app_state(&req)?, &req, Some(tag), &range, &ext).await
}

async fn serve(
    state: &AppState,
    req: &HttpRequest,
    tag: Option<String>,
    range: &str,
    ext: &str,
) -> ApiResult<HttpResponse> {
    let format = Format::from_extension(ext)
        .ok_or_else(|| ApiError::NotFound(format!("no feed format `{ext}`")))?;
    let range =
        IdRange::parse(range).ok_or_else(|| ApiError::NotFound(format!("no archive `{range}`")))?;
    let tag = tag.as_deref().map(normalise_tag).transpose()?;
    let key = CacheKey::Archive { format, tag, range };
    let CacheKey::Archive { tag, .. } = &key else {
        unreachable!("built just above")
    };
    from_cache(state, req, &key, |now| {
        render(state, format, tag.as_deref(), range, now)
    })
    .await
}

/// The RFC 5005 links of a subscription feed (`tag` `None`: the main feed): its newest archive,
/// the one holding the highest id handed out so far.
pub(crate) async fn subscription_history(
    state: &AppState,
    tag: Option<&str>,
    format: Format,
) -> ApiResult<History> {
    let highest = state.store.positions().await?.item_id;
    Ok(History {
        prev_archive: IdRange::holding(highest).map(|r| state.urls.archive(tag, r, format)),
        ..History::default()
    })
}

async fn render(
    state: &AppState,
    format: Format,
    tag: Option<&str>,
    range: IdRange,
    now: DateTime<Utc>,
) -> ApiResult<Rendered> {
    let highest = state.store.positions().await?.item_id;
    if range.first > highest {
        return Err(ApiError::NotFound(format!(
            "no archive `{}` yet",
            range.segment()
        )));
    }
    // Ids are unique, so the first `size` stored items after the range's start include every
    // item of the range.
    let size = u32::try_from(range.size()).expect("archive ranges are small");
    let stored: Vec<NewsItem> = state
        .store
        .export_items(range.first - 1, size)
        .await?
        .into_iter()
        .map(|s| s.item)
        .filter(|i| range.contains(i.id))
        .collect();
    let archive = range.state(&stored, highest, now);
    let mut items: Vec<&NewsItem> = stored
        .iter()
        .filter(|i| i.is_public(now) && tag.is_none_or(|t| i.tags.iter().any(|x| x == t)))
        .collect();
    // The order of the feeds: newest first, id breaking ties.
    items.sort_by_key(|item| std::cmp::Reverse((item.published_at, item.id)));
    let tags: Vec<String> = tag.iter().map(|t| t.to_string()).collect();
    let title = feed_title(state, &tags);
    let self_url = state.urls.archive(tag, range, format);
    let mut doc = FeedDoc::new(
        FeedMeta {
            title: &title,
            subtitle: &state.feed.subtitle,
            author: &state.feed.author,
            home_url: state.urls.base().as_str(),
            self_url: &self_url,
            hub_url: None,
            language: &state.feed.language,
            // A complete archive never changes: dated by its own items only.
            last_change: None,
        },
        items
            .into_iter()
            .map(|item| Entry::new(item, &state.urls))
            .collect(),
    );
    doc.history = History {
        prev_archive: range.previous().map(|r| state.urls.archive(tag, r, format)),
        next_archive: range
            .next(highest)
            .map(|r| state.urls.archive(tag, r, format)),
        current: Some(match tag {
            Some(tag) => state.urls.tag_feed(tag, format),
            None => state.urls.feed(format),
        }),
    };
    let mut rendered = Rendered::new(
        format.render(&doc)?,
        format.content_type(),
        doc.updated,
        archive.next_publication,
    );
    if archive.complete {
        rendered
            .headers
            .push((header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)));
    }
    Ok(rendered)
}
