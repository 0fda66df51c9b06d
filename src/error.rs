//! One error type for the whole HTTP surface, rendered as RFC 9457 problem details in one place.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input, named by the field (body) or parameter (query) that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter or path segment that cannot be understood.
    #[error("invalid parameter `{}`: {}", .0.field, .0.message)]
    InvalidParameter(FieldError),
    /// The body is not JSON the endpoint can read.
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    /// Well-formed JSON whose fields break the rules; every broken field is listed.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    /// Carries the methods the resource does support, for the `Allow` header.
    #[error("method not allowed; this resource supports {0}")]
    MethodNotAllowed(&'static str),
    #[error("`{}` {}", .0.field, .0.message)]
    Conflict(FieldError),
    #[error("missing, unknown or revoked bearer token")]
    Unauthorized,
    /// Authenticated, or holding a preview token, but not allowed this: the message says why
    /// (for a token, the scope it lacks).
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests of one kind from one client: a 429 with `Retry-After` (seconds).
    #[error("too many {what}; try again in {retry_after} s")]
    TooManyRequests {
        what: &'static str,
        retry_after: u64,
    },
    #[error("the item changed since it was read (If-Match did not match)")]
    PreconditionFailed,
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("unsupported content type; send application/json")]
    UnsupportedMediaType,
    /// A body of a type the route does not take; the text says which it does.
    #[error("{0}")]
    UnsupportedType(String),
    /// A `Range` outside a file of this many bytes (RFC 9110 §15.5.17).
    #[error("the range lies outside the file's {0} bytes")]
    RangeNotSatisfiable(u64),
    /// The database cannot be reached (down, restarting, or every connection busy past the
    /// pool's timeout): a 503 with `Retry-After`, and service resumes by itself when it is back.
    /// The cause is logged, never sent.
    #[error("the database is unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// The request ran past its time budget (see `time_budget`): a 503 with `Retry-After`.
    #[error("the request took longer than its {0:?} budget; try again shortly")]
    TimedOut(std::time::Duration),
    /// Our fault. The cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
    /// `/readyz`: this replica should not get traffic yet; the text says why.
    #[error("not ready: {0}")]
    NotReady(String),
    /// The request's header fields add up to more than the limit (RFC 6585 §5).
    #[error("request header fields larger than {0} bytes")]
    HeadersTooLarge(usize),
}

/// Seconds a client is asked to wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// An error from below the HTTP layer: the database being away is a 503 wherever it surfaces
/// (a read, a token check, a feed render); anything else is our fault.
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if crate::store::is_unavailable(&e) {
            ApiError::Unavailable(e)
        } else {
            ApiError::Internal(e)
        }
    }
}

/// An RFC 9457 problem details body (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "about:blank",
    "title": "Bad Request",
    "status": 400,
    "detail": "invalid parameter `limit`: must be a whole number from 1 to 100",
    "errors": [{"field": "limit", "message": "must be a whole number from 1 to 100"}]
}))]
pub struct Problem<'a> {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status code's reason phrase.
    title: &'a str,
    status: u16,
    /// What went wrong, for a human.
    detail: String,
    /// Each invalid parameter or field, by name (400, 409 and 422).
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl ApiError {
    /// A 403 naming the scope the request's token lacks.
    pub fn missing_scope(scope: crate::auth::Scope) -> Self {
        ApiError::Forbidden(format!(
            "this token lacks the `{}` scope this request needs",
            scope.as_str()
        ))
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidParameter(FieldError::new(field, message))
    }

    fn errors(&self) -> Option<&[FieldError]> {
        match self {
            ApiError::InvalidParameter(e) | ApiError::Conflict(e) => Some(std::slice::from_ref(e)),
            ApiError::Validation(list) => Some(list),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(list) => {
                let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
                format!("invalid fields: {}", fields.join(", "))
            }
            ApiError::Internal(_) => "the server could not complete the request".to_owned(),
            ApiError::Unavailable(_) => "the database is unavailable; try again shortly".to_owned(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter(_) | ApiError::MalformedBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedType(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) | ApiError::NotReady(_) | ApiError::TimedOut(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "database unavailable");
            }
            _ => {}
        }
        let problem = Problem {
            // RFC 9457 §4.2.1: "about:blank" means the status code says it all; the
            // `errors` extension names the offending fields.
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            errors: self.errors(),
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"herald\""));
            }
            // RFC 9110 §15.5.6: a 405 lists what the resource does support.
            ApiError::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, *allow));
            }
            // RFC 9110 §10.2.3: when to come back.
            ApiError::Unavailable(_) | ApiError::NotReady(_) | ApiError::TimedOut(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
            }
            ApiError::RangeNotSatisfiable(len) => {
                response.insert_header((header::CONTENT_RANGE, format!("bytes */{len}")));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, (*retry_after).max(1)));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&problem).unwrap_or_default())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Conflict { field } => {
                ApiError::Conflict(FieldError::new(field, "is already taken by another item"))
            }
            StoreError::NotFound => ApiError::NotFound("no such news item".to_owned()),
            StoreError::Invalid { field, message } => {
                ApiError::Validation(vec![FieldError::new(field, message)])
            }
            StoreError::InUse(what) => ApiError::Conflict(FieldError::new("slug", what)),
            StoreError::Stale => ApiError::PreconditionFailed,
            StoreError::BadSearch(_) => ApiError::invalid("q", "cannot be searched for"),
            StoreError::Database(_) if e.is_unavailable() => ApiError::Unavailable(e.into()),
            StoreError::Corrupt(_) => ApiError::Internal(e.into()),
            StoreError::Database(e) => ApiError::Internal(e.into()),
            StoreError::Other(e) => e.into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
