//! `/api/v1/news`: the JSON face of the store.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::model::{Link, NewsItem};
use crate::state::AppState;
use crate::store::{Cursor, ItemKey, ListQuery, Visibility};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An item on the wire.
#[derive(Debug, Serialize)]
pub struct ItemView<'a> {
    pub id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub content_markdown: &'a str,
    pub content_html: &'a str,
    pub status: &'static str,
    pub published_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub links: &'a [Link],
    pub tags: &'a [String],
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

#[derive(Serialize)]
struct ListBody<'a> {
    items: Vec<ItemView<'a>>,
    next_cursor: Option<String>,
}

/// The list parameters, parsed from the raw query string so repeated keys (`tag`) survive and
/// every bad value is reported by name.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub tags: Vec<String>,
}

impl ListParams {
    pub fn parse(query: &str) -> ApiResult<Self> {
        let mut params = ListParams {
            limit: DEFAULT_LIMIT,
            cursor: None,
            tags: Vec::new(),
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

impl ListParams {
    /// The store query these parameters ask for, as seen by `visibility`. Feeds build their
    /// query here too, so every list filter works on feed URLs as well.
    pub fn into_query(self, visibility: Visibility) -> ListQuery {
        ListQuery {
            visibility,
            limit: self.limit,
            after: self.cursor,
            tags: self.tags,
        }
    }
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = ListParams::parse(req.query_string())?;
    let query = params.into_query(Visibility::Public {
        now: state.clock.now(),
    });
    let page = state.store.list(&query).await?;
    let mut response = HttpResponse::Ok();
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

pub async fn get(state: web::Data<AppState>, key: web::Path<String>) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let item = state
        .store
        .get(&ItemKey::parse(&key), Visibility::Public { now })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no news item `{key}`")))?;
    Ok(HttpResponse::Ok().json(ItemView::new(&item, &state)))
}
