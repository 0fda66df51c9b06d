//! One log line per request, at INFO under the target `herald::access`.
//!
//! This replaces actix's `Logger`, which renders its format (several allocations) for every
//! request whatever the log level. Here the level is checked first, so with `RUST_LOG=warn` (or
//! `RUST_LOG=info,herald::access=off`) a cached feed pays nothing for logging.

use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::Level;

pub async fn middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    if !tracing::enabled!(target: "herald::access", Level::INFO) {
        return next.call(req).await;
    }
    let start = Instant::now();
    let peer = req
        .peer_addr()
        .map_or_else(|| "-".to_owned(), |a| a.ip().to_string());
    let line = format!("{} {} {:?}", req.method(), req.uri(), req.version());
    let res = next.call(req).await?;
    let size = match res.response().body().size() {
        BodySize::Sized(n) => n.to_string(),
        _ => "-".to_owned(),
    };
    tracing::info!(
        target: "herald::access",
        "{peer} \"{line}\" {} {size} {:.3}ms",
        res.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    Ok(res)
}
