//! HTTP handlers, one module per resource.

pub mod feeds;
pub mod health;
pub mod news;
pub mod pages;

use actix_web::{HttpResponse, web};

use crate::error::ApiError;

/// All routes. Anything unmatched is a problem+json 404, a known path with the wrong method a 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::scope("/api/v1").service(
            web::scope("/news")
                .service(
                    web::resource("")
                        .route(web::get().to(news::list))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/{key}")
                        .route(web::get().to(news::get))
                        .default_service(web::to(method_not_allowed)),
                ),
        ),
    )
    .service(
        web::resource("/news/{key}")
            .route(web::get().to(pages::item))
            .default_service(web::to(method_not_allowed)),
    )
    .default_service(web::to(not_found));
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".to_owned()))
}

pub(crate) async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
