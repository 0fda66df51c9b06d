//! `/healthz`: whether the service and its database answer.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::OpenApi;

use super::read_only;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/healthz", healthz));
}

/// The contract of the route above.
#[derive(OpenApi)]
#[openapi(paths(healthz), components(schemas(Health)))]
pub struct HealthDoc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// 200 when the database answers; a database that cannot be reached is a problem+json 503 with
/// `Retry-After` (load balancers take the replica out meanwhile), any other failure a 500.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "The service and its database answer", body = Health),
        (status = 500, description = "The database answers with an error", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database cannot be reached", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.store.ping().await?;
    // A probe must reach the service, not a cache.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(Health { status: "ok" }))
}
