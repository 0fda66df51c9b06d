//! Sitemaps for crawlers (sitemaps.org 0.9): `/sitemap.xml` lists every public item page with
//! its last change, or, once ids pass [`URLS_PER_SITEMAP`], indexes `/sitemaps/{n}.xml`, each
//! the items of one range of that many ids (so no part exceeds the protocol's 50,000 URLs and
//! a part's URL keeps its items); `/news-sitemap.xml` follows Google News' rules.

use std::io;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use utoipa::OpenApi;

use super::feeds::{app_state, from_cache};
use super::news::serve_cached;
use super::read_only;
use super::site::language;
use crate::error::{ApiError, ApiResult, Problem};
use crate::feeds::rfc3339;
use crate::model::NewsItem;
use crate::response_cache::{CacheKey, Rendered, SiteDoc};
use crate::state::AppState;
use crate::store::{ListQuery, Visibility};

/// The protocol's limit of URLs in one sitemap.
pub const URLS_PER_SITEMAP: i64 = 50_000;
/// Google News: at most this many articles, published within [`NEWS_WINDOW_DAYS`].
const NEWS_ARTICLES: u32 = 1000;
const NEWS_WINDOW_DAYS: i64 = 2;
/// Items read from the store at a time while listing a part.
const BATCH: u32 = 1000;

const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";
const XML: &str = "application/xml; charset=utf-8";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/sitemap.xml", sitemap))
        .service(read_only("/sitemaps/{part}.xml", sitemap_part))
        .service(read_only("/news-sitemap.xml", news_sitemap));
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(paths(sitemap, sitemap_part, news_sitemap))]
pub struct SitemapsDoc;

/// Every public item page with `lastmod`, or a sitemap index past 50,000 ids.
#[utoipa::path(
    get,
    path = "/sitemap.xml",
    operation_id = "sitemap",
    tag = "operations",
    responses((status = 200, description = "A `urlset`, or a `sitemapindex` of `/sitemaps/{part}.xml`", body = String, content_type = "application/xml; charset=utf-8")),
)]
async fn sitemap(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    serve_cached(
        state,
        &req,
        &CacheKey::Site(SiteDoc::Sitemap),
        |now| async move {
            let parts = parts(state).await?;
            let body = if parts <= 1 {
                urlset(&part_urls(state, 1, now).await?)
            } else {
                index(state, parts)
            };
            Ok(xml(body?))
        },
    )
    .await
}

/// The item pages of one range of 50,000 ids.
#[utoipa::path(
    get,
    path = "/sitemaps/{part}.xml",
    operation_id = "sitemapPart",
    tag = "operations",
    params(("part" = i64, Path, minimum = 1, description = "The part, from `/sitemap.xml`")),
    responses(
        (status = 200, description = "A `urlset`", body = String, content_type = "application/xml; charset=utf-8"),
        (status = 404, description = "No such part", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn sitemap_part(req: HttpRequest, part: web::Path<String>) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    let part = part
        .parse::<i64>()
        .ok()
        .filter(|p| *p >= 1 && !part.starts_with(['+', '0']))
        .ok_or_else(|| ApiError::NotFound("no such sitemap".to_owned()))?;
    let key = CacheKey::Site(SiteDoc::SitemapPart(part));
    serve_cached(state, &req, &key, |now| async move {
        if part > parts(state).await?.max(1) {
            return Err(ApiError::NotFound("no such sitemap".to_owned()));
        }
        Ok(xml(urlset(&part_urls(state, part, now).await?)?))
    })
    .await
}

/// Google News: articles of the last two days with publication, date and title.
#[utoipa::path(
    get,
    path = "/news-sitemap.xml",
    operation_id = "newsSitemap",
    tag = "operations",
    responses((status = 200, description = "A Google News sitemap", body = String, content_type = "application/xml; charset=utf-8")),
)]
async fn news_sitemap(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    let key = CacheKey::Site(SiteDoc::NewsSitemap);
    from_cache(state, &req, &key, |now| render_news(state, now)).await
}

fn xml(body: Vec<u8>) -> Rendered {
    Rendered::new(body, XML, DateTime::UNIX_EPOCH, None)
}

/// How many parts the ids handed out so far make.
async fn parts(state: &AppState) -> ApiResult<i64> {
    let highest = state.store.positions().await?.item_id;
    Ok((highest + URLS_PER_SITEMAP - 1) / URLS_PER_SITEMAP)
}

/// The page and last change of every public item of part `part`, in id order.
async fn part_urls(
    state: &AppState,
    part: i64,
    now: DateTime<Utc>,
) -> ApiResult<Vec<(String, DateTime<Utc>)>> {
    let last = part * URLS_PER_SITEMAP;
    let mut after = last - URLS_PER_SITEMAP;
    let mut urls = Vec::new();
    while after < last {
        let batch = state.store.export_items(after, BATCH).await?;
        let Some(end) = batch.last().map(|s| s.item.id) else {
            break;
        };
        urls.extend(
            batch
                .iter()
                .map(|s| &s.item)
                .filter(|i| i.id <= last && i.is_public(now))
                .map(|i| {
                    (
                        state.urls.item_page(&i.slug),
                        i.updated_at.max(i.published_at),
                    )
                }),
        );
        after = end;
    }
    Ok(urls)
}

fn document() -> io::Result<Writer<Vec<u8>>> {
    let mut writer = Writer::new(Vec::with_capacity(64 * 1024));
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    Ok(writer)
}

fn text(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn urlset(urls: &[(String, DateTime<Utc>)]) -> anyhow::Result<Vec<u8>> {
    let mut writer = document()?;
    writer
        .create_element("urlset")
        .with_attribute(("xmlns", SITEMAP_NS))
        .write_inner_content(|w| {
            for (loc, lastmod) in urls {
                w.create_element("url").write_inner_content(|w| {
                    text(w, "loc", loc)?;
                    text(w, "lastmod", &rfc3339(*lastmod))
                })?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}

fn index(state: &AppState, parts: i64) -> anyhow::Result<Vec<u8>> {
    let mut writer = document()?;
    writer
        .create_element("sitemapindex")
        .with_attribute(("xmlns", SITEMAP_NS))
        .write_inner_content(|w| {
            for part in 1..=parts {
                w.create_element("sitemap").write_inner_content(|w| {
                    text(w, "loc", &state.urls.url(&format!("sitemaps/{part}.xml")))
                })?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}

async fn render_news(state: &AppState, now: DateTime<Utc>) -> ApiResult<Rendered> {
    let since = now - Duration::days(NEWS_WINDOW_DAYS);
    let page = state
        .store
        .list(&ListQuery {
            visibility: Visibility::Public { now },
            limit: NEWS_ARTICLES,
            since: Some(since),
            ..ListQuery::default()
        })
        .await?;
    // The oldest article leaves the window by itself, a scheduled one enters it.
    let leaves = page
        .items
        .iter()
        .map(|i| i.published_at + Duration::days(NEWS_WINDOW_DAYS) + Duration::seconds(1))
        .min();
    let due = state.store.next_due(now).await?;
    let mut rendered = xml(news_body(state, &page.items)?);
    rendered.updated = state.json_caching.last_change().await?;
    rendered.next_change = leaves.into_iter().chain(due).min();
    Ok(rendered)
}

fn news_body(state: &AppState, items: &[NewsItem]) -> anyhow::Result<Vec<u8>> {
    let mut writer = document()?;
    writer
        .create_element("urlset")
        .with_attribute(("xmlns", SITEMAP_NS))
        .with_attribute(("xmlns:news", NEWS_NS))
        .write_inner_content(|w| {
            for item in items {
                w.create_element("url").write_inner_content(|w| {
                    text(w, "loc", &state.urls.item_page(&item.slug))?;
                    w.create_element("news:news").write_inner_content(|w| {
                        w.create_element("news:publication")
                            .write_inner_content(|w| {
                                text(w, "news:name", &state.feed.title)?;
                                text(w, "news:language", language(state))
                            })?;
                        text(w, "news:publication_date", &rfc3339(item.published_at))?;
                        text(w, "news:title", &item.title)
                    })?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}
