use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// 200 when the database answers; a failing store surfaces as a problem+json 500.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "The service and its database answer", body = Health),
        (status = 500, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.store.ping().await?;
    // A probe must reach the service, not a cache.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(Health { status: "ok" }))
}
