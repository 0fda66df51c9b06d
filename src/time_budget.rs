//! A time budget per request: whatever the cause (a slow database, a heavy render, a bug), no
//! request holds its worker past the budget. Past it the client gets a 503 problem+json with
//! `Retry-After`, and the log names the request. Reads get a short budget, writes a longer one
//! (rendering and sanitising a body, a compare-and-swap that retries).
//!
//! A budget can only stop a request where it waits (`.await`); CPU-heavy work (rendering,
//! compressing) runs on the blocking pool for that reason, and goes on there to its end while
//! the client already has its answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{Method, Uri};
use futures_util::future::{Ready, ready};

use crate::error::ApiError;

/// Reads: above the database's default acquire timeout (5 s), so a database that is away is
/// still reported as such.
pub const DEFAULT_READ_SECS: &str = "6";
pub const DEFAULT_WRITE_SECS: &str = "10";

/// How long one request may take, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBudget {
    /// GET, HEAD, OPTIONS.
    pub read: Duration,
    /// Every other method.
    pub write: Duration,
}

impl Default for TimeBudget {
    fn default() -> Self {
        let secs = |value| parse_secs(value).expect("the defaults are valid");
        Self {
            read: secs(DEFAULT_READ_SECS),
            write: secs(DEFAULT_WRITE_SECS),
        }
    }
}

impl TimeBudget {
    pub fn for_method(&self, method: &Method) -> Duration {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            self.read
        } else {
            self.write
        }
    }
}

/// A positive number of seconds (fractions allowed), for the budget flags.
pub fn parse_secs(value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err("must be more than 0 and at most 86400 seconds".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

impl<S, B> Transform<S, ServiceRequest> for TimeBudget
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = TimeBudgetService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TimeBudgetService {
            service,
            budget: *self,
        }))
    }
}

pub struct TimeBudgetService<S> {
    service: S,
    budget: TimeBudget,
}

impl<S, B> Service<ServiceRequest> for TimeBudgetService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Budgeted<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let budget = self.budget.for_method(req.method());
        // Kept for the log line; the request itself cannot be kept (routing needs it unshared).
        let (method, uri) = (req.method().clone(), req.uri().clone());
        Budgeted {
            inner: tokio::time::timeout(budget, self.service.call(req)),
            method,
            uri,
            budget,
        }
    }
}

pin_project_lite::pin_project! {
    /// The wrapped service's answer, or a 503 once the budget has passed.
    pub struct Budgeted<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        method: Method,
        uri: Uri,
        budget: Duration,
    }
}

impl<F, B> Future for Budgeted<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<B>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(answer)) => Poll::Ready(answer),
            Poll::Ready(Err(_elapsed)) => {
                // The path only: query strings may carry search terms.
                tracing::warn!(
                    method = %this.method,
                    path = this.uri.path(),
                    budget = ?*this.budget,
                    "request exceeded its time budget; answered 503"
                );
                // An error, not a response: the layers outside add their headers to it as to
                // any error, and no request is needed to build it.
                Poll::Ready(Err(ApiError::TimedOut(*this.budget).into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_get_the_longer_budget() {
        let budget = TimeBudget {
            read: Duration::from_secs(1),
            write: Duration::from_secs(9),
        };
        for read in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(budget.for_method(&read), Duration::from_secs(1));
        }
        for write in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(budget.for_method(&write), Duration::from_secs(9));
        }
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_secs("0").is_err() && parse_secs("-1").is_err());
    }
}
