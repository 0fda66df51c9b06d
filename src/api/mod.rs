//! HTTP handlers, one module per resource.

pub mod auth;
pub mod feeds;
pub mod health;
pub mod input;
pub mod news;
pub mod pages;
pub mod tags;
pub mod write;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

/// All routes. Anything unmatched is a problem+json 404, a known path with the wrong method a 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .default_service(not_allowed("GET, HEAD")),
    )
    .service(
        web::scope("/api/v1")
            .service(
                web::resource("/tags")
                    .route(web::get().to(tags::list))
                    .default_service(not_allowed("GET, HEAD")),
            )
            .service(
                web::scope("/news")
                    .app_data(write::json_config())
                    .app_data(write::payload_config())
                    .service(
                        web::resource("")
                            .route(web::get().to(news::list))
                            .route(editor_only(web::post().to(write::create)))
                            .default_service(not_allowed("GET, HEAD, POST")),
                    )
                    .service(
                        web::resource("/{key}")
                            .route(web::get().to(news::get))
                            .route(editor_only(web::put().to(write::replace)))
                            .route(editor_only(web::patch().to(write::patch)))
                            .route(editor_only(web::delete().to(write::delete)))
                            .default_service(not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
                    ),
            ),
    )
    .service(
        web::resource("/news/{key}")
            .route(web::get().to(pages::item))
            .default_service(not_allowed("GET, HEAD")),
    )
    .default_service(web::to(not_found));
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".to_owned()))
}

/// The fallback of a resource: 405 with `Allow` naming the methods it has.
pub(crate) fn not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allow)) })
}

/// `route`, for editors only: the bearer token is checked before the handler runs.
fn editor_only(route: actix_web::Route) -> actix_web::Route {
    route.wrap(from_fn(auth::require_editor))
}
