//! `/api/v1/news`: the JSON face of the store.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::model::{Link, NewsItem};
use crate::state::AppState;
use crate::store::{Cursor, ItemKey, ListQuery, SearchTerm, Sort, Visibility};

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
struct ListBody<T: Serialize> {
    items: Vec<T>,
    next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
}

/// The keys of an item on the wire, which `fields` may pick from.
pub const ITEM_FIELDS: [&str; 13] = [
    "id",
    "slug",
    "title",
    "summary",
    "content_markdown",
    "content_html",
    "status",
    "published_at",
    "created_at",
    "updated_at",
    "links",
    "tags",
    "url",
];

/// Longest `q` accepted, in characters, and most terms: enough for any real search, and a
/// bound on the work one request can ask of the index.
pub const MAX_QUERY_CHARS: usize = 500;
pub const MAX_QUERY_TERMS: usize = 16;
/// A one- or two-letter prefix matches most of the vocabulary: over a million items it takes
/// seconds, so it is refused rather than allowed to tie up the database.
pub const MIN_PREFIX_CHARS: usize = 3;

/// The list parameters, parsed from the raw query string so repeated keys (`tag`) survive and
/// every bad value is reported by name. Shared by every list-shaped endpoint (JSON and feeds):
/// parse, then [`ListParams::query`] for the store.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub tags: Vec<String>,
    pub search: Vec<SearchTerm>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// `None`: not given, the default order.
    pub sort: Option<Sort>,
    /// `None`: every field.
    pub fields: Option<Vec<&'static str>>,
    pub count: bool,
}

impl ListParams {
    pub fn parse(query: &str) -> ApiResult<Self> {
        let mut params = ListParams {
            limit: DEFAULT_LIMIT,
            ..ListParams::default()
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
                "q" => {
                    if value.chars().count() > MAX_QUERY_CHARS {
                        return Err(ApiError::invalid(
                            "q",
                            format!("must be at most {MAX_QUERY_CHARS} characters"),
                        ));
                    }
                    params.search.extend(search_terms(&value));
                    if params.search.len() > MAX_QUERY_TERMS {
                        return Err(ApiError::invalid(
                            "q",
                            format!("must have at most {MAX_QUERY_TERMS} words or phrases"),
                        ));
                    }
                    if params.search.is_empty() {
                        return Err(ApiError::invalid(
                            "q",
                            "has no letters or digits to search for",
                        ));
                    }
                    if params.search.iter().any(|t| {
                        t.prefix
                            && t.words.last().map_or(0, |w| w.chars().count()) < MIN_PREFIX_CHARS
                    }) {
                        return Err(ApiError::invalid(
                            "q",
                            format!(
                                "a prefix search needs at least {MIN_PREFIX_CHARS} letters before `*`"
                            ),
                        ));
                    }
                }
                "since" => params.since = Some(parse_bound("since", &value, false)?),
                "until" => params.until = Some(parse_bound("until", &value, true)?),
                "sort" => {
                    params.sort = Some(Sort::parse(&value).ok_or_else(|| {
                        ApiError::invalid(
                            "sort",
                            "must be `-published_at`, `published_at` or `relevance`",
                        )
                    })?);
                }
                "fields" => {
                    let fields = params.fields.get_or_insert_with(Vec::new);
                    for name in value.split(',').map(str::trim) {
                        let field = ITEM_FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
                            ApiError::invalid(
                                "fields",
                                format!(
                                    "`{name}` is not a field; choose from {}",
                                    ITEM_FIELDS.join(", ")
                                ),
                            )
                        })?;
                        if !fields.contains(field) {
                            fields.push(field);
                        }
                    }
                }
                "count" => {
                    params.count = match value.as_ref() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ApiError::invalid("count", "must be `true` or `false`"));
                        }
                    };
                }
                // Unknown parameters are ignored, as most HTTP APIs do, so clients can add
                // cache-busters or tracking without breaking.
                _ => {}
            }
        }
        Ok(params)
    }

    /// The store query for these parameters as `visibility` sees them; checks the rules that
    /// tie parameters together.
    pub fn query(&self, visibility: Visibility) -> ApiResult<ListQuery> {
        let sort = self.sort.unwrap_or_default();
        if sort == Sort::Relevance && self.search.is_empty() {
            return Err(ApiError::invalid(
                "sort",
                "`relevance` needs a search: add `q`",
            ));
        }
        if let Some(cursor) = &self.cursor
            && cursor.sort != sort
        {
            return Err(ApiError::invalid(
                "cursor",
                format!(
                    "was made for sort={}, not sort={}",
                    cursor.sort.as_str(),
                    sort.as_str()
                ),
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(ApiError::invalid("until", "must not be before `since`"));
        }
        Ok(ListQuery {
            visibility,
            limit: self.limit,
            after: self.cursor,
            tags: self.tags.clone(),
            search: self.search.clone(),
            since: self.since,
            until: self.until,
            sort,
            count: self.count,
        })
    }
}

/// RFC 3339, or a calendar date (UTC): the start of that day for `since`, its last second for
/// `until`, so both bounds include the whole day.
fn parse_bound(name: &str, value: &str, end_of_day: bool) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| {
            if end_of_day {
                d.and_hms_opt(23, 59, 59)
            } else {
                d.and_hms_opt(0, 0, 0)
            }
        })
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            ApiError::invalid(
                name,
                "must be an RFC 3339 date-time (2018-03-01T12:00:00Z) or a date (2018-03-01)",
            )
        })
}

/// Reads what a person types into a search box: words; `"quoted phrases"` (a quote left open
/// runs to the end); and `word*` for words starting with `word`. Everything else is text, never
/// syntax: operators, brackets and stray `*` are just characters, and chunks without a letter
/// or digit are dropped.
pub fn search_terms(text: &str) -> Vec<SearchTerm> {
    let mut terms = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let (chunk, phrase);
        if let Some(inner) = rest.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            chunk = &inner[..end];
            phrase = true;
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            chunk = &rest[..end];
            phrase = false;
            rest = &rest[end..];
        }
        // A `*` right after a phrase's closing quote makes its last word a prefix too.
        let mut prefix = chunk.ends_with('*');
        if phrase && let Some(after) = rest.strip_prefix('*') {
            prefix = true;
            rest = after;
        }
        let words: Vec<String> = chunk
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        // A prefix applies to the last word only when the chunk ends in it (`zeb*`, not `zeb-*`).
        let ends_in_word = chunk
            .trim_end_matches('*')
            .chars()
            .last()
            .is_some_and(char::is_alphanumeric);
        if !words.is_empty() {
            terms.push(SearchTerm {
                words,
                prefix: prefix && ends_in_word,
            });
        }
    }
    terms
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

/// Only the chosen keys of an item.
fn pick(view: ItemView<'_>, fields: &[&str]) -> ApiResult<serde_json::Map<String, Value>> {
    let Value::Object(mut all) = serde_json::to_value(view).map_err(anyhow::Error::from)? else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "an item is a JSON object"
        )));
    };
    all.retain(|key, _| fields.contains(&key.as_str()));
    Ok(all)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = ListParams::parse(req.query_string())?;
    let query = params.query(Visibility::Public {
        now: state.clock.now(),
    })?;
    let page = state.store.list(&query).await?;
    let mut response = HttpResponse::Ok();
    if let Some(next) = &page.next {
        let url = state.url(&format!(
            "api/v1/news?{}",
            next_query(req.query_string(), next)
        ));
        response.insert_header((header::LINK, format!("<{url}>; rel=\"next\"")));
    }
    let views = page.items.iter().map(|item| ItemView::new(item, &state));
    let next_cursor = page.next.map(|c| c.encode());
    Ok(match &params.fields {
        None => response.json(ListBody {
            items: views.collect(),
            next_cursor,
            total: page.total,
        }),
        Some(fields) => response.json(ListBody {
            items: views
                .map(|view| pick(view, fields))
                .collect::<ApiResult<Vec<_>>>()?,
            next_cursor,
            total: page.total,
        }),
    })
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
