//! Writes to `/api/v1/news`: create, full replace, JSON Merge Patch, delete. Every route here is
//! wrapped in [`super::auth::require_editor`]; every committed write bumps the content revision.

use actix_web::error::JsonPayloadError;
use actix_web::http::header::{self, EntityTag, Header, IfMatch};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::news::{ItemView, item_etag, item_response};
use crate::api::{input, news};
use crate::auth::{Editor, Scope};
use crate::error::{ApiError, ApiResult};
use crate::etag;
use crate::model::{NewsItem, Status};
use crate::state::AppState;
use crate::store::{Visibility, WriteItem};

/// The largest body accepted. Above the 1 MiB Markdown limit because JSON escaping can triple
/// a body (`\n`, `\uXXXX`); a Markdown field too long for its rule is still a 422 that says so.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How often a write without `If-Match` re-reads and retries when another write slipped in
/// between its read and its commit.
const ATTEMPTS: usize = 5;

/// Body parsing for write routes: JSON by content type (actix accepts `application/json` and
/// every `+json` type, `application/merge-patch+json` included), at most [`MAX_BODY_BYTES`],
/// errors as problem+json.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(true)
        .error_handler(|err, _req| body_error(err).into())
}

/// The same limit for any extractor reading raw bytes.
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_BODY_BYTES)
}

fn body_error(err: JsonPayloadError) -> ApiError {
    use actix_web::error::PayloadError;
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge(limit),
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            ApiError::PayloadTooLarge(MAX_BODY_BYTES)
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => ApiError::MalformedBody(e.to_string()),
        other => ApiError::MalformedBody(other.to_string()),
    }
}

/// The written item, twice: POST and PUT need a `title`; a PATCH (RFC 7396 merge patch) may
/// name any subset of the fields. One macro so the two can never disagree on the rest.
macro_rules! item_body {
    ($(#[$meta:meta])* $name:ident, $title:ty) => {
        #[derive(Serialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        $(#[$meta])*
        pub struct $name {
            /// 1 to 300 characters on one line (trimmed; no control characters). The same
            /// one-line pattern applies to link titles and tags.
            #[schema(
                nullable = false,
                min_length = 1,
                max_length = 300,
                pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
            )]
            pub title: $title,
            /// Lower-case ASCII letters, digits and hyphens, with at least one letter; unique.
            /// Derived from the title when omitted (and kept on edits).
            #[schema(
                pattern = "^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                max_length = 80
            )]
            pub slug: Option<String>,
            #[schema(max_length = 2000)]
            pub summary: Option<String>,
            /// Markdown, at most 1 MiB.
            pub content_markdown: Option<String>,
            /// RFC 3339, written in the years 1500 to 2500; defaults to now on create and to the
            /// current value on edits. A future time schedules the item.
            #[schema(format = DateTime, pattern = "^(1[5-9][0-9]{2}|2[0-4][0-9]{2}|2500)-")]
            pub published_at: Option<String>,
            /// `published` (default) or `draft`.
            #[schema(pattern = "^(published|draft)$")]
            pub status: Option<String>,
            /// Omitted: the links of the Markdown body, in order.
            #[schema(max_items = 100)]
            pub links: Option<Vec<LinkInput>>,
            /// Trimmed, lower-cased and de-duplicated; each 1 to 100 characters on one line, and
            /// not `.` or `..`.
            #[schema(inline = false, max_items = 100)]
            pub tags: Option<Vec<Tag>>,
            /// The byline: author slugs in order, each naming an author of `/api/v1/authors`,
            /// none twice.
            #[schema(max_items = 20, inline = false)]
            pub authors: Option<Vec<AuthorSlug>>,
            /// The item's image: an uploaded medium (`media_id`) or an image hosted elsewhere
            /// (`url`), with `alt` text; `null` removes it.
            #[schema(inline = false, nullable)]
            pub image: Option<ImageInput>,
            #[schema(read_only)]
            pub id: Option<i64>,
            #[schema(read_only)]
            pub content_html: Option<String>,
            #[schema(read_only)]
            pub created_at: Option<String>,
            #[schema(read_only)]
            pub updated_at: Option<String>,
            #[schema(read_only)]
            pub url: Option<String>,
        }
    };
}

item_body!(
    /// The body of POST and PUT. Any other field is a 422. The read-only fields of an item are
    /// accepted and ignored, so a client may send back what it read.
    #[schema(example = json!({
        "title": "Working Group Two discussed in Reuters article",
        "content_markdown": "Working Group Two was discussed by Reuters in an article by Telenor and telco disruption.\n\n[Reuters article](https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA)",
        "published_at": "2018-03-01T00:00:00Z",
        "tags": ["press"]
    }))]
    ItemInput,
    String
);

item_body!(
    /// The body of PATCH, an RFC 7396 merge patch: the fields to change; `null` removes a field
    /// so its default applies (a `title` cannot be removed).
    #[schema(example = json!({"summary": "Reuters on Working Group Two", "tags": ["press"]}))]
    ItemPatch,
    Option<String>
);

/// A tag as written: trimmed and lower-cased when stored. No control characters, something
/// besides spaces, and not `.` or `..` once trimmed (a tag's feed URL, `/tags/{tag}/feed.*`,
/// must lead to that tag): the pattern says "a character other than a space or a dot, or three
/// dots, or two words".
#[derive(Serialize, ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 100, pattern = "^(?:[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s.\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*|[^\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\u0000-\\u001f\\u007f-\\u009f]*|[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*[^\\S\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*)$", example = "press")]
pub struct Tag(String);

/// An author's slug, as an item's `authors` lists it.
#[derive(Serialize, ToSchema)]
#[schema(value_type = String, max_length = 80, pattern = "^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$", example = "ada-lovelace")]
pub struct AuthorSlug(String);

/// An item's image as written: exactly one of `media_id` and `url`, and `alt` text (required:
/// readers who cannot see the image hear it). A merge patch merges it member by member, so
/// switching between a medium and a URL sets the other to `null`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"url": "https://images.example/stand.jpg", "alt": "The team at the stand", "width": 1600, "height": 900}))]
pub struct ImageInput {
    /// An uploaded medium (`/api/v1/media`).
    #[schema(minimum = 1, nullable)]
    pub media_id: Option<i64>,
    /// An absolute http(s) URL of an image hosted elsewhere.
    #[schema(
        max_length = 2000,
        nullable,
        pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\\x21-\\x7e]*)?$"
    )]
    pub url: Option<String>,
    /// Pixels, for a `url` image only (a medium's are known).
    #[schema(minimum = 1, maximum = 100000, nullable)]
    pub width: Option<u32>,
    #[schema(minimum = 1, maximum = 100000, nullable)]
    pub height: Option<u32>,
    /// Describes the image; 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub alt: String,
    #[schema(max_length = 2000, nullable)]
    pub caption: Option<String>,
    #[schema(max_length = 300, nullable)]
    pub credit: Option<String>,
}

/// A link as written: a title and an absolute http(s) URL with a host name.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Reuters article"
    )]
    pub title: String,
    #[schema(
        pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\\x21-\\x7e]*)?$",
        example = "https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA"
    )]
    pub url: String,
}

/// `POST /api/v1/news` → 201, `Location` and the stored item.
#[utoipa::path(
    post,
    path = "/api/v1/news",
    operation_id = "createNews",
    tag = "news",
    request_body(content = ItemInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ItemView, headers(
            ("Location" = String, description = "The item's API URL"),
            ("ETag" = String, description = "The item's validator"),
        )),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    editor: Editor,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Write)?;
    let now = state.clock.now();
    let mut item =
        input::parse_item_off_worker(body.into_inner(), None, now, state.urls.base().clone())
            .await?;
    input::size_media_images(&state.store, &state.urls, &mut item).await?;
    needs_publish(&editor, None, &item)?;
    let writing = state.events.writing();
    let (stored, change) = state.store.create(&item, now).await?;
    state.changed(&change);
    drop(writing);
    tracing::info!(editor = %editor.name, id = stored.id, "news item created");
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, state.urls.item_api(stored.id)));
    item_response(response, &stored, &state.urls)
}

/// `PUT /api/v1/news/{key}`: the body is the whole new item.
#[utoipa::path(
    put,
    path = "/api/v1/news/{key}",
    operation_id = "replaceNews",
    tag = "news",
    params(("key" = String, Path, description = "The item's id or slug")),
    request_body(content = ItemInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated item", body = ItemView, headers(
            ("ETag" = String, description = "The new validator"),
        )),
    ),
    security(("bearer" = [])),
)]
pub async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    editor: Editor,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    update(&state, &req, &editor, &key, &body, Update::Replace).await
}

/// `PATCH /api/v1/news/{key}`: an RFC 7396 merge patch over the item's writable fields.
#[utoipa::path(
    patch,
    path = "/api/v1/news/{key}",
    operation_id = "patchNews",
    tag = "news",
    params(("key" = String, Path, description = "The item's id or slug")),
    request_body(content = ItemPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated item", body = ItemView, headers(
            ("ETag" = String, description = "The new validator"),
        )),
    ),
    security(("bearer" = [])),
)]
pub async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    editor: Editor,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let Some(members) = body.as_object() else {
        return Err(ApiError::MalformedBody(
            "a merge patch for an item must be a JSON object".to_owned(),
        ));
    };
    let unknown = input::unknown_fields(members);
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    update(&state, &req, &editor, &key, &body, Update::MergePatch).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Update {
    Replace,
    MergePatch,
}

/// PUT and PATCH: the new item is the body itself, or the body merged into the current item.
async fn update(
    state: &AppState,
    req: &HttpRequest,
    editor: &Editor,
    key: &str,
    body: &Value,
    how: Update,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Write)?;
    let writing = state.events.writing();
    let (stored, change) = edit(state, req, key, async |current| {
        let now = state.clock.now();
        let doc = match how {
            Update::Replace => body.clone(),
            Update::MergePatch => {
                let mut doc = input::document(&current);
                input::merge_patch(&mut doc, body);
                doc
            }
        };
        let base = state.urls.base().clone();
        let mut item = input::parse_item_off_worker(doc, Some(current.clone()), now, base).await?;
        input::size_media_images(&state.store, &state.urls, &mut item).await?;
        needs_publish(editor, Some(&current), &item)?;
        Ok(state
            .store
            .replace(current.id, &item, Some(&current), now)
            .await?)
    })
    .await?;
    // The change names the tags before and after: a tag removed by the edit changes that
    // tag's feed as much as one added.
    state.changed(&change);
    drop(writing);
    let action = match how {
        Update::Replace => "news item replaced",
        Update::MergePatch => "news item patched",
    };
    tracing::info!(editor = %editor.name, id = stored.id, "{action}");
    item_response(HttpResponse::Ok(), &stored, &state.urls)
}

/// `DELETE /api/v1/news/{key}` → 204; the item is gone from the API and every feed.
#[utoipa::path(
    delete,
    path = "/api/v1/news/{key}",
    operation_id = "deleteNews",
    tag = "news",
    params(("key" = String, Path, description = "The item's id or slug")),
    responses(
        (status = 204, description = "Deleted"),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    editor: Editor,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::Publish)?;
    let writing = state.events.writing();
    let change = edit(&state, &req, &key, async |current| {
        let now = state.clock.now();
        Ok(state.store.delete(current.id, Some(&current), now).await?)
    })
    .await?;
    state.changed(&change);
    drop(writing);
    tracing::info!(editor = %editor.name, id = change.item_id, "news item deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// A `write` token keeps to drafts: making or keeping an item published (or scheduled) needs
/// `publish`, as does editing an item that is published already.
fn needs_publish(editor: &Editor, current: Option<&NewsItem>, item: &WriteItem) -> ApiResult<()> {
    let published = |status| status == Status::Published;
    if published(item.draft.status) || current.is_some_and(|c| published(c.status)) {
        editor.require(Scope::Publish)?;
    }
    Ok(())
}

/// Read, check `If-Match`, write: the write is a compare-and-swap against the version read, so
/// the precondition still holds at commit. When the client pinned no version, a lost race just
/// means reading again (a merge patch must apply to the latest item, not overwrite it).
async fn edit<T>(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    mut write: impl AsyncFnMut(NewsItem) -> ApiResult<T>,
) -> ApiResult<T> {
    let pinned = if_match_header(req)?;
    for _ in 0..ATTEMPTS {
        let current = news::fetch(state, key, Visibility::All).await?;
        if let Some(condition) = &pinned
            && !if_match(condition, &item_etag(&current, &state.urls)?)
        {
            return Err(ApiError::PreconditionFailed);
        }
        match write(current).await {
            Err(ApiError::PreconditionFailed) if pinned.is_none() => continue,
            done => return done,
        }
    }
    Err(ApiError::PreconditionFailed)
}

/// The request's `If-Match`, if it has one. A present one must be `*` or a non-empty list of
/// entity tags: anything else is the client's mistake (400), not a version mismatch (412).
pub(crate) fn if_match_header(req: &HttpRequest) -> ApiResult<Option<IfMatch>> {
    if !req.headers().contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    match IfMatch::parse(req) {
        Ok(IfMatch::Items(tags)) if tags.is_empty() => Err(if_match_invalid()),
        Ok(condition) => Ok(Some(condition)),
        Err(_) => Err(if_match_invalid()),
    }
}

fn if_match_invalid() -> ApiError {
    ApiError::invalid(
        "If-Match",
        "must be `*` or a comma-separated list of entity tags",
    )
}

/// Whether `condition` lets a write to the representation tagged `etag` go ahead (RFC 9110
/// §13.1.1: `*`, or any listed tag strongly equal).
pub(crate) fn if_match(condition: &IfMatch, etag: &str) -> bool {
    let Ok(ours) = etag.parse::<EntityTag>() else {
        return false;
    };
    match condition {
        IfMatch::Any => true,
        // A tag of any content coding (`"…-gzip"`) names the same item.
        IfMatch::Items(tags) => tags.iter().any(|tag| {
            etag::identity_of(&tag.to_string())
                .parse::<EntityTag>()
                .is_ok_and(|tag| tag.strong_eq(&ours))
        }),
    }
}
