use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiResult;
use crate::state::AppState;

/// 200 when the database answers; a failing store surfaces as a problem+json 500.
pub async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.store.ping().await?;
    // A probe must reach the service, not a cache.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({ "status": "ok" })))
}
