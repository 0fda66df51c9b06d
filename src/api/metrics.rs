//! `/metrics`: the Prometheus text format (see `crate::metrics` for what it holds).

use actix_web::http::header;
use actix_web::{HttpResponse, guard, web};
use utoipa::OpenApi;

use super::read_only;
use crate::error::ApiResult;
use crate::metrics::{CONTENT_TYPE, ItemCounts};
use crate::state::AppState;
use crate::store::{DynStore, ListQuery, Visibility};

/// On the public address, unless `/metrics` has an address of its own: then the request
/// falls through to the 404 of unknown paths.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/metrics", metrics).guard(guard::fn_guard(|ctx| {
        ctx.app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.metrics_public)
    })));
}

/// The metrics address's only route.
pub fn own_address(cfg: &mut web::ServiceConfig) {
    cfg.service(read_only("/metrics", metrics));
}

/// The contract of the route above.
#[derive(OpenApi)]
#[openapi(paths(metrics))]
pub struct MetricsDoc;

/// Request counts and latencies by route template, the response cache, the database pool,
/// items by status and the build, in the Prometheus text exposition format. Served on the main
/// address unless `HERALD_METRICS_BIND` gives it an address of its own.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format, version 0.0.4", body = String, content_type = "text/plain"),
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let metrics = &state.metrics;
    metrics.sample_cache(state.responses.stats(), state.responses.budget());
    metrics.sample_pool(state.store.pool_stats());
    metrics.sample_items(item_counts(&state.store, state.clock.now()).await?);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(metrics.render()))
}

/// Items by status, from the counts the store keeps (a few rows read at any size).
async fn item_counts(
    store: &DynStore,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<ItemCounts> {
    let count = async |visibility| {
        let page = store
            .list(&ListQuery {
                visibility,
                limit: 1,
                count: true,
                ..ListQuery::default()
            })
            .await?;
        Ok::<_, crate::error::ApiError>(page.total.unwrap_or_default())
    };
    Ok(ItemCounts {
        published: count(Visibility::Public { now }).await?,
        scheduled: count(Visibility::Scheduled { now }).await?,
        drafts: count(Visibility::Drafts).await?,
    })
}
