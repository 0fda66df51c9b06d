//! `/healthz`: whether the service and its database answer (liveness); `/readyz`: whether this
//! replica should get traffic (readiness).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::OpenApi;

use super::read_only;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/healthz", healthz))
        .service(read_only("/readyz", readyz));
}

/// The contract of the route above.
#[derive(OpenApi)]
#[openapi(paths(healthz, readyz), components(schemas(Health)))]
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

/// 200 only when the database answers and every migration this build knows is applied (a
/// replica started before `herald migrate` ran, or on a database an older build migrated, is
/// not ready); otherwise a problem+json 503 with `Retry-After` saying which. `/healthz` stays
/// the liveness probe: a replica that is alive but not ready is not restarted, only left out.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "ready",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers and its migrations are current", body = Health),
        (status = 503, description = "Not ready: the database cannot be reached or has migrations to apply", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let current = state
        .store
        .migrations_current()
        .await
        .map_err(|e| ApiError::NotReady(format!("the database does not answer ({e})")))?;
    if !current {
        return Err(ApiError::NotReady(
            "the database has migrations to apply (run `herald migrate`)".to_owned(),
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(Health { status: "ready" }))
}
