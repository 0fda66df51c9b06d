//! Feed endpoints. Every feed is a list query: the JSON API's list parameters (`tag`, and any
//! filter added there) parse into the same [`ListQuery`], so a saved search is a subscription.
//! Bodies come from the feed cache; this module only finds the right one.

use actix_web::{HttpRequest, HttpResponse, guard, web};
use chrono::{DateTime, Utc};

use super::news::{ListParams, normalise_tag};
use super::not_allowed;
use crate::error::{ApiError, ApiResult};
use crate::feeds::cache::{FeedKey, Rendered};
use crate::feeds::{Entry, FeedDoc, FeedMeta, Format};
use crate::http_cache;
use crate::state::AppState;
use crate::store::{ListQuery, Visibility};

/// GET, and HEAD (the HTTP/1 codec leaves the body out): feeds sit outside the caching
/// middleware that maps HEAD to GET for every other route.
fn read() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Feed URLs, including the ones migrated sites already hand out (jekyll-feed's `/feed.xml`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    for (path, format) in [
        ("/feed.rss", Format::Rss),
        ("/rss.xml", Format::Rss),
        ("/feed.atom", Format::Atom),
        ("/feed.xml", Format::Atom),
        ("/atom.xml", Format::Atom),
        ("/feed.json", Format::Json),
    ] {
        cfg.service(
            web::resource(path)
                .route(read().to(move |req: HttpRequest| feed(req, format)))
                .default_service(not_allowed("GET, HEAD")),
        );
    }
    cfg.service(
        web::resource("/tags/{tag}/feed.{format}")
            .route(read().to(tag_feed))
            .default_service(not_allowed("GET, HEAD")),
    );
}

/// The state, borrowed: extracting `web::Data` would clone its `Arc`, a reference count every
/// worker writes on every request.
fn app_state(req: &HttpRequest) -> ApiResult<&AppState> {
    req.app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))
}

async fn feed(req: HttpRequest, format: Format) -> ApiResult<HttpResponse> {
    serve(app_state(&req)?, &req, format, None).await
}

async fn tag_feed(req: HttpRequest, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (tag, ext) = path.into_inner();
    let format = Format::from_extension(&ext)
        .ok_or_else(|| ApiError::NotFound(format!("no feed format `{ext}`")))?;
    serve(app_state(&req)?, &req, format, Some(tag)).await
}

async fn serve(
    state: &AppState,
    req: &HttpRequest,
    format: Format,
    path_tag: Option<String>,
) -> ApiResult<HttpResponse> {
    let path_tag = path_tag.as_deref().map(normalise_tag).transpose()?;
    let query = feed_query(req.query_string(), path_tag.as_deref(), state.feed.size)?;
    let mut self_path = match &path_tag {
        None => format.file_name().to_owned(),
        Some(tag) => tag_path(state, tag, format),
    };
    let filters = self_query(req.query_string(), path_tag.as_deref(), &query);
    if !filters.is_empty() {
        self_path.push('?');
        self_path.push_str(&filters);
    }
    let key = FeedKey {
        format,
        query,
        self_path,
    };
    state
        .feeds
        .serve(
            state,
            &key,
            |now| render(state, &key, now),
            |rep, cache_control| http_cache::respond(req, rep, cache_control),
        )
        .await
}

/// The list query of a feed URL, normalised so equal feeds share one cache entry: the JSON
/// API's parameters plus the path's tag, the newest `size` items, no cursor (paging parameters
/// are accepted but a feed is always the newest items), visibility filled in at render time.
fn feed_query(query: &str, path_tag: Option<&str>, size: u32) -> ApiResult<ListQuery> {
    let mut params = ListParams::parse(query)?;
    if let Some(tag) = path_tag
        && !params.tags.iter().any(|t| t == tag)
    {
        params.tags.push(tag.to_owned());
    }
    // A feed is always the first page, whole items, no count.
    params.cursor = None;
    let mut query = params.query(Visibility::Public {
        now: DateTime::UNIX_EPOCH,
    })?;
    query.limit = size;
    query.count = false;
    query.tags.sort();
    Ok(query)
}

/// `tags/{tag}/feed.{ext}` with the tag percent-encoded as a path segment.
pub(crate) fn tag_path(state: &AppState, tag: &str, format: Format) -> String {
    let mut url = state.public_url.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend(["tags", tag, format.file_name()]);
    }
    url.as_str()
        .strip_prefix(state.public_url.as_str())
        .unwrap_or(format.file_name())
        .to_owned()
}

/// The query string of the feed's own URL: only the parameters that change what it lists,
/// sorted. Whatever the list API ignores (cache-busters, tracking, paging, repeats) is left out,
/// so such URLs share the canonical feed's cache entry instead of rendering one each. Each
/// parameter is dropped if the query without it means the same, so filters added to
/// `ListParams` later count without changes here.
fn self_query(query: &str, path_tag: Option<&str>, full: &ListQuery) -> String {
    if query.is_empty() {
        return String::new();
    }
    let encode = |pairs: &[(String, String)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let mut kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    kept.sort();
    let mut i = 0;
    while i < kept.len() {
        let mut without = kept.clone();
        without.remove(i);
        if feed_query(&encode(&without), path_tag, full.limit).is_ok_and(|q| &q == full) {
            kept = without;
        } else {
            i += 1;
        }
    }
    encode(&kept)
}

async fn render(state: &AppState, key: &FeedKey, now: DateTime<Utc>) -> ApiResult<Rendered> {
    let mut query = key.query.clone();
    query.visibility = Visibility::Public { now };
    let page = state.store.list(&query).await?;
    let title = if query.tags.is_empty() {
        state.feed.title.clone()
    } else {
        format!("{}: {}", state.feed.title, query.tags.join(", "))
    };
    let entries = page
        .items
        .iter()
        .map(|item| Entry::new(item, state.item_page_url(&item.slug)))
        .collect();
    let doc = FeedDoc::new(
        FeedMeta {
            title: &title,
            subtitle: &state.feed.subtitle,
            author: &state.feed.author,
            home_url: state.public_url.as_str(),
            self_url: &state.url(&key.self_path),
            hub_url: state.websub.as_ref().map(|p| p.hub().as_str()),
        },
        entries,
    );
    Ok(Rendered {
        body: key.format.render(&doc)?,
        content_type: key.format.content_type(),
        updated: doc.updated,
        next_change: state.store.next_due(now).await?,
    })
}
