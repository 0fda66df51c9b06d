//! HTTP handlers, one module per resource.

pub mod archives;
pub mod auth;
pub mod authors;
pub mod feeds;
pub mod health;
pub mod input;
pub mod limits;
pub mod media;
pub mod metrics;
pub mod news;
pub mod pages;
pub mod previews;
pub mod site;
pub mod sitemaps;
pub mod tags;
pub mod tokens;
pub mod webhooks;
pub mod write;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, guard, web};

use crate::error::ApiError;

/// All routes but the feeds (which `startup` mounts outside the caching middleware), one line
/// per resource module; each module documents its routes next to them (`openapi` merges those
/// documents). Anything unmatched is a problem+json 404, a known path with the wrong method a
/// 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::routes)
        .configure(tags::routes)
        .configure(authors::routes)
        .configure(media::routes)
        .configure(news::routes)
        .configure(pages::routes)
        .configure(archives::routes)
        .configure(site::routes)
        .configure(sitemaps::routes)
        .configure(tokens::routes)
        .configure(webhooks::routes)
        .default_service(web::to(not_found));
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".to_owned()))
}

/// The fallback of a resource: 405 with `Allow` naming the methods it has.
pub(crate) fn not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allow)) })
}

/// A resource that only reads: GET (and HEAD, which the caching middleware answers as a GET);
/// any other method is a 405.
pub(crate) fn read_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(not_allowed("GET, HEAD"))
}

/// GET, and HEAD (the HTTP/1 codec leaves the body out), for routes outside the caching
/// middleware that maps HEAD to GET for every other route: feeds and media files.
pub(crate) fn read() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// `route`, for editors only: the bearer token is checked before the handler runs.
pub(crate) fn editor_only(route: actix_web::Route) -> actix_web::Route {
    route.wrap(from_fn(auth::require_editor))
}
