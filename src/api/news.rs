//! `/api/v1/news`: the JSON face of the store.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::etag;
use crate::model::{Link, NewsItem};
use crate::state::AppState;
use crate::store::{Cursor, ItemKey, ListQuery, Visibility};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A news item.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Item, example = json!({
    "id": 1,
    "slug": "working-group-two-discussed-in-reuters-article",
    "title": "Working Group Two discussed in Reuters article",
    "summary": null,
    "content_markdown": "Working Group Two was discussed by Reuters in an article by Telenor and telco disruption. \n\n[Reuters article](https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA)",
    "content_html": "<p>Working Group Two was discussed by Reuters in an article by Telenor and telco disruption.</p>\n<p><a href=\"https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA\" rel=\"noopener noreferrer\">Reuters article</a></p>\n",
    "status": "published",
    "published_at": "2018-03-01T00:00:00Z",
    "created_at": "2026-11-26T02:27:17Z",
    "updated_at": "2026-11-26T02:27:17Z",
    "links": [{"title": "Reuters article", "url": "https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA"}],
    "tags": [],
    "url": "http://127.0.0.1:8080/news/working-group-two-discussed-in-reuters-article"
}))]
pub struct ItemView<'a> {
    pub id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub content_markdown: &'a str,
    /// Rendered from the Markdown and sanitised; relative links made absolute.
    pub content_html: &'a str,
    /// `published` or `draft`. A published item whose `published_at` is in the future is
    /// scheduled: visible only to editors until then.
    #[schema(pattern = "^(published|draft)$")]
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub published_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub links: &'a [Link],
    pub tags: &'a [String],
    /// The item's permalink, absolute, under the public URL.
    pub url: String,
}

impl<'a> ItemView<'a> {
    pub fn new(item: &'a NewsItem, state: &AppState) -> Self {
        Self {
            id: item.id,
            slug: &item.slug,
            title: &item.title,
            summary: item.summary.as_deref(),
            content_markdown: &item.content_markdown,
            content_html: &item.content_html,
            status: item.status.as_str(),
            published_at: rfc3339(item.published_at),
            created_at: rfc3339(item.created_at),
            updated_at: rfc3339(item.updated_at),
            links: &item.links,
            tags: &item.tags,
            url: state.url(&format!("news/{}", item.slug)),
        }
    }
}

/// The exact bytes of an item's JSON representation.
fn item_json(item: &NewsItem, state: &AppState) -> Vec<u8> {
    serde_json::to_vec(&ItemView::new(item, state)).unwrap_or_default()
}

/// The item's ETag: of the bytes `GET /api/v1/news/{id}` returns, so reads and `If-Match` on
/// writes agree.
pub fn item_etag(item: &NewsItem, state: &AppState) -> String {
    etag::strong(&item_json(item, state))
}

/// An item response (GET or write) with its ETag.
pub fn item_response(
    mut response: HttpResponseBuilder,
    item: &NewsItem,
    state: &AppState,
) -> HttpResponse {
    let body = item_json(item, state);
    response
        .insert_header((header::ETAG, etag::strong(&body)))
        .content_type(header::ContentType::json())
        .body(body)
}

/// Answers computed for an editor may show drafts: no cache may keep or share them.
fn private(response: &mut HttpResponseBuilder) {
    response.insert_header(CacheControl(vec![
        CacheDirective::Private,
        CacheDirective::NoStore,
    ]));
}

/// A page of items, newest first.
#[derive(Serialize, ToSchema)]
#[schema(as = NewsPage)]
pub struct ListBody<'a> {
    items: Vec<ItemView<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// The list parameters, parsed from the raw query string so repeated keys (`tag`) survive and
/// every bad value is reported by name.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub tags: Vec<String>,
    /// Editors only: which items to list instead of the public ones.
    pub status: Option<ListStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    Published,
    Draft,
    /// Published with a `published_at` still in the future.
    Scheduled,
}

impl ListParams {
    pub fn parse(query: &str) -> ApiResult<Self> {
        let mut params = ListParams {
            limit: DEFAULT_LIMIT,
            cursor: None,
            tags: Vec::new(),
            status: None,
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "limit" => {
                    params.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "limit",
                                format!("must be a whole number from 1 to {MAX_LIMIT}"),
                            )
                        })?;
                }
                "cursor" => {
                    params.cursor = Some(Cursor::decode(&value).ok_or_else(|| {
                        ApiError::invalid("cursor", "is not a cursor this API handed out")
                    })?);
                }
                "tag" => {
                    let tag = value.trim().to_lowercase();
                    if tag.is_empty() {
                        return Err(ApiError::invalid("tag", "must not be empty"));
                    }
                    if !params.tags.contains(&tag) {
                        params.tags.push(tag);
                    }
                }
                "status" => {
                    params.status = Some(match value.as_ref() {
                        "published" => ListStatus::Published,
                        "draft" => ListStatus::Draft,
                        "scheduled" => ListStatus::Scheduled,
                        _ => {
                            return Err(ApiError::invalid(
                                "status",
                                "must be `published`, `draft` or `scheduled`",
                            ));
                        }
                    });
                }
                // Unknown parameters are ignored, as most HTTP APIs do, so clients can add
                // cache-busters or tracking without breaking.
                _ => {}
            }
        }
        Ok(params)
    }
}

/// The query string for the page after this one: every parameter kept, the cursor replaced.
fn next_query(query: &str, next: &Cursor) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key != "cursor" {
            out.append_pair(&key, &value);
        }
    }
    out.append_pair("cursor", &next.encode());
    out.finish()
}

/// List news items, newest first, with keyset paging.
#[utoipa::path(
    get,
    path = "/api/v1/news",
    operation_id = "listNews",
    tag = "news",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "Opaque position from `next_cursor` or the `Link` header"),
        ("tag" = Option<Vec<String>>, Query, explode = true, description = "Only items with every given tag (repeatable)"),
        ("status" = Option<String>, Query, pattern = "^(published|draft|scheduled)$", description = "Editors only: list drafts or scheduled items instead"),
    ),
    responses(
        (status = 200, description = "A page of items", body = ListBody, headers(
            ("Link" = String, description = "RFC 8288 `<…>; rel=\"next\"` when another page follows"),
        )),
        (status = 400, description = "A parameter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`status` was given without a valid token", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"herald\"`"),
        )),
    ),
    security((), ("bearer" = [])),
)]
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = ListParams::parse(req.query_string())?;
    let now = state.clock.now();
    let visibility = match params.status {
        None => Visibility::Public { now },
        Some(status) => {
            auth::authenticate(&state, req.headers()).await?;
            match status {
                ListStatus::Published => Visibility::Public { now },
                ListStatus::Draft => Visibility::Drafts,
                ListStatus::Scheduled => Visibility::Scheduled { now },
            }
        }
    };
    let query = ListQuery {
        visibility,
        limit: params.limit,
        after: params.cursor,
        tags: params.tags,
    };
    let page = state.store.list(&query).await?;
    let mut response = HttpResponse::Ok();
    if params.status.is_some() {
        private(&mut response);
    }
    if let Some(next) = &page.next {
        let url = state.url(&format!(
            "api/v1/news?{}",
            next_query(req.query_string(), next)
        ));
        response.insert_header((header::LINK, format!("<{url}>; rel=\"next\"")));
    }
    Ok(response.json(ListBody {
        items: page
            .items
            .iter()
            .map(|item| ItemView::new(item, &state))
            .collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One item. Anonymous readers see it once it is published and due; an editor's token shows
/// drafts and scheduled items too.
#[utoipa::path(
    get,
    path = "/api/v1/news/{key}",
    operation_id = "getNews",
    tag = "news",
    params(("key" = String, Path, description = "The item's id or slug")),
    responses(
        (status = 200, description = "The item", body = ItemView, headers(
            ("ETag" = String, description = "Strong validator; send it in `If-Match` to write safely"),
        )),
        (status = 401, description = "A token was sent but is not valid", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"herald\"`"),
        )),
        (status = 404, description = "No such item (or not yet public)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let editor = auth::optional(&state, req.headers()).await?;
    let visibility = match editor {
        Some(_) => Visibility::All,
        None => Visibility::Public {
            now: state.clock.now(),
        },
    };
    let item = state
        .store
        .get(&ItemKey::parse(&key), visibility)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no news item `{key}`")))?;
    let mut response = HttpResponse::Ok();
    if editor.is_some() {
        private(&mut response);
    }
    Ok(item_response(response, &item, &state))
}
