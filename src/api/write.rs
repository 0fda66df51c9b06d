//! Writes to `/api/v1/news`: create, full replace, JSON Merge Patch, delete. Every route here is
//! wrapped in [`super::auth::require_editor`]; every committed write bumps the content revision.

use actix_web::error::JsonPayloadError;
use actix_web::http::header::{self, EntityTag, Header, IfMatch};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::api::news::{ItemView, item_etag, item_response};
use crate::api::{input, news};
use crate::auth::Editor;
use crate::error::{ApiError, ApiResult};
use crate::model::NewsItem;
use crate::openapi::{ItemInput, ItemPatch};
use crate::state::AppState;
use crate::store::Visibility;

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
    let now = state.clock.now();
    let item = input::parse_item(&body, None, now, &state.public_url)?;
    let (stored, _change) = state.store.create(&item, now).await?;
    state.items_changed(stored.tags.iter().map(String::as_str));
    tracing::info!(editor = %editor.name, id = stored.id, "news item created");
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, state.item_api_url(stored.id)));
    Ok(item_response(response, &stored, &state))
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
    let (stored, old_tags) = edit(state, req, key, async |current| {
        let now = state.clock.now();
        let merged;
        let doc = match how {
            Update::Replace => body,
            Update::MergePatch => {
                let mut doc = input::document(&current);
                input::merge_patch(&mut doc, body);
                merged = doc;
                &merged
            }
        };
        let item = input::parse_item(doc, Some(&current), now, &state.public_url)?;
        let (stored, _change) = state
            .store
            .replace(current.id, &item, Some(&current), now)
            .await?;
        Ok((stored, current.tags))
    })
    .await?;
    // A tag removed by the edit changes that tag's feed as much as one added.
    state.items_changed(
        old_tags
            .iter()
            .chain(stored.tags.iter())
            .map(String::as_str),
    );
    let action = match how {
        Update::Replace => "news item replaced",
        Update::MergePatch => "news item patched",
    };
    tracing::info!(editor = %editor.name, id = stored.id, "{action}");
    Ok(item_response(HttpResponse::Ok(), &stored, state))
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
    let (id, tags) = edit(&state, &req, &key, async |current| {
        let now = state.clock.now();
        state.store.delete(current.id, Some(&current), now).await?;
        Ok((current.id, current.tags))
    })
    .await?;
    state.items_changed(tags.iter().map(String::as_str));
    tracing::info!(editor = %editor.name, id, "news item deleted");
    Ok(HttpResponse::NoContent().finish())
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
            && !if_match(condition, &item_etag(&current, state))
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
fn if_match_header(req: &HttpRequest) -> ApiResult<Option<IfMatch>> {
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
fn if_match(condition: &IfMatch, etag: &str) -> bool {
    let Ok(ours) = etag.parse::<EntityTag>() else {
        return false;
    };
    match condition {
        IfMatch::Any => true,
        IfMatch::Items(tags) => tags.iter().any(|tag| tag.strong_eq(&ours)),
    }
}
