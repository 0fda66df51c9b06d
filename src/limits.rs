//! What one client may take of the server: the bytes of its request head. The timeouts
//! (header read time, idle keep-alive, the shutdown bound) are actix-web server settings,
//! applied in `startup` from [`crate::config::OpsSettings`].

use std::future::{Ready, ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::{Either, Ready as ReadyFuture, ok};

use crate::error::ApiError;

/// Middleware: a request whose header fields (names and values) add up to more than this many
/// bytes is answered 431 problem+json before any handler runs.
pub struct HeaderBudget(pub usize);

impl<S, B> Transform<S, ServiceRequest> for HeaderBudget
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = HeaderBudgetService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(HeaderBudgetService {
            service,
            max: self.0,
        }))
    }
}

pub struct HeaderBudgetService<S> {
    service: S,
    max: usize,
}

impl<S, B> Service<ServiceRequest> for HeaderBudgetService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<
        futures_util::future::MapOk<
            S::Future,
            fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>,
        >,
        ReadyFuture<Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        use futures_util::TryFutureExt;
        let used: usize = req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if used > self.max {
            let response = req.error_response(ApiError::HeadersTooLarge(self.max));
            return Either::Right(ok(response.map_into_right_body()));
        }
        Either::Left(
            self.service
                .call(req)
                .map_ok(ServiceResponse::map_into_left_body as fn(_) -> _),
        )
    }
}
