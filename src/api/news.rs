//! `/api/v1/news`: the JSON face of the store.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{Modify, OpenApi, ToSchema};

use super::feeds::{app_state, from_cache};
use super::{editor_only, not_allowed, previews, write};
use crate::api::auth;
use crate::auth::Scope;
use crate::error::{ApiError, ApiResult, Problem};
use crate::etag;
use crate::images::ImageView;
use crate::model::{Byline, Link, NewsItem};
use crate::response_cache::{CacheKey, Rendered};
use crate::state::AppState;
use crate::store::{Cursor, ItemKey, ListQuery, SearchTerm, Sort, Visibility};
use crate::urls::Urls;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub use crate::feeds::rfc3339;

/// `/api/v1/news`: reads here, writes in [`write`] (one resource, so one set of routes).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/news")
            .app_data(write::json_config())
            .app_data(write::payload_config())
            .service(
                web::resource("")
                    .route(web::get().to(list))
                    .route(editor_only(web::post().to(write::create)))
                    .default_service(not_allowed("GET, HEAD, POST")),
            )
            .service(
                web::resource("/{key}")
                    .route(web::get().to(get))
                    .route(editor_only(web::put().to(write::replace)))
                    .route(editor_only(web::patch().to(write::patch)))
                    .route(editor_only(web::delete().to(write::delete)))
                    .default_service(not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
            )
            .service(
                web::resource("/{key}/preview")
                    .route(editor_only(web::post().to(previews::create)))
                    .default_service(not_allowed("POST")),
            ),
    );
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        get,
        write::create,
        write::replace,
        write::patch,
        write::delete,
    ),
    components(schemas(
        ItemView,
        NewsPage,
        Link,
        Byline,
        ImageView,
        crate::images::SourceSet,
        write::ItemInput,
        write::ItemPatch,
        write::LinkInput,
        write::Tag,
        write::AuthorSlug,
    )),
    modifiers(&PartialItems),
)]
pub struct NewsDoc;

/// A page of items, newest first unless `sort` says otherwise.
#[derive(Serialize, ToSchema)]
pub struct NewsPage {
    /// Whole items, or only the keys `fields` asked for.
    #[schema(value_type = Vec<PartialItem>)]
    items: Vec<()>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
    /// The number of matches, with `count=true` only.
    #[schema(minimum = 0)]
    total: Option<i64>,
}

/// Stands for `PartialItem` in `NewsPage`; [`PartialItems`] defines it.
#[derive(ToSchema)]
struct PartialItem;

/// `PartialItem` is `Item` with no key required (a list with `fields` returns some keys only).
/// Derived here from `Item`, so the two never drift.
struct PartialItems;

impl Modify for PartialItems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(item))) = components.schemas.get("Item") {
            let mut partial = item.clone();
            partial.required.clear();
            partial.description = Some(
                "An item as `fields` shaped it: the keys of `Item`, each present only if asked for \
                 (all of them when `fields` is omitted)."
                    .to_owned(),
            );
            partial.example = None;
            components
                .schemas
                .insert("PartialItem".to_owned(), RefOr::T(Schema::Object(partial)));
        }
    }
}

/// A news item.
#[derive(Debug, Default, Serialize, ToSchema)]
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
    "authors": [],
    "image": null,
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
    /// The byline, in order: each author's public fields (see `/api/v1/authors`).
    pub authors: &'a [Byline],
    /// The item's image (`null` when it has none): sizes, alt text and a ready `srcset`.
    #[schema(nullable)]
    pub image: Option<ImageView>,
    /// The item's permalink, absolute, under the public URL.
    pub url: String,
}

impl<'a> ItemView<'a> {
    pub fn new(item: &'a NewsItem, urls: &Urls) -> Self {
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
            authors: &item.authors,
            image: item.image.as_ref().and_then(|i| ImageView::new(i, urls)),
            url: urls.item_page(&item.slug),
        }
    }
}

/// The exact bytes of an item's JSON representation.
fn item_json(item: &NewsItem, urls: &Urls) -> ApiResult<Vec<u8>> {
    json_bytes(&ItemView::new(item, urls))
}

/// `value` as JSON. A failure is ours (a 500, logged), never an empty body: an empty 200 would
/// carry the ETag of nothing and a client could write against it.
pub(crate) fn json_bytes(value: &impl Serialize) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("serialising an item")))
}

/// The item's ETag: of the bytes `GET /api/v1/news/{id}` returns, so reads and `If-Match` on
/// writes agree.
pub fn item_etag(item: &NewsItem, urls: &Urls) -> ApiResult<String> {
    Ok(etag::strong(&item_json(item, urls)?))
}

/// An item response (GET or write) with its ETag.
pub fn item_response(
    mut response: HttpResponseBuilder,
    item: &NewsItem,
    urls: &Urls,
) -> ApiResult<HttpResponse> {
    let body = item_json(item, urls)?;
    Ok(response
        .insert_header((header::ETAG, etag::strong(&body)))
        .content_type(header::ContentType::json())
        .body(body))
}

/// Answers computed for an editor may show drafts: no cache may keep or share them.
fn private(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, crate::response_policy::PRIVATE);
}

/// A page of items (whole, or the keys `fields` picked). Its contract is [`NewsPage`].
#[derive(Serialize)]
struct ListBody<T: Serialize> {
    items: Vec<T>,
    next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
}

/// The keys of an item on the wire, in order, which `fields` may pick from and written bodies
/// may carry (the server's own are accepted and ignored). Read off a serialised [`ItemView`], so
/// a key added to the view needs no second list: every view field must therefore always be
/// serialised (no `skip_serializing_if`).
pub static ITEM_FIELDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let view = serde_json::to_string(&ItemView::default()).expect("an item view serialises");
    keys_in_order(&view).expect("an item view is a JSON object")
});

/// The member names of a JSON object, in the order written (a `serde_json::Map` sorts them).
fn keys_in_order(object: &str) -> serde_json::Result<Vec<String>> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
            reader.deserialize_map(Keys(Vec::new()))
        }
    }
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Keys;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Keys, A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                self.0.push(key);
            }
            Ok(self)
        }
    }
    serde_json::from_str::<Keys>(object).map(|keys| keys.0)
}

/// Longest `q` accepted, in characters, and most terms: enough for any real search, and a
/// bound on the work one request can ask of the index.
pub const MAX_QUERY_CHARS: usize = 500;
pub const MAX_QUERY_TERMS: usize = 16;
/// A one- or two-letter prefix matches most of the vocabulary: over a million items it takes
/// seconds, so it is refused rather than allowed to tie up the database.
pub const MIN_PREFIX_CHARS: usize = 3;
/// Most parameters a list or feed query string may carry, and most distinct `tag` filters: each
/// parameter costs parsing and canonicalising, each tag a clause in SQL, so an anonymous request
/// must not be able to ask for thousands.
pub const MAX_QUERY_PARAMS: usize = 50;
pub const MAX_FILTER_TAGS: usize = 10;

/// The list parameters, parsed from the raw query string so repeated keys (`tag`) survive and
/// every bad value is reported by name. Shared by every list-shaped endpoint (JSON and feeds):
/// parse, then [`ListParams::query`] for the store.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub tags: Vec<String>,
    /// Author slugs, every one required.
    pub authors: Vec<String>,
    pub search: Vec<SearchTerm>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// `None`: not given, the default order.
    pub sort: Option<Sort>,
    /// `None`: every field.
    pub fields: Option<Vec<&'static str>>,
    pub count: bool,
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

impl ListStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ListStatus::Published => "published",
            ListStatus::Draft => "draft",
            ListStatus::Scheduled => "scheduled",
        }
    }
}

impl ListParams {
    pub fn parse(query: &str) -> ApiResult<Self> {
        let mut params = ListParams {
            limit: DEFAULT_LIMIT,
            ..ListParams::default()
        };
        if url::form_urlencoded::parse(query.as_bytes())
            .nth(MAX_QUERY_PARAMS)
            .is_some()
        {
            return Err(ApiError::invalid(
                "query",
                format!("the query string must have at most {MAX_QUERY_PARAMS} parameters"),
            ));
        }
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
                    let tag = normalise_tag(&value)?;
                    if !params.tags.contains(&tag) {
                        if params.tags.len() == MAX_FILTER_TAGS {
                            return Err(ApiError::invalid(
                                "tag",
                                format!("at most {MAX_FILTER_TAGS} different tags may be given"),
                            ));
                        }
                        params.tags.push(tag);
                    }
                }
                "author" => {
                    let author = value.trim().to_owned();
                    if !crate::schema::is_slug(&author) {
                        return Err(ApiError::invalid("author", crate::schema::SLUG_RULE));
                    }
                    if !params.authors.contains(&author) {
                        params.authors.push(author);
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
                        let field = ITEM_FIELDS.iter().find(|f| *f == name).ok_or_else(|| {
                            ApiError::invalid(
                                "fields",
                                format!(
                                    "`{name}` is not a field; choose from {}",
                                    ITEM_FIELDS.join(", ")
                                ),
                            )
                        })?;
                        if !fields.contains(&field.as_str()) {
                            fields.push(field.as_str());
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

    /// The query string of the page after this one: these parameters, written out canonically
    /// (so every request that shares a cached page shares its `Link` too), with `next` as the
    /// cursor. Parameters the list ignores are left out.
    pub fn next_query(&self, next: &Cursor) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if self.limit != DEFAULT_LIMIT {
            out.append_pair("limit", &self.limit.to_string());
        }
        for tag in &self.tags {
            out.append_pair("tag", tag);
        }
        for author in &self.authors {
            out.append_pair("author", author);
        }
        if !self.search.is_empty() {
            out.append_pair("q", &search_text(&self.search));
        }
        if let Some(since) = self.since {
            out.append_pair("since", &rfc3339(since));
        }
        if let Some(until) = self.until {
            out.append_pair("until", &rfc3339(until));
        }
        if let Some(sort) = self.sort {
            out.append_pair("sort", sort.as_str());
        }
        if let Some(fields) = &self.fields {
            out.append_pair("fields", &fields.join(","));
        }
        if self.count {
            out.append_pair("count", "true");
        }
        if let Some(status) = self.status {
            out.append_pair("status", status.as_str());
        }
        out.append_pair("cursor", &next.encode());
        out.finish()
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
            authors: self.authors.clone(),
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
pub(crate) fn parse_bound(name: &str, value: &str, end_of_day: bool) -> ApiResult<DateTime<Utc>> {
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

/// `terms` as `q` text that [`search_terms`] reads back as the same terms: a word as itself, a
/// phrase in quotes, a prefix with its `*`.
fn search_text(terms: &[SearchTerm]) -> String {
    let written: Vec<String> = terms
        .iter()
        .map(|term| {
            let words = term.words.join(" ");
            let star = if term.prefix { "*" } else { "" };
            if term.words.len() > 1 {
                format!("\"{words}\"{star}")
            } else {
                format!("{words}{star}")
            }
        })
        .collect();
    written.join(" ")
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

/// List news items, newest first, with keyset paging.
#[utoipa::path(
    get,
    path = "/api/v1/news",
    operation_id = "listNews",
    tag = "news",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "Opaque position from `next_cursor` or the `Link` header"),
        ("tag" = Option<Vec<String>>, Query, explode = true, description = "Only items with every given tag (repeatable, at most 10 different; at most 50 parameters in all)"),
        ("author" = Option<Vec<String>>, Query, explode = true, description = "Only items naming every given author, by slug (repeatable)"),
        ("q" = Option<String>, Query, max_length = 500, description = "Full-text search over title, summary and body: words (all must match), `\"a phrase\"`, `prefix*` (3+ letters). At most 500 characters and 16 terms"),
        ("since" = Option<String>, Query, description = "Published at or after: RFC 3339, or a date (`2018-03-01`, from the start of that day, UTC)"),
        ("until" = Option<String>, Query, description = "Published at or before: RFC 3339, or a date (to the end of that day, UTC)"),
        ("sort" = Option<String>, Query, pattern = "^(-published_at|published_at|relevance)$", description = "`-published_at` (newest first, the default), `published_at`, or `relevance` (with `q`)"),
        ("fields" = Option<String>, Query, description = "Comma-separated item keys to return (e.g. `id,title,published_at`); all when omitted"),
        ("count" = Option<bool>, Query, description = "`true` adds `total`, the number of matches"),
        ("status" = Option<String>, Query, pattern = "^(published|draft|scheduled)$", description = "Editors only: list drafts or scheduled items instead"),
    ),
    responses(
        (status = 200, description = "A page of items", body = NewsPage, headers(
            ("Link" = String, description = "RFC 8288 `<…>; rel=\"next\"` when another page follows"),
        )),
        (status = 400, description = "A parameter is invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`status` was given without a valid token", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"herald\"`"),
        )),
    ),
    security((), ("bearer" = [])),
)]
pub async fn list(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    let params = ListParams::parse(req.query_string())?;
    if params.status.is_none() && shared(&req) {
        // Visibility is filled in at render time; the key is the normalised request.
        let query = params.query(Visibility::Public {
            now: DateTime::UNIX_EPOCH,
        })?;
        let mut fields = params.fields.clone();
        if let Some(fields) = &mut fields {
            fields.sort_unstable();
        }
        let key = CacheKey::List { query, fields };
        return serve_cached(state, &req, &key, |now| async move {
            let query = params.query(Visibility::Public { now })?;
            list_page(state, &params, &query).await
        })
        .await;
    }
    let now = state.clock.now();
    let visibility = match params.status {
        None => Visibility::Public { now },
        Some(status) => {
            let editor = auth::authenticate(state, &req).await?;
            match status {
                ListStatus::Published => Visibility::Public { now },
                ListStatus::Draft => {
                    editor.require(Scope::ReadDrafts)?;
                    Visibility::Drafts
                }
                ListStatus::Scheduled => {
                    editor.require(Scope::ReadDrafts)?;
                    Visibility::Scheduled { now }
                }
            }
        }
    };
    let query = params.query(visibility)?;
    let mut response = list_page(state, &params, &query).await?.into_response();
    if params.status.is_some() {
        private(response.headers_mut());
    }
    Ok(response)
}

/// Whether a read may be answered from, and fill, the shared response cache: not when it
/// carries credentials (an editor's answers may show drafts, and a bad token must be refused).
pub(crate) fn shared(req: &HttpRequest) -> bool {
    !req.headers().contains_key(header::AUTHORIZATION)
}

/// Answers an anonymous read from the response cache, rendering with `render` once per change.
/// `render` makes the body and its headers; the answer is as new as the newest public change
/// (`Last-Modified`) and holds until the next scheduled item goes live.
pub(crate) async fn serve_cached<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    key: &CacheKey,
    render: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(DateTime<Utc>) -> Fut,
    Fut: Future<Output = ApiResult<Rendered>>,
{
    from_cache(state, req, key, |now| async move {
        let rendered = render(now).await?;
        Ok(Rendered {
            updated: state.json_caching.last_change().await?,
            next_change: state.store.next_due(now).await?,
            ..rendered
        })
    })
    .await
}

/// A page of the list as JSON, with its `Link: rel="next"`; the caller adds the validators.
async fn list_page(
    state: &AppState,
    params: &ListParams,
    query: &ListQuery,
) -> ApiResult<Rendered> {
    let page = state.store.list(query).await?;
    let views = page
        .items
        .iter()
        .map(|item| ItemView::new(item, &state.urls));
    let next_cursor = page.next.map(|c| c.encode());
    let body = match &params.fields {
        None => json_bytes(&ListBody {
            items: views.collect(),
            next_cursor,
            total: page.total,
        })?,
        Some(fields) => json_bytes(&ListBody {
            items: views
                .map(|view| pick(view, fields))
                .collect::<ApiResult<Vec<_>>>()?,
            next_cursor,
            total: page.total,
        })?,
    };
    let mut rendered = Rendered::new(body, JSON, DateTime::UNIX_EPOCH, None);
    if let Some(next) = &page.next {
        let url = state
            .urls
            .url(&format!("api/v1/news?{}", params.next_query(next)));
        let link = HeaderValue::from_str(&format!("<{url}>; rel=\"next\""))
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("a Link header")))?;
        rendered.headers.push((header::LINK, link));
    }
    Ok(rendered)
}

pub(crate) const JSON: &str = "application/json";

/// One item. Anonymous readers see it once it is published and due; an editor's token shows
/// drafts and scheduled items too.
#[utoipa::path(
    get,
    path = "/api/v1/news/{key}",
    operation_id = "getNews",
    tag = "news",
    params(
        ("key" = String, Path, description = "The item's id or slug"),
        ("preview" = Option<String>, Query, description = "A preview token (`POST /api/v1/news/{key}/preview`): shows this item whatever its status"),
    ),
    responses(
        (status = 200, description = "The item", body = ItemView, headers(
            ("ETag" = String, description = "Strong validator; send it in `If-Match` to write safely"),
        )),
        (status = 401, description = "A token was sent but is not valid", body = Problem, content_type = "application/problem+json", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"herald\"`"),
        )),
        (status = 403, description = "The preview token is expired, tampered with or for another item", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item (or not yet public)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get(req: HttpRequest, key: web::Path<String>) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    if let Some(token) = previews::token_of(&req) {
        let item = previews::previewed(state, &key, &token).await?;
        let mut response = item_response(HttpResponse::Ok(), &item, &state.urls)?;
        previews::private(response.headers_mut());
        return Ok(response);
    }
    if shared(&req) {
        let cache_key = CacheKey::Item(key.clone());
        return serve_cached(state, &req, &cache_key, |now| async move {
            let item = fetch(state, &key, Visibility::Public { now }).await?;
            let body = item_json(&item, &state.urls)?;
            Ok(Rendered::new(body, JSON, DateTime::UNIX_EPOCH, None))
        })
        .await;
    }
    let editor = auth::optional(state, &req).await?;
    // A token without `read:drafts` reads as the public does.
    let visibility = match &editor {
        Some(editor) if editor.scopes.allows(Scope::ReadDrafts) => Visibility::All,
        _ => Visibility::Public {
            now: state.clock.now(),
        },
    };
    let item = fetch(state, &key, visibility).await?;
    let mut response = item_response(HttpResponse::Ok(), &item, &state.urls)?;
    if editor.is_some() {
        private(response.headers_mut());
    }
    Ok(response)
}

/// The item `key` (id or slug) names, if `visibility` lets it through; else a 404.
pub async fn fetch(state: &AppState, key: &str, visibility: Visibility) -> ApiResult<NewsItem> {
    state
        .store
        .get(&ItemKey::parse(key), visibility)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no news item `{key}`")))
}

/// A tag as given in a query or a feed path, as stored: trimmed and lower-case, never empty.
pub fn normalise_tag(raw: &str) -> ApiResult<String> {
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() {
        return Err(ApiError::invalid("tag", "must not be empty"));
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    /// Stands for a view serde cannot write (a map with non-string keys, a failing custom
    /// serialiser): what `item_json` must never turn into an empty 200.
    struct Unwritable;

    impl Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("cannot be written"))
        }
    }

    #[test]
    fn a_body_that_cannot_be_serialised_is_a_500_not_an_empty_200() {
        let err = json_bytes(&Unwritable).expect_err("a failure, not empty bytes");
        assert!(matches!(err, ApiError::Internal(_)), "{err:?}");
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    /// Through HTTP, in process, on a seeded store of its own: the item's body is there and its
    /// ETag is that body's.
    #[actix_web::test]
    async fn the_item_endpoint_answers_with_a_body_and_its_etag() {
        use std::sync::Arc;

        use actix_web::test;

        use crate::clock::{Clock, ManualClock};
        use crate::config::{DatabaseUrl, Settings};

        let dir = tempfile::TempDir::new().unwrap();
        let settings = Settings {
            database_url: DatabaseUrl::new(format!(
                "sqlite://{}",
                dir.path().join("herald.db").display()
            )),
            seed_dir: Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed")),
            ..Settings::default()
        };
        let base = url::Url::parse("http://news.test/").unwrap();
        let clock: Arc<dyn Clock> =
            Arc::new(ManualClock::new("2026-01-01T12:00:00Z".parse().unwrap()));
        let store = crate::store::connect(settings.database_url.expose())
            .await
            .unwrap();
        crate::startup::prepare_store(&store, &settings, &base, clock.as_ref())
            .await
            .unwrap();
        let state = web::Data::new(AppState::new(store, base, clock));
        let app = test::init_service(crate::startup::build_app(state)).await;

        let request = test::TestRequest::get().uri("/api/v1/news/1").to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let tag = response
            .headers()
            .get(header::ETAG)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = test::read_body(response).await;
        assert!(!body.is_empty(), "a 200 with an item, not an empty body");
        assert_eq!(tag, etag::strong(&body));
        let item: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(item["id"], 1);
    }
}
