//! `/api/v1/tags`: every tag with the number of public items carrying it.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::Visibility;

#[derive(Serialize)]
struct TagView {
    tag: String,
    count: i64,
}

#[derive(Serialize)]
struct TagsBody {
    tags: Vec<TagView>,
}

/// Most used first, then by name.
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
