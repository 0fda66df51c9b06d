//! Bearer authentication on the HTTP surface. Writes are wrapped in [`require_editor`], which
//! runs before any extractor, so an unauthenticated client never gets its body read.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::limits;
use crate::auth::{self, Editor, Scope};
use crate::error::{ApiError, ApiResult};
use crate::rate_limit::Kind;
use crate::state::AppState;

/// The editor behind a request that must be authenticated: a missing, malformed, unknown or
/// revoked token is a 401 (the header value itself is never logged or echoed).
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> ApiResult<Editor> {
    optional(state, req).await?.ok_or(ApiError::Unauthorized)
}

/// `None` for an anonymous request; a request that presents credentials must present good ones.
/// Failed attempts count against the client's address; past the limit it gets 429s, good
/// credentials or not, until the wait is over.
pub async fn optional(state: &AppState, req: &HttpRequest) -> ApiResult<Option<Editor>> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let client = limits::client_of(state, req);
    state
        .limits
        .check_blocked(&client)
        .map_err(|wait| limits::too_many(Kind::AuthFailures, wait))?;
    let editor = match value.to_str().ok().and_then(auth::bearer) {
        Some(token) => auth::verify(&state.store, token, state.clock.now()).await?,
        None => None,
    };
    match editor {
        Some(editor) => Ok(Some(editor)),
        None => {
            state
                .limits
                .auth_failed(&client)
                .map_err(|wait| limits::too_many(Kind::AuthFailures, wait))?;
            Err(ApiError::Unauthorized)
        }
    }
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
    let editor = authenticate(&state, req.request()).await?;
    if limits::is_write(req.method()) {
        limits::count_write(&state, req.request(), &editor.name)?;
    }
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

impl From<Scope> for ApiError {
    fn from(missing: Scope) -> Self {
        ApiError::missing_scope(missing)
    }
}
