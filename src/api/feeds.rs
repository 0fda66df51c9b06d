//! Feed endpoints. Every feed is a list query: the JSON API's list parameters (`tag`, and any
//! filter added there) parse into the same [`ListQuery`], so a saved search is a subscription.
//! Bodies come from the feed cache; this module only finds the right one.

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use utoipa::{IntoParams, OpenApi};

use super::archives;
use super::news::{ListParams, normalise_tag, parse_bound};
use super::{not_allowed, read};
use crate::error::{ApiError, ApiResult, Problem};
use crate::feeds::cache::FeedKey;
use crate::feeds::{Entry, FeedDoc, FeedMeta, Format};
use crate::http_cache;
use crate::response_cache::CacheKey;
use crate::response_cache::Rendered;
use crate::state::AppState;
use crate::store::{ListQuery, Sort, Visibility};
use crate::urls::tag_feed_path;

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
    // Under a scope: its static prefix is all other requests compare, where the pattern alone
    // would run its regex on every request that comes past (the JSON API's among them).
    cfg.service(
        web::scope("/authors")
            .service(
                web::resource("/{slug}/feed.{format}")
                    .route(read().to(author_feed))
                    .default_service(not_allowed("GET, HEAD")),
            )
            .default_service(web::to(super::not_found)),
    );
}

/// What a feed's path selects besides its query string.
#[derive(Debug, Clone, Default)]
struct PathFilter {
    tag: Option<String>,
    author: Option<String>,
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
    author_feed,
))]
pub struct FeedsDoc;

/// The list filters of `GET /api/v1/news`, which every feed accepts too: a saved search is a
/// subscription. A feed is always the newest items, so paging parameters and `sort` are
/// ignored.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct FeedFilters {
    /// Only items with every given tag (repeatable, at most 10 different; at most 50 parameters
    /// in all).
    tag: Option<Vec<String>>,
    /// Only items naming every given author, by slug (repeatable).
    author: Option<Vec<String>>,
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
    serve(app_state(&req)?, &req, format, PathFilter::default()).await
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
    let tag = normalise_tag(&tag)?;
    if crate::schema::is_dot_segment(&tag) {
        // No item can carry such a tag, and its URL could not name this feed.
        return Err(ApiError::NotFound("no such tag feed".to_owned()));
    }
    let path = PathFilter {
        tag: Some(tag),
        author: None,
    };
    serve(app_state(&req)?, &req, format, path).await
}

/// The feed of one author's items, in any format.
#[utoipa::path(
    get,
    path = "/authors/{slug}/feed.{format}",
    operation_id = "authorFeed",
    tag = "feeds",
    params(
        ("slug" = String, Path, description = "The author's slug"),
        ("format" = String, Path, pattern = "^(rss|atom|json)$", description = "`rss`, `atom` or `json`"),
        FeedFilters,
    ),
    responses(
        (status = 200, description = "The newest items naming the author", content(
            (String = "application/rss+xml; charset=utf-8"),
            (String = "application/atom+xml; charset=utf-8"),
            (Object = "application/feed+json"),
        )),
        (status = 400, description = "A filter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such feed format", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn author_feed(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (slug, ext) = path.into_inner();
    let format = Format::from_extension(&ext)
        .ok_or_else(|| ApiError::NotFound(format!("no feed format `{ext}`")))?;
    if !crate::schema::is_slug(&slug) {
        return Err(ApiError::NotFound(format!("no author `{slug}`")));
    }
    let path = PathFilter {
        tag: None,
        author: Some(slug),
    };
    serve(app_state(&req)?, &req, format, path).await
}

async fn serve(
    state: &AppState,
    req: &HttpRequest,
    format: Format,
    path: PathFilter,
) -> ApiResult<HttpResponse> {
    let query = feed_query(req.query_string(), &path, state.feed.size)?;
    let filters = self_query(req.query_string(), &path, &query);
    let base_path: Option<String> = match (&path.tag, &path.author) {
        (Some(tag), _) => Some(tag_feed_path(tag, format)),
        (None, Some(author)) => Some(format!("authors/{author}/{}", format.file_name())),
        (None, None) => None,
    };
    // The main feeds' own paths are static: no allocation on their hot path.
    let self_path: Cow<'static, str> = match (base_path, filters.is_empty()) {
        (None, true) => Cow::Borrowed(format.file_name()),
        (None, false) => Cow::Owned(format!("{}?{filters}", format.file_name())),
        (Some(base), true) => Cow::Owned(base),
        (Some(base), false) => Cow::Owned(format!("{base}?{filters}")),
    };
    let feed = FeedKey {
        format,
        query,
        self_path,
        // Archives (RFC 5005) exist for the main and tag feeds only.
        subscription: filters.is_empty() && path.author.is_none(),
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
fn feed_query(query: &str, path: &PathFilter, size: u32) -> ApiResult<ListQuery> {
    let mut params = ListParams::parse(query)?;
    if let Some(tag) = &path.tag
        && !params.tags.iter().any(|t| t == tag)
    {
        params.tags.push(tag.to_owned());
    }
    if let Some(author) = &path.author
        && !params.authors.iter().any(|a| a == author)
    {
        params.authors.push(author.to_owned());
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
    query.authors.sort();
    Ok(query)
}

/// The query string of the feed's own URL: only the parameters that change what it lists,
/// sorted. Whatever the list API ignores (cache-busters, tracking, paging, repeats) is left out,
/// so such URLs share the canonical feed's cache entry instead of rendering one each.
///
/// One pass over the parameters (at most `MAX_QUERY_PARAMS`, checked by [`feed_query`]), so a
/// long query string costs linear time. The result is the one feed ids have always been made
/// of: every `q`; per tag, its greatest spelling unless the path names it; for `since`, `until`
/// and a non-default `sort`, the greatest spelling of the value in force. A filter added to
/// `ListParams` must be added here too (`a_self_link_keeps_every_filter` names them).
fn self_query(query: &str, path: &PathFilter, full: &ListQuery) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut kept: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    let mut tags: Vec<(String, Cow<'_, str>)> = Vec::new();
    let mut authors: Vec<(String, Cow<'_, str>)> = Vec::new();
    let mut single: [Option<Cow<'_, str>>; 3] = [None, None, None];
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "q" => {
                kept.push((key, value));
                continue;
            }
            "tag" => {
                if let Ok(tag) = normalise_tag(&value)
                    && path.tag.as_deref() != Some(tag.as_str())
                {
                    keep_greatest(&mut tags, tag, value);
                }
                continue;
            }
            "author" => {
                let author = value.trim().to_owned();
                if crate::schema::is_slug(&author) && path.author.as_deref() != Some(&author) {
                    keep_greatest(&mut authors, author, value);
                }
                continue;
            }
            "since" if parse_bound("since", &value, false).ok() == full.since => 0,
            "until" if parse_bound("until", &value, true).ok() == full.until => 1,
            "sort" if full.sort != Sort::default() && Sort::parse(&value) == Some(full.sort) => 2,
            _ => continue,
        };
        let best = &mut single[slot];
        *best = Some(match best.take() {
            Some(other) => other.max(value),
            None => value,
        });
    }
    let names = ["since", "until", "sort"];
    kept.extend(tags.into_iter().map(|(_, raw)| (Cow::Borrowed("tag"), raw)));
    kept.extend(
        authors
            .into_iter()
            .map(|(_, raw)| (Cow::Borrowed("author"), raw)),
    );
    kept.extend(
        names
            .into_iter()
            .zip(single)
            .filter_map(|(name, value)| Some((Cow::Borrowed(name), value?))),
    );
    kept.sort();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish()
}

/// Notes `raw`, a spelling of the filter value `normal`, keeping the greatest spelling of each.
fn keep_greatest<'a>(seen: &mut Vec<(String, Cow<'a, str>)>, normal: String, raw: Cow<'a, str>) {
    match seen.iter_mut().find(|(n, _)| *n == normal) {
        Some((_, best)) => *best = raw.max(best.clone()),
        None => seen.push((normal, raw)),
    }
}

async fn render(state: &AppState, key: &FeedKey, now: DateTime<Utc>) -> ApiResult<Rendered> {
    let mut query = key.query.clone();
    query.visibility = Visibility::Public { now };
    let page = state.store.list(&query).await?;
    // Read from the store, not the process: the feed's `updated` never moves backwards, not on
    // a delete and not across restarts, and an empty feed is not dated 1970.
    let times = state.store.content_times(now).await?;
    // Authors by name as the items show them (a rename records a change for each, so this
    // title follows it).
    let names: Vec<&str> = query
        .authors
        .iter()
        .map(|slug| {
            page.items
                .iter()
                .flat_map(|i| &i.authors)
                .find(|a| &a.slug == slug)
                .map_or(slug.as_str(), |a| a.name.as_str())
        })
        .collect();
    let title = if names.is_empty() {
        feed_title(state, &query.tags)
    } else if query.tags.is_empty() {
        format!("{}: by {}", state.feed.title, names.join(", "))
    } else {
        format!(
            "{}, by {}",
            feed_title(state, &query.tags),
            names.join(", ")
        )
    };
    let entries = page
        .items
        .iter()
        .map(|item| Entry::new(item, &state.urls))
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
    let (format, updated) = (key.format, doc.updated);
    // Serialising a feed is CPU work: off the async workers.
    let body = web::block(move || format.render(&doc))
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("rendering a feed")))??;
    Ok(Rendered::new(
        body,
        format.content_type(),
        updated,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// How self links were made before: each parameter dropped if the query without it means
    /// the same. Quadratic, but the definition the linear [`self_query`] must keep to, since feed
    /// ids (Atom's is the self link) never change once published.
    fn greedy_self_query(query: &str, path: &PathFilter, full: &ListQuery) -> String {
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
            if feed_query(&encode(&without), path, full.limit).is_ok_and(|q| &q == full) {
                kept = without;
            } else {
                i += 1;
            }
        }
        encode(&kept)
    }

    #[test]
    fn a_self_link_keeps_every_filter_as_it_always_did() {
        let cases = [
            "",
            "utm_source=x&_=17",
            "tag=Press&tag=press&tag=b&tag=%20B%20",
            "q=rust+ai&sort=relevance&q=rust+ai",
            "sort=-published_at&limit=5&count=true&fields=id",
            "sort=published_at&sort=published_at",
            "since=2020-01-01&since=2020-01-01T00:00:00Z&until=2021-01-01",
            "until=2021-01-01T23:59:59Z&until=2021-01-01&since=2019-05-05T10:00:00%2B02:00",
            "tag=press&tag=tech&q=%22open+source%22&zzz=1&since=2020-02-02",
            "status=draft&tag=a&tag=a&tag=A",
            "author=ann&author=%20ann&author=bob&tag=a",
            "author=ann&author=ann&q=x",
        ];
        let paths = [
            PathFilter::default(),
            PathFilter {
                tag: Some("press".to_owned()),
                author: None,
            },
            PathFilter {
                tag: Some("b".to_owned()),
                author: None,
            },
            PathFilter {
                tag: None,
                author: Some("ann".to_owned()),
            },
        ];
        for path in &paths {
            for case in cases {
                let full = feed_query(case, path, 20).unwrap();
                assert_eq!(
                    self_query(case, path, &full),
                    greedy_self_query(case, path, &full),
                    "{case} under {path:?}"
                );
            }
        }
    }
}
