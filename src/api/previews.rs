//! Draft previews over HTTP: `POST /api/v1/news/{key}/preview` hands out a signed link, and
//! `?preview=TOKEN` on the item's JSON (`/api/v1/news/{key}`) and HTML (`/news/{key}`) shows that
//! one item, whatever its status, to whoever holds the link: privately (`no-store`), never from or
//! into the shared response cache. A bad token is a 403, never the published version. Lists,
//! search and feeds do not look at the parameter.

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::news::{fetch, rfc3339};
use crate::auth::{Editor, Scope};
use crate::error::{ApiError, ApiResult};
use crate::model::NewsItem;
use crate::state::AppState;
use crate::store::Visibility;

/// The contract of the route (mounted in `news`, below its scope).
#[derive(OpenApi)]
#[openapi(paths(create), components(schemas(PreviewLink)))]
pub struct PreviewsDoc;

/// A preview link for one item.
#[derive(Serialize, ToSchema)]
pub struct PreviewLink {
    /// The signed token, for `?preview=`.
    token: String,
    /// The item's JSON with the token.
    url: String,
    /// The item's HTML page with the token.
    page_url: String,
    /// When the token stops working (RFC 3339).
    expires_at: String,
}

/// A signed link showing this item (draft or scheduled) to whoever holds it, until it expires
/// (`HERALD_PREVIEW_LIFETIME`, default an hour). Needs the `read:drafts` scope.
#[utoipa::path(
    post,
    path = "/api/v1/news/{key}/preview",
    operation_id = "previewNews",
    tag = "news",
    params(("key" = String, Path, description = "The item's id or slug")),
    responses(
        (status = 200, description = "The preview link", body = PreviewLink),
        (status = 404, description = "No such item", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    editor: Editor,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editor.require(Scope::ReadDrafts)?;
    let item = fetch(&state, &key, Visibility::All).await?;
    let expires = state.clock.now() + state.previews.lifetime;
    let token = state.previews.sign(item.id, expires);
    let query = format!("?preview={token}");
    let link = PreviewLink {
        url: format!("{}{query}", state.urls.item_api(item.id)),
        page_url: format!("{}{query}", state.urls.item_page(&item.slug)),
        expires_at: rfc3339(expires),
        token,
    };
    let mut response = HttpResponse::Ok().json(link);
    private(response.headers_mut());
    Ok(response)
}

/// The `preview` query parameter, if the request has one.
pub fn token_of(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "preview")
        .map(|(_, value)| value.into_owned())
}

/// The item `key` names, if `token` is a good preview token for it right now; else a 403.
pub async fn previewed(state: &AppState, key: &str, token: &str) -> ApiResult<NewsItem> {
    let item = fetch(state, key, Visibility::All).await?;
    state
        .previews
        .verify(token, item.id, state.clock.now())
        .map_err(|e| ApiError::Forbidden(e.to_string()))?;
    Ok(item)
}

/// A preview is for its holder only: no cache may keep it.
pub fn private(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
}
