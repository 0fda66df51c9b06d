//! Rate limits on the HTTP surface (see `rate_limit`): who the client is, and the 429s.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, web};

use crate::error::ApiError;
use crate::rate_limit::Kind;
use crate::state::AppState;

/// The client a request counts against (see `RateLimits::client`).
pub fn client_of(state: &AppState, req: &HttpRequest) -> String {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    state
        .limits
        .client(req.peer_addr().map(|a| a.ip()), forwarded)
}

/// A 429 for `kind`, to come back after `retry_after` seconds.
pub fn too_many(kind: Kind, retry_after: u64) -> ApiError {
    ApiError::TooManyRequests {
        what: kind.describe(),
        retry_after,
    }
}

/// Counts a write against its client address and its token.
pub fn count_write(state: &AppState, req: &HttpRequest, token_name: &str) -> Result<(), ApiError> {
    let by_client = client_of(state, req);
    state
        .limits
        .check(Kind::Writes, &by_client)
        .and_then(|()| {
            state
                .limits
                .check(Kind::Writes, &format!("token:{token_name}"))
        })
        .map_err(|wait| too_many(Kind::Writes, wait))
}

/// Whether a method writes (everything but reads and CORS preflights).
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware limiting anonymous reads per client address (`HERALD_RATE_LIMIT_READS`; off by
/// default, so public cached reads are not limited unless asked).
pub async fn limit_reads(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !is_write(req.method()) && !req.headers().contains_key(header::AUTHORIZATION) {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
        let client = client_of(&state, req.request());
        state
            .limits
            .check(Kind::Reads, &client)
            .map_err(|wait| too_many(Kind::Reads, wait))?;
    }
    next.call(req).await
}
