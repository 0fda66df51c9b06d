//! Bearer authentication on the HTTP surface. Writes are wrapped in [`require_editor`], which
//! runs before any extractor, so an unauthenticated client never gets its body read.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::auth::{self, Editor};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The editor behind a request that must be authenticated: a missing, malformed, unknown or
/// revoked token is a 401 (the header value itself is never logged or echoed).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Editor> {
    optional(state, headers)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// `None` for an anonymous request; a request that presents credentials must present good ones.
pub async fn optional(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Editor>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(auth::bearer)
        .ok_or(ApiError::Unauthorized)?;
    auth::verify(&state.store, token)
        .await?
        .ok_or(ApiError::Unauthorized)
        .map(Some)
}

/// Middleware for write routes: authenticates, then hands the [`Editor`] to the handler.
pub async fn require_editor(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let editor = authenticate(&state, req.headers()).await?;
    req.extensions_mut().insert(editor);
    next.call(req).await
}

/// Extracts the editor [`require_editor`] authenticated; fails closed on an unwrapped route.
impl FromRequest for Editor {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Editor>()
                .cloned()
                .ok_or(ApiError::Unauthorized),
        )
    }
}
