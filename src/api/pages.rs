//! The item permalink (`url` in the API, `link` in feeds): a minimal, dependency-free HTML page
//! so the links Herald hands out open in a browser. Real sites put their own frontend here.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use utoipa::OpenApi;

use super::feeds::app_state;
use super::news::{serve_cached, shared};
use super::site::{footer, html_page, page_head};
use super::{previews, read_only};
use crate::error::{ApiError, ApiResult, Problem};
use crate::model::NewsItem;
use crate::response_cache::{CacheKey, Rendered};
use crate::state::AppState;
use crate::store::{ItemKey, Visibility};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/news/{key}", item));
}

/// The contract of the route above.
#[derive(OpenApi)]
#[openapi(paths(item))]
pub struct PagesDoc;

/// The item's permalink: a minimal HTML page (the `url` of an item, the `link` in feeds).
#[utoipa::path(
    get,
    path = "/news/{key}",
    operation_id = "itemPage",
    tag = "news",
    params(
        ("key" = String, Path, description = "The item's id or slug"),
        ("preview" = Option<String>, Query, description = "A preview token: shows this item whatever its status"),
    ),
    responses(
        (status = 200, description = "The item as HTML", body = String, content_type = "text/html; charset=utf-8"),
        (status = 403, description = "The preview token is expired, tampered with or for another item", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such public item", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn item(req: HttpRequest, key: web::Path<String>) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    if let Some(token) = previews::token_of(&req) {
        let item = previews::previewed(state, &key, &token).await?;
        let mut response = page(state, &item).into_response();
        previews::private(response.headers_mut());
        return Ok(response);
    }
    if shared(&req) {
        let cache_key = CacheKey::Page(key.clone());
        return serve_cached(state, &req, &cache_key, |now| render(state, &key, now)).await;
    }
    Ok(render(state, &key, state.clock.now())
        .await?
        .into_response())
}

/// The page of the item `key` names, as public readers see it at `now`; the caller adds the
/// validators.
async fn render(state: &AppState, key: &str, now: DateTime<Utc>) -> ApiResult<Rendered> {
    let item = state
        .store
        .get(&ItemKey::parse(key), Visibility::Public { now })
        .await?
        .ok_or_else(|| ApiError::NotFound("no such news item".to_owned()))?;
    Ok(page(state, &item))
}

/// The page of `item`.
fn page(state: &AppState, item: &NewsItem) -> Rendered {
    let title = escape(&item.title);
    let date = item.published_at.format("%-d %B %Y");
    let iso = item.published_at.to_rfc3339();
    let api = state.urls.item_api(item.id);
    let head = page_head(
        state,
        &item.title,
        None,
        &format!(
            "<link rel=\"alternate\" type=\"application/json\" href=\"{}\">",
            escape(&api)
        ),
    );
    let body = format!(
        "{head}<body><article><h1>{title}</h1><p><time datetime=\"{iso}\">{date}</time></p>{html}</article>{footer}</body></html>\n",
        html = crate::images::page_html(item, &state.urls),
        footer = footer(state, None),
    );
    html_page(body)
}

/// Escapes text for HTML element content and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
