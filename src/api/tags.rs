//! `/api/v1/tags`: every tag with the number of public items carrying it.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::feeds::app_state;
use super::news::{JSON, json_bytes, serve_cached, shared};
use super::read_only;
use crate::error::ApiResult;
use crate::response_cache::{CacheKey, Rendered};
use crate::state::AppState;
use crate::store::Visibility;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/api/v1/tags", list));
}

/// The contract of the route above.
#[derive(OpenApi)]
#[openapi(paths(list), components(schemas(TagsBody, TagView)))]
pub struct TagsDoc;

/// A tag and how many public items carry it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"tag": "press", "count": 2}))]
pub struct TagView {
    tag: String,
    #[schema(minimum = 1)]
    count: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = TagList)]
pub struct TagsBody {
    /// Most used first, then by name.
    tags: Vec<TagView>,
}

/// Every tag with its number of public items, most used first, then by name.
#[utoipa::path(
    get,
    path = "/api/v1/tags",
    operation_id = "listTags",
    tag = "news",
    responses((status = 200, description = "The tags in use", body = TagsBody)),
)]
pub async fn list(req: HttpRequest) -> ApiResult<HttpResponse> {
    let state = app_state(&req)?;
    if shared(&req) {
        return serve_cached(state, &req, &CacheKey::Tags, |now| render(state, now)).await;
    }
    Ok(render(state, state.clock.now()).await?.into_response())
}

/// The tags as public readers see them at `now`; the caller adds the validators.
async fn render(state: &AppState, now: DateTime<Utc>) -> ApiResult<Rendered> {
    let tags = state.store.tags(Visibility::Public { now }).await?;
    let body = json_bytes(&TagsBody {
        tags: tags
            .into_iter()
            .map(|t| TagView {
                tag: t.tag,
                count: t.count,
            })
            .collect(),
    })?;
    Ok(Rendered::new(body, JSON, DateTime::UNIX_EPOCH, None))
}
