//! One log line per request, at INFO under the target `herald::access`.
//!
//! This replaces actix's `Logger`, which renders its format (several allocations) for every
//! request whatever the log level. Here the level is checked first, and when the line would be
//! dropped (`RUST_LOG=warn`, or `RUST_LOG=info,herald::access=off`) the request goes straight to
//! the service: no allocation, no boxed future.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::{Either, LocalBoxFuture};
use tracing::Level;

pub struct AccessLog;

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AccessLogService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLogService {
            service: Rc::new(service),
        }))
    }
}

pub struct AccessLogService<S> {
    service: Rc<S>,
}

type Logged<B> = LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>>;

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Either<S::Future, Logged<B>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if !tracing::enabled!(target: "herald::access", Level::INFO) {
            return Either::Left(self.service.call(req));
        }
        let service = self.service.clone();
        Either::Right(Box::pin(async move {
            let start = Instant::now();
            let peer = req
                .peer_addr()
                .map_or_else(|| "-".to_owned(), |a| a.ip().to_string());
            let line = format!("{} {} {:?}", req.method(), req.uri(), req.version());
            let res = service.call(req).await?;
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
        }))
    }
}
