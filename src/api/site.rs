//! The site around the items, for readers and crawlers who arrive with nothing but its address:
//! `/` (redirects to `/news`), `/news` and `/tags/{tag}` (the news list as HTML, paged, with
//! feed autodiscovery) and `/robots.txt`. Minimal, valid HTML5 without scripts; real sites put
//! their own frontend in front.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use utoipa::OpenApi;

use super::feeds::{app_state, feed_title};
use super::news::{DEFAULT_LIMIT, ListParams, normalise_tag, serve_cached};
use super::pages::escape;
use super::read_only;
use crate::error::{ApiResult, Problem};
use crate::feeds::{Format, rfc3339};
use crate::model::NewsItem;
use crate::response_cache::{CacheKey, Rendered, SiteDoc};
use crate::state::AppState;
use crate::store::{ListQuery, Visibility};
use crate::urls::tag_page_path;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/", home))
        .service(read_only("/news", news))
        .service(read_only("/tags/{tag}", tag_news))
        .service(read_only("/robots.txt", robots));
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(paths(home, news, tag_news, robots))]
pub struct SitePagesDoc;

/// The language of every page and of the news sitemap: `HERALD_LANGUAGE`.
pub(crate) fn language(state: &AppState) -> &str {
    &state.feed.language
}

/// The policy of every HTML page: the bodies are sanitised already, this is a second fence
/// against scripts.
pub(crate) const PAGE_POLICY: &str =
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'";

const STYLE: &str = "body{font:1.1rem/1.6 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}\
article{border-bottom:1px solid #ccc;padding-bottom:1rem}img{max-width:100%}";

pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// `<head>` of a page: language, title, feed autodiscovery for the main feeds (and a tag's
/// first, on its pages) and `extra` links.
pub(crate) fn page_head(state: &AppState, title: &str, tag: Option<&str>, extra: &str) -> String {
    let mut feeds = String::new();
    for (tag, name) in tag
        .map(|t| (Some(t), feed_title(state, &[t.to_owned()])))
        .into_iter()
        .chain([(None, state.feed.title.clone())])
    {
        for format in [Format::Atom, Format::Rss, Format::Json] {
            let href = match tag {
                Some(tag) => state.urls.tag_feed(tag, format),
                None => state.urls.feed(format),
            };
            feeds.push_str(&format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">",
                mime(format),
                escape(&name),
                format_name(format),
                escape(&href),
            ));
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>{feeds}{extra}<style>{STYLE}</style></head>",
        lang = escape(language(state)),
        title = escape(title),
    )
}

/// The media type autodiscovery announces (without parameters, as readers match it).
fn mime(format: Format) -> &'static str {
    match format {
        Format::Rss => "application/rss+xml",
        Format::Atom => "application/atom+xml",
        Format::Json => "application/feed+json",
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Rss => "RSS",
        Format::Atom => "Atom",
        Format::Json => "JSON Feed",
    }
}

/// A page as the cache keeps it, with the page policy.
pub(crate) fn html_page(body: String) -> Rendered {
    let mut page = Rendered::new(body.into_bytes(), HTML, DateTime::UNIX_EPOCH, None);
    page.headers.push((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    ));
    page
}

/// The site's address leads to the news.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "home",
    tag = "news",
    responses((status = 301, description = "To `/news`", headers(("Location" = String, description = "The news page")))),
)]
async fn home(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    Ok(HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, state.urls.url("news")))
        .finish())
}

/// The news as HTML, newest first, paged (`rel="next"`), with feed autodiscovery.
#[utoipa::path(
    get,
    path = "/news",
    operation_id = "newsPage",
    tag = "news",
    params(("cursor" = Option<String>, Query, description = "Where the page starts, from the previous page's `rel=\"next\"`")),
    responses(
        (status = 200, description = "A page of news as HTML", body = String, content_type = "text/html; charset=utf-8"),
        (status = 400, description = "The cursor is invalid", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn news(req: HttpRequest) -> ApiResult<HttpResponse> {
    serve_list(&req, None).await
}

/// The news with one tag as HTML, with autodiscovery of the tag's feeds.
#[utoipa::path(
    get,
    path = "/tags/{tag}",
    operation_id = "tagPage",
    tag = "news",
    params(
        ("tag" = String, Path, description = "The tag"),
        ("cursor" = Option<String>, Query, description = "Where the page starts, from the previous page's `rel=\"next\"`"),
    ),
    responses(
        (status = 200, description = "A page of the tag's news as HTML", body = String, content_type = "text/html; charset=utf-8"),
        (status = 400, description = "The tag or cursor is invalid", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn tag_news(req: HttpRequest, tag: web::Path<String>) -> ApiResult<HttpResponse> {
    let tag = normalise_tag(&tag)?;
    serve_list(&req, Some(tag)).await
}

async fn serve_list(req: &HttpRequest, tag: Option<String>) -> ApiResult<HttpResponse> {
    let state = app_state(req)?;
    // Only the cursor counts: the page is the news (or a tag's), never a search.
    let given = ListParams::parse(req.query_string())?;
    let params = ListParams {
        limit: DEFAULT_LIMIT,
        cursor: given.cursor,
        tags: tag.iter().cloned().collect(),
        ..ListParams::default()
    };
    let query = params.query(Visibility::Public {
        now: DateTime::UNIX_EPOCH,
    })?;
    let key = CacheKey::NewsPage { query, tag };
    let CacheKey::NewsPage { query, tag } = &key else {
        unreachable!("built just above")
    };
    serve_cached(state, req, &key, |now| {
        render_list(state, query, tag.as_deref(), now)
    })
    .await
}

async fn render_list(
    state: &AppState,
    query: &ListQuery,
    tag: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Rendered> {
    let mut query = query.clone();
    query.visibility = Visibility::Public { now };
    let page = state.store.list(&query).await?;
    let heading = match tag {
        Some(tag) => feed_title(state, &[tag.to_owned()]),
        None => state.feed.title.clone(),
    };
    let here = match tag {
        Some(tag) => tag_page_path(tag),
        None => "news".to_owned(),
    };
    let next = page
        .next
        .map(|c| state.urls.url(&format!("{here}?cursor={}", c.encode())));
    let title = if query.after.is_some() {
        format!("{heading} (older news)")
    } else {
        heading.clone()
    };
    let next_link = next
        .as_deref()
        .map(|n| format!("<link rel=\"next\" href=\"{}\">", escape(n)))
        .unwrap_or_default();
    let mut body = page_head(state, &title, tag, &next_link);
    body.push_str(&format!(
        "<body><header><h1>{}</h1><p>{}</p></header><main>",
        escape(&heading),
        escape(&state.feed.subtitle)
    ));
    if page.items.is_empty() {
        body.push_str("<p>No news yet.</p>");
    }
    for item in &page.items {
        body.push_str(&article(state, item));
    }
    body.push_str("</main>");
    if let Some(next) = &next {
        body.push_str(&format!(
            "<nav aria-label=\"Pages\"><p><a rel=\"next\" href=\"{}\">Older news</a></p></nav>",
            escape(next)
        ));
    }
    body.push_str(&footer(state, tag));
    body.push_str("</body></html>\n");
    Ok(html_page(body))
}

/// One item in a list: its title (to its page), date, tags and body with its links.
fn article(state: &AppState, item: &NewsItem) -> String {
    let tags: Vec<String> = item
        .tags
        .iter()
        .map(|t| {
            format!(
                "<a href=\"{}\" rel=\"tag\">{}</a>",
                escape(&state.urls.url(&tag_page_path(t))),
                escape(t)
            )
        })
        .collect();
    let tags = if tags.is_empty() {
        String::new()
    } else {
        format!("<p>Tags: {}</p>", tags.join(", "))
    };
    format!(
        "<article><h2><a href=\"{url}\">{title}</a></h2>\
         <p><time datetime=\"{iso}\">{date}</time></p>{body}{tags}</article>",
        url = escape(&state.urls.item_page(&item.slug)),
        title = escape(&item.title),
        iso = rfc3339(item.published_at),
        date = item.published_at.format("%-d %B %Y"),
        body = crate::images::page_html(item, &state.urls),
    )
}

/// Visible links to the feeds of the page (a tag's and the main ones).
pub(crate) fn footer(state: &AppState, tag: Option<&str>) -> String {
    let mut links = Vec::new();
    for tag in tag.map(Some).into_iter().chain([None]) {
        for format in [Format::Atom, Format::Rss, Format::Json] {
            let (href, label) = match tag {
                Some(tag) => (
                    state.urls.tag_feed(tag, format),
                    format!("{} of {}", format_name(format), escape(tag)),
                ),
                None => (state.urls.feed(format), format_name(format).to_owned()),
            };
            links.push(format!(
                "<a href=\"{}\" type=\"{}\">{label}</a>",
                escape(&href),
                mime(format)
            ));
        }
    }
    format!("<footer><p>Feeds: {}</p></footer>", links.join(" · "))
}

/// Where crawlers find the sitemaps.
#[utoipa::path(
    get,
    path = "/robots.txt",
    operation_id = "robots",
    tag = "operations",
    responses((status = 200, description = "Crawling rules naming the sitemaps", body = String, content_type = "text/plain; charset=utf-8")),
)]
async fn robots(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    let key = CacheKey::Site(SiteDoc::Robots);
    serve_cached(state, &req, &key, |_| async move {
        let body = format!(
            "User-agent: *\nAllow: /\n\nSitemap: {}\nSitemap: {}\n",
            state.urls.url("sitemap.xml"),
            state.urls.url("news-sitemap.xml"),
        );
        Ok(Rendered::new(
            body.into_bytes(),
            "text/plain; charset=utf-8",
            DateTime::UNIX_EPOCH,
            None,
        ))
    })
    .await
}
