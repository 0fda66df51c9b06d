//! `/api/v1/tags`: every tag with the number of public items carrying it.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::read_only;
use crate::error::ApiResult;
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
pub async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let tags = state.store.tags(Visibility::Public { now }).await?;
    Ok(HttpResponse::Ok().json(TagsBody {
        tags: tags
            .into_iter()
            .map(|t| TagView {
                tag: t.tag,
                count: t.count,
            })
            .collect(),
    }))
}
