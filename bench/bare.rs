//! The ceiling of the HTTP stack for `bench/json.sh`: a bare actix-web handler answering every
//! GET with the same bytes from memory and a strong ETag (304 when `If-None-Match` names it),
//! nothing else. Herald's feed path is measured against it.
//!
//!     cargo run --release --example bare -- 127.0.0.1:8090 feed.atom [HEADERS]
//!
//! HEADERS, a file of `name: value` lines (as `curl -D` writes them), adds those headers to
//! every answer: the stack's ceiling for Herald's exact header bytes, so what Herald's
//! middleware costs can be told apart from what its headers cost the connection.

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(bind), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: bare ADDR FILE [HEADERS]");
        std::process::exit(2);
    };
    let body = std::fs::read(&file)?;
    let extra: Vec<(header::HeaderName, HeaderValue)> = match args.next() {
        Some(headers) => std::fs::read_to_string(headers)?
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter_map(|(name, value)| {
                let name = header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
                let value = HeaderValue::from_str(value.trim()).ok()?;
                // What the handler sets itself, or actix does.
                let own = [
                    header::ETAG,
                    header::DATE,
                    header::CONTENT_LENGTH,
                    header::CONTENT_TYPE,
                ];
                (!own.contains(&name)).then_some((name, value))
            })
            .collect(),
        None => Vec::new(),
    };
    let etag = herald::etag::strong(&body);
    HttpServer::new(move || {
        // Each worker its own copies, as Herald's workers keep theirs.
        let body = Bytes::copy_from_slice(&body);
        let etag = HeaderValue::from_str(&etag).expect("an ETag is a valid header");
        let extra = extra.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            let fresh = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .is_some_and(|v| v == etag);
            let mut res = if fresh {
                HttpResponse::NotModified()
            } else {
                HttpResponse::Ok()
            };
            res.insert_header((header::ETAG, etag.clone()));
            for header in &extra {
                res.insert_header(header.clone());
            }
            let res = if fresh {
                res.finish()
            } else {
                res.content_type("application/atom+xml; charset=utf-8")
                    .body(body.clone())
            };
            async move { res }
        }))
    })
    .bind(bind)?
    .run()
    .await
}
