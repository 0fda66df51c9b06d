//! HTTP handlers, one module per resource.

pub mod auth;
pub mod health;
pub mod input;
pub mod news;
pub mod pages;
pub mod write;

use actix_web::middleware::from_fn;
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
                .app_data(write::json_config())
                .app_data(write::payload_config())
                .service(
                    web::resource("")
                        .route(web::get().to(news::list))
                        .route(
                            web::post()
                                .to(write::create)
                                .wrap(from_fn(auth::require_editor)),
                        )
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/{key}")
                        .route(web::get().to(news::get))
                        .route(
                            web::put()
                                .to(write::replace)
                                .wrap(from_fn(auth::require_editor)),
                        )
                        .route(
                            web::patch()
                                .to(write::patch)
                                .wrap(from_fn(auth::require_editor)),
                        )
                        .route(
                            web::delete()
                                .to(write::delete)
                                .wrap(from_fn(auth::require_editor)),
                        )
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

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".to_owned()))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
