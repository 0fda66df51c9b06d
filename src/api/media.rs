//! `/api/v1/media`: image uploads (issue 16) — the bytes are the body, the type is the
//! `Content-Type` — and `/media/{path}`, where the original and every variant are served from
//! the store at content-addressed paths (cached for a year, strong ETags, 304s, ranges).

use std::sync::Arc;

use actix_web::http::header::{self, ByteRangeSpec, HeaderValue, Range};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{editor_only, not_allowed, read};
use crate::auth::{Editor, Scope};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::media::{CachedFile, ImageType, MediaError, Processed, is_content_path, sha256_hex};
use crate::state::AppState;
use crate::store::media::{MediaFileData, MediaFileInfo};
use crate::store::{Medium, StoreError, StoredMedium};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// Served files never change at their path.
pub const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/media")
            .service(
                web::resource("")
                    .route(editor_only(web::get().to(list)))
                    .route(editor_only(web::post().to(upload)))
                    .default_service(not_allowed("GET, HEAD, POST")),
            )
            .service(
                web::resource("/{id}")
                    .route(editor_only(web::get().to(get)))
                    .route(editor_only(web::delete().to(delete)))
                    .default_service(not_allowed("GET, HEAD, DELETE")),
            ),
    );
}

/// `/media/{path}`, mounted beside the feeds: it makes its own validators and caching headers.
pub fn file_routes(cfg: &mut web::ServiceConfig) {
    // Under a scope, like the author feeds: other requests compare its static prefix only.
    cfg.service(
        web::scope("/media")
            .service(
                web::resource("/{path}")
                    .route(read().to(serve))
                    .default_service(not_allowed("GET, HEAD")),
            )
            .default_service(web::to(super::not_found)),
    );
}

/// The contract of the routes above.
#[derive(OpenApi)]
#[openapi(
    paths(upload, list, get, delete, serve),
    components(schemas(MediumView, VariantView, MediaList))
)]
pub struct MediaDoc;

/// An uploaded image: the original as served (orientation applied, metadata stripped) and its
/// resized variants.
#[derive(Serialize, ToSchema)]
#[schema(as = Medium, example = json!({
    "id": 1, "url": "https://news.example/media/0c1f…e2.jpg", "type": "image/jpeg",
    "width": 800, "height": 600, "bytes": 81234, "created_at": "2026-12-01T10:00:00Z",
    "variants": [{"width": 320, "height": 240, "type": "image/jpeg", "url": "https://news.example/media/5a…9d.jpg"}]
}))]
pub struct MediumView {
    #[schema(minimum = 1)]
    id: i64,
    /// The original.
    url: String,
    #[serde(rename = "type")]
    kind: String,
    #[schema(minimum = 1)]
    width: i64,
    #[schema(minimum = 1)]
    height: i64,
    /// Size of the original as served.
    #[schema(minimum = 0)]
    bytes: i64,
    #[schema(format = DateTime)]
    created_at: String,
    /// Smaller copies (widths 320, 640, 1280, 1920 below the original's), each in the
    /// original's type and as WebP.
    variants: Vec<VariantView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = MediumVariant)]
pub struct VariantView {
    #[schema(minimum = 1)]
    width: i64,
    #[schema(minimum = 1)]
    height: i64,
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

#[derive(Serialize, ToSchema)]
pub struct MediaList {
    /// Newest first.
    media: Vec<MediumView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

impl MediumView {
    fn new(state: &AppState, m: &Medium) -> Self {
        let url = |f: &MediaFileInfo| crate::images::media_url(&state.urls, &f.path);
        Self {
            id: m.id,
            url: m.original().map(url).unwrap_or_default(),
            kind: m.kind.clone(),
            width: m.width,
            height: m.height,
            bytes: m.bytes,
            created_at: super::news::rfc3339(m.created_at),
            variants: m
                .variants()
                .map(|f| VariantView {
                    width: f.width,
                    height: f.height,
                    kind: f.kind.clone(),
                    url: url(f),
                })
                .collect(),
        }
    }
}

fn respond_medium(
    state: &AppState,
    mut response: actix_web::HttpResponseBuilder,
    medium: &Medium,
) -> ApiResult<HttpResponse> {
    response.insert_header((
        header::LOCATION,
        state.urls.url(&format!("api/v1/media/{}", medium.id)),
    ));
    Ok(response.json(MediumView::new(state, medium)))
}

/// `POST /api/v1/media`: the body is the image.
#[utoipa::path(
    post,
    path = "/api/v1/media",
    operation_id = "uploadMedia",
    tag = "media",
    request_body(
        description = "The image's bytes; `Content-Type` says which type they are",
        content(
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/webp"),
            (Vec<u8> = "image/gif"),
        ),
    ),
    responses(
        (status = 201, description = "Stored; `Location` names the new medium", body = MediumView,
         headers(("Location" = String, description = "The medium's API URL"))),
        (status = 200, description = "The same bytes were uploaded before: that medium", body = MediumView,
         headers(("Location" = String, description = "The medium's API URL"))),
        (status = 401, description = "Missing or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `media` scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `HERALD_MEDIA_MAX_BYTES`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`Content-Type` is not image/jpeg, image/png, image/webp or image/gif", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an image of the declared type, truncated or corrupt, too many pixels or frames (`errors` names `body`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    editor: Editor,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    editor
        .require(Scope::Media)
        .map_err(ApiError::missing_scope)?;
    let declared = declared_type(&req)?;
    let max = state.media.processor.settings().max_bytes;
    let body = read_body(&req, payload, max).await?;
    let source_hash = sha256_hex(&body);
    if let Some(medium) = state.store.medium_by_source(&source_hash).await? {
        return respond_medium(&state, HttpResponse::Ok(), &medium);
    }
    let processed = state
        .media
        .processor
        .process(body, declared)
        .await
        .map_err(media_error)?;
    let (medium, created) = state
        .store
        .create_medium(&stored(processed, state.clock.now()))
        .await?;
    tracing::info!(editor = %editor.name, medium = medium.id, created, "medium uploaded");
    let status = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    respond_medium(&state, status, &medium)
}

fn declared_type(req: &HttpRequest) -> ApiResult<ImageType> {
    let given = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ImageType::from_mime(given).ok_or_else(|| {
        ApiError::UnsupportedType(format!(
            "unsupported Content-Type `{given}`; send image/jpeg, image/png, image/webp or \
             image/gif with the image's bytes as the body"
        ))
    })
}

/// The body, refused as soon as it is known to pass `max` bytes (by its declared length, or
/// while it arrives).
async fn read_body(req: &HttpRequest, mut payload: web::Payload, max: usize) -> ApiResult<Bytes> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(ApiError::PayloadTooLarge(max));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::MalformedBody(e.to_string()))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn media_error(e: MediaError) -> ApiError {
    match e {
        MediaError::Internal(cause) => ApiError::Internal(cause),
        refused => ApiError::Validation(vec![FieldError::new("body", refused.to_string())]),
    }
}

fn stored(p: Processed, now: chrono::DateTime<chrono::Utc>) -> StoredMedium {
    let file = |f: crate::media::EncodedFile, original| MediaFileData {
        path: f.path,
        original,
        kind: f.kind.mime().to_owned(),
        width: i64::from(f.width),
        height: i64::from(f.height),
        data: f.data,
    };
    let mut files = vec![file(p.original, true)];
    files.extend(p.variants.into_iter().map(|v| file(v, false)));
    let o = &files[0];
    StoredMedium {
        id: 0,
        source_hash: p.source_hash,
        kind: o.kind.clone(),
        width: o.width,
        height: o.height,
        bytes: o.data.len() as i64,
        created_at: now,
        files,
    }
}

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("m1:{id}"))
}

fn decode_cursor(s: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("m1:")?
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// `GET /api/v1/media`: every medium, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/media",
    operation_id = "listMedia",
    tag = "media",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "Opaque position from `next_cursor`"),
    ),
    responses(
        (status = 200, description = "A page of media", body = MediaList),
        (status = 400, description = "A bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or bad token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut limit = DEFAULT_LIMIT;
    let mut before = None;
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit", "must be a whole number from 1 to 100")
                    })?;
            }
            "cursor" => {
                before = Some(decode_cursor(&value).ok_or_else(|| {
                    ApiError::invalid("cursor", "is not a cursor this API handed out")
                })?);
            }
            _ => {}
        }
    }
    let mut media = state.store.media(before, limit + 1).await?;
    let next_cursor = if media.len() > limit as usize {
        media.truncate(limit as usize);
        media.last().map(|m| encode_cursor(m.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(MediaList {
        media: media.iter().map(|m| MediumView::new(&state, m)).collect(),
        next_cursor,
    }))
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !id.to_string().is_empty())
        .ok_or_else(|| ApiError::NotFound("no such medium".to_owned()))
}

/// `GET /api/v1/media/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/media/{id}",
    operation_id = "getMedia",
    tag = "media",
    params(("id" = i64, Path, minimum = 1, description = "The medium's id")),
    responses(
        (status = 200, description = "The medium", body = MediumView),
        (status = 401, description = "Missing or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such medium", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn get(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let medium = state
        .store
        .medium(parse_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such medium".to_owned()))?;
    Ok(HttpResponse::Ok().json(MediumView::new(&state, &medium)))
}

/// `DELETE /api/v1/media/{id}` → 204; 409 while an item shows the medium.
#[utoipa::path(
    delete,
    path = "/api/v1/media/{id}",
    operation_id = "deleteMedia",
    tag = "media",
    params(("id" = i64, Path, minimum = 1, description = "The medium's id")),
    responses(
        (status = 204, description = "Deleted, with every file"),
        (status = 401, description = "Missing or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `media` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such medium", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An item shows the medium", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    editor: Editor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor
        .require(Scope::Media)
        .map_err(ApiError::missing_scope)?;
    let id = parse_id(&id)?;
    let paths = state.store.delete_medium(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("no such medium".to_owned()),
        StoreError::InUse(why) => ApiError::Conflict(FieldError::new("id", why)),
        other => other.into(),
    })?;
    for path in &paths {
        state.media.files.remove(path);
    }
    tracing::info!(editor = %editor.name, medium = id, "medium deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /media/{path}`: a stored file, from memory when hot.
#[utoipa::path(
    get,
    path = "/media/{path}",
    operation_id = "mediaFile",
    tag = "media",
    params(
        ("path" = String, Path, description = "A file's content-addressed name, as in a medium's URLs"),
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=0-99`)"),
        ("If-Range" = Option<String>, Header, description = "The ETag the range is for"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds"),
    ),
    responses(
        (status = 200, description = "The file", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"), (Vec<u8> = "image/gif"),
        )),
        (status = 206, description = "The requested range", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"), (Vec<u8> = "image/gif"),
        )),
        (status = 304, description = "The client's copy is current"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range lies outside the file", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let path = path.into_inner();
    if !is_content_path(&path) {
        return Err(ApiError::NotFound("no such media file".to_owned()));
    }
    let file = match state.media.files.get(&path) {
        Some(file) => file,
        None => {
            let blob = state
                .store
                .media_file(&path)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such media file".to_owned()))?;
            let stem = path.split_once('.').map_or(path.as_str(), |(stem, _)| stem);
            let file = Arc::new(CachedFile {
                content_type: HeaderValue::from_str(&blob.kind)
                    .map_err(|e| ApiError::Internal(e.into()))?,
                etag: HeaderValue::from_str(&format!("\"{stem}\""))
                    .map_err(|e| ApiError::Internal(e.into()))?,
                data: Bytes::from(blob.data),
            });
            state.media.files.insert(path, file.clone());
            file
        }
    };
    Ok(respond_file(&req, &file))
}

/// The file, or the part of it or the 304 the request's conditions and range ask for.
fn respond_file(req: &HttpRequest, file: &CachedFile) -> HttpResponse {
    let headers = req.headers();
    let etag = file.etag.to_str().unwrap_or_default();
    if crate::http_cache::not_modified(headers, etag, None) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, file.etag.clone()))
            .insert_header((header::CACHE_CONTROL, IMMUTABLE))
            .finish();
    }
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, file.etag.clone()))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")))
        .insert_header((header::CONTENT_TYPE, file.content_type.clone()));
    let len = file.data.len() as u64;
    // RFC 9110 §13.1.5: a range for another version (or a date: there is no Last-Modified)
    // gets the whole file.
    let range_applies = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let range = headers
        .get(header::RANGE)
        .filter(|_| range_applies)
        .and_then(|v| v.to_str().ok())
        .and_then(single_range);
    match range {
        None => response.body(file.data.clone()),
        Some(range) => match range.to_satisfiable_range(len) {
            Some((first, last)) => {
                response.status(actix_web::http::StatusCode::PARTIAL_CONTENT);
                response
                    .insert_header((header::CONTENT_RANGE, format!("bytes {first}-{last}/{len}")));
                response.body(file.data.slice(first as usize..=last as usize))
            }
            None => actix_web::ResponseError::error_response(&ApiError::RangeNotSatisfiable(len)),
        },
    }
}

/// The one byte range of a `Range: bytes=…` header; anything else (other units, several
/// ranges, bad syntax) is ignored, and the whole file served, as RFC 9110 §14.2 allows.
fn single_range(value: &str) -> Option<ByteRangeSpec> {
    match value.parse::<Range>().ok()? {
        Range::Bytes(mut ranges) if ranges.len() == 1 => ranges.pop(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_resolve() {
        let r = |s| single_range(s).and_then(|r| r.to_satisfiable_range(100));
        assert_eq!(r("bytes=0-9"), Some((0, 9)));
        assert_eq!(r("bytes=90-"), Some((90, 99)));
        assert_eq!(r("bytes=-10"), Some((90, 99)));
        assert_eq!(r("bytes=-1000"), Some((0, 99)));
        assert_eq!(r("bytes=50-1000"), Some((50, 99)));
        assert_eq!(
            single_range("bytes=100-")
                .unwrap()
                .to_satisfiable_range(100),
            None
        );
        assert_eq!(
            single_range("bytes=-0").unwrap().to_satisfiable_range(100),
            None
        );
        for ignored in [
            "items=0-1",
            "bytes=5-1",
            "bytes=0-1,3-4",
            "bytes=x-",
            "bytes=-",
        ] {
            assert_eq!(single_range(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("bm9wZQ"), None);
    }
}
