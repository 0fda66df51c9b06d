//! Feed endpoints. Every feed is a list query: the JSON API's list parameters (`tag`, and any
//! filter added there) parse into the same [`ListQuery`], so a saved search is a subscription.
//! Bodies come from the feed cache; this module only finds the right one.

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, guard, web};
use chrono::{DateTime, Utc};
use utoipa::{IntoParams, OpenApi};

use super::archives;
use super::news::{ListParams, normalise_tag};
use super::not_allowed;
use crate::error::{ApiError, ApiResult, Problem};
use crate::feeds::cache::FeedKey;
use crate::feeds::{Entry, FeedDoc, FeedMeta, Format};
use crate::http_cache;
use crate::response_cache::CacheKey;
use crate::response_cache::Rendered;
use crate::state::AppState;
use crate::store::{ListQuery, Visibility};
use crate::urls::tag_feed_path;

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

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(paths(
    rss_feed,
    rss_alias,
    atom_feed,
    atom_alias_feed_xml,
    atom_alias_atom_xml,
    json_feed,
    tag_feed,
))]
pub struct FeedsDoc;

/// The list filters of `GET /api/v1/news`, which every feed accepts too: a saved search is a
/// subscription. A feed is always the newest items, so paging parameters and `sort` are
/// ignored.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct FeedFilters {
    /// Only items with every given tag (repeatable).
    tag: Option<Vec<String>>,
    /// Full-text search, as in `GET /api/v1/news`.
    #[param(max_length = 500)]
    q: Option<String>,
    /// Published at or after: RFC 3339, or a date.
    since: Option<String>,
    /// Published at or before: RFC 3339, or a date (to the end of that day, UTC).
    until: Option<String>,
    /// Accepted for saved searches but ignored: a feed is always its newest items, newest
    /// first. A value other than `-published_at`, `published_at` or `relevance` is a 400.
    #[param(pattern = "^(-published_at|published_at|relevance)$")]
    sort: Option<String>,
}

/// One documented feed URL. The handlers are built in a loop ([`routes`]), so each URL gets a
/// stand-in function here to carry its annotation.
macro_rules! feed_doc {
    ($name:ident, $path:literal, $id:literal, $content_type:literal, $body:ty, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            get,
            path = $path,
            operation_id = $id,
            tag = "feeds",
            params(FeedFilters),
            responses(
                (status = 200, description = "The newest items (`HERALD_FEED_SIZE`, default 20)", body = $body, content_type = $content_type),
                (status = 400, description = "A filter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
            ),
        )]
        #[allow(dead_code)]
        fn $name() {}
    };
}

feed_doc!(
    rss_feed,
    "/feed.rss",
    "rssFeed",
    "application/rss+xml; charset=utf-8",
    String,
    "RSS 2.0."
);
feed_doc!(
    rss_alias,
    "/rss.xml",
    "rssFeedAlias",
    "application/rss+xml; charset=utf-8",
    String,
    "RSS 2.0 at the path many sites already hand out."
);
feed_doc!(
    atom_feed,
    "/feed.atom",
    "atomFeed",
    "application/atom+xml; charset=utf-8",
    String,
    "Atom 1.0 (RFC 4287)."
);
feed_doc!(
    atom_alias_feed_xml,
    "/feed.xml",
    "atomFeedJekyll",
    "application/atom+xml; charset=utf-8",
    String,
    "Atom 1.0 at jekyll-feed's path."
);
feed_doc!(
    atom_alias_atom_xml,
    "/atom.xml",
    "atomFeedAlias",
    "application/atom+xml; charset=utf-8",
    String,
    "Atom 1.0 at another common path."
);
feed_doc!(
    json_feed,
    "/feed.json",
    "jsonFeed",
    "application/feed+json",
    Object,
    "JSON Feed 1.1."
);

/// The state, borrowed: extracting `web::Data` would clone its `Arc`, a reference count every
/// worker writes on every request.
pub(crate) fn app_state(req: &HttpRequest) -> ApiResult<&AppState> {
    req.app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))
}

async fn feed(req: HttpRequest, format: Format) -> ApiResult<HttpResponse> {
    serve(app_state(&req)?, &req, format, None).await
}

/// The feed of one tag, in any format.
#[utoipa::path(
    get,
    path = "/tags/{tag}/feed.{format}",
    operation_id = "tagFeed",
    tag = "feeds",
    params(
        ("tag" = String, Path, description = "The tag"),
        ("format" = String, Path, pattern = "^(rss|atom|json)$", description = "`rss`, `atom` or `json`"),
        FeedFilters,
    ),
    responses(
        (status = 200, description = "The newest items with the tag", content(
            (String = "application/rss+xml; charset=utf-8"),
            (String = "application/atom+xml; charset=utf-8"),
            (Object = "application/feed+json"),
        )),
        (status = 400, description = "A filter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such feed format", body = Problem, content_type = "application/problem+json"),
    ),
)]
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
    if path_tag
        .as_deref()
        .is_some_and(crate::schema::is_dot_segment)
    {
        // No item can carry such a tag, and its URL could not name this feed.
        return Err(ApiError::NotFound("no such tag feed".to_owned()));
    }
    let query = feed_query(req.query_string(), path_tag.as_deref(), state.feed.size)?;
    let filters = self_query(req.query_string(), path_tag.as_deref(), &query);
    // The main feeds' own paths are static: no allocation on their hot path.
    let self_path: Cow<'static, str> = match (&path_tag, filters.is_empty()) {
        (None, true) => Cow::Borrowed(format.file_name()),
        (None, false) => Cow::Owned(format!("{}?{filters}", format.file_name())),
        (Some(tag), true) => Cow::Owned(tag_feed_path(tag, format)),
        (Some(tag), false) => Cow::Owned(format!("{}?{filters}", tag_feed_path(tag, format))),
    };
    let feed = FeedKey {
        format,
        query,
        self_path,
        subscription: filters.is_empty(),
    };
    let key = CacheKey::Feed(feed);
    let CacheKey::Feed(feed) = &key else {
        unreachable!("built just above")
    };
    from_cache(state, req, &key, |now| render(state, feed, now)).await
}

/// Answers `req` from the response cache entry for `key`, rendering it with `render` when
/// missing or stale.
pub(crate) async fn from_cache<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    key: &CacheKey,
    render: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(DateTime<Utc>) -> Fut,
    Fut: Future<Output = ApiResult<Rendered>>,
{
    state
        .responses
        .serve(
            &state.revision,
            state.clock.now(),
            state.cache.public(),
            key,
            render,
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
    // A feed is always the first page of the newest items, whole, no count: `sort` is
    // accepted (a saved search may carry it) but ignored, or new items would never reach
    // subscribers of an oldest-first or best-match feed.
    params.cursor = None;
    params.sort = None;
    let mut query = params.query(Visibility::Public {
        now: DateTime::UNIX_EPOCH,
    })?;
    query.limit = size;
    query.count = false;
    query.tags.sort();
    Ok(query)
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
    // Read from the store, not the process: the feed's `updated` never moves backwards, not on
    // a delete and not across restarts, and an empty feed is not dated 1970.
    let times = state.store.content_times(now).await?;
    let title = feed_title(state, &query.tags);
    let entries = page
        .items
        .iter()
        .map(|item| Entry::new(item, state.urls.item_page(&item.slug)))
        .collect();
    let mut doc = FeedDoc::new(
        FeedMeta {
            title: &title,
            subtitle: &state.feed.subtitle,
            author: &state.feed.author,
            language: &state.feed.language,
            home_url: state.urls.base().as_str(),
            self_url: &state.urls.url(&key.self_path),
            hub_url: state.websub.as_ref().map(|p| p.hub().as_str()),
            last_change: times.last_change,
        },
        entries,
    );
    if key.subscription {
        let tag = query.tags.first().map(String::as_str);
        doc.history = archives::subscription_history(state, tag, key.format).await?;
    }
    Ok(Rendered::new(
        key.format.render(&doc)?,
        key.format.content_type(),
        doc.updated,
        times.next_publication,
    ))
}

/// The title of the feed of items with every one of `tags`.
pub(crate) fn feed_title(state: &AppState, tags: &[String]) -> String {
    if tags.is_empty() {
        state.feed.title.clone()
    } else {
        format!("{}: {}", state.feed.title, tags.join(", "))
    }
}
