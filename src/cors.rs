//! Cross-origin access for browser frontends, with actix-cors doing the protocol work.
//!
//! actix-cors applies one policy to every origin, but Herald needs two: anonymous reads, open to
//! any origin unless the operator restricts them, and authenticated writes, only ever from origins
//! listed by name. So two actix-cors policies are built and each request goes to the one its
//! `Origin` selects. A preflight the chosen policy refuses becomes a problem+json 400 naming the
//! header at fault.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::LazyLock;

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{Method, header};
use actix_web::{Error, HttpResponse, ResponseError};
use futures_util::FutureExt;
use futures_util::future::{Either, LocalBoxFuture, Map};

use crate::error::ApiError;

/// Browsers may cache a preflight answer this long (seconds).
const PREFLIGHT_MAX_AGE: usize = 600;

/// Response headers a script may read: caching validators, paging and created-item locations.
const EXPOSED: [header::HeaderName; 4] = [
    header::ETAG,
    header::LAST_MODIFIED,
    header::LINK,
    header::LOCATION,
];

/// Request headers a read may carry: conditional requests and content negotiation (and the
/// `Content-Type` some HTTP libraries add to every request).
const READ_HEADERS: [header::HeaderName; 6] = [
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    header::CACHE_CONTROL,
    header::CONTENT_TYPE,
    header::IF_MODIFIED_SINCE,
    header::IF_NONE_MATCH,
];

/// Which origins may do what, from `HERALD_CORS_ORIGINS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsOrigins {
    /// Reads (GET, HEAD) from any origin, without credentials.
    pub any_origin_reads: bool,
    /// Origins (`scheme://host[:port]`) allowed to read and to write with credentials.
    pub trusted: Vec<String>,
}

impl Default for CorsOrigins {
    /// Unset: anyone may read, nobody may write from a browser on another origin.
    fn default() -> Self {
        Self {
            any_origin_reads: true,
            trusted: Vec::new(),
        }
    }
}

impl std::str::FromStr for CorsOrigins {
    type Err = String;

    /// A comma-separated list of origins; `*` among them opens reads to every origin. An empty
    /// value means the default.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let entries: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Ok(Self::default());
        }
        let mut origins = Self {
            any_origin_reads: false,
            trusted: Vec::new(),
        };
        for entry in entries {
            if entry == "*" {
                origins.any_origin_reads = true;
                continue;
            }
            let origin = parse_origin(entry)?;
            if !origins.trusted.contains(&origin) {
                origins.trusted.push(origin);
            }
        }
        Ok(origins)
    }
}

/// An origin exactly as browsers send it in `Origin` (`https://example.org`, no path).
fn parse_origin(entry: &str) -> Result<String, String> {
    let url = url::Url::parse(entry).map_err(|e| format!("`{entry}` is not an origin: {e}"))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    let origin = url.origin();
    if !bare || !origin.is_tuple() || !url.username().is_empty() {
        return Err(format!(
            "`{entry}` is not an origin: write scheme://host[:port] and nothing else"
        ));
    }
    Ok(origin.ascii_serialization())
}

impl CorsOrigins {
    /// Anonymous reads, the same for every origin that is not trusted.
    fn public_policy(&self) -> Cors {
        let cors = Cors::default()
            .allowed_methods([Method::GET, Method::HEAD])
            .allowed_headers(READ_HEADERS)
            .expose_headers(EXPOSED)
            .max_age(PREFLIGHT_MAX_AGE);
        if self.any_origin_reads {
            // `*` tells browsers outright that no credentials go with these answers.
            cors.allow_any_origin().send_wildcard()
        } else {
            cors
        }
    }

    /// Reads and credentialed writes, for the listed origins only.
    fn trusted_policy(&self) -> Cors {
        let mut cors = Cors::default()
            .allowed_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allowed_headers(READ_HEADERS)
            .allowed_headers([
                header::AUTHORIZATION,
                header::IF_MATCH,
                header::IF_UNMODIFIED_SINCE,
            ])
            .expose_headers(EXPOSED)
            .supports_credentials()
            .max_age(PREFLIGHT_MAX_AGE);
        for origin in &self.trusted {
            cors = cors.allowed_origin(origin);
        }
        cors
    }

    /// The middleware for `App::wrap`.
    pub fn middleware(&self) -> CorsByOrigin {
        CorsByOrigin {
            trusted_origins: Rc::new(
                self.trusted
                    .iter()
                    .filter_map(|o| header::HeaderValue::from_str(o).ok())
                    .collect(),
            ),
            trusted: self.trusted_policy(),
            public: self.public_policy(),
        }
    }
}

/// Sends each request through the trusted or the public actix-cors policy, by its `Origin`.
pub struct CorsByOrigin {
    trusted_origins: Rc<HashSet<header::HeaderValue>>,
    trusted: Cors,
    public: Cors,
}

impl<S, B> Transform<S, ServiceRequest> for CorsByOrigin
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type InitError = ();
    type Transform = CorsByOriginService<S>;
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let service = Rc::new(service);
        let trusted = self.trusted.new_transform(service.clone());
        let public = self.public.new_transform(service.clone());
        let trusted_origins = self.trusted_origins.clone();
        Box::pin(async move {
            Ok(CorsByOriginService {
                trusted_origins,
                trusted: trusted.await?,
                public: public.await?,
                service,
            })
        })
    }
}

type CorsService<S> = <Cors as Transform<Rc<S>, ServiceRequest>>::Transform;

pub struct CorsByOriginService<S>
where
    Cors: Transform<Rc<S>, ServiceRequest>,
{
    trusted_origins: Rc<HashSet<header::HeaderValue>>,
    trusted: CorsService<S>,
    public: CorsService<S>,
    /// The wrapped service itself, for requests without `Origin`.
    service: Rc<S>,
}

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, Error>;

impl<S, B> Service<ServiceRequest> for CorsByOriginService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<
        Map<S::Future, fn(Result<ServiceResponse<B>, Error>) -> Answer<B>>,
        LocalBoxFuture<'static, Answer<B>>,
    >;

    forward_ready!(public);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Most requests (feed readers, curl, server-side frontends) send no `Origin`: actix-cors
        // would box a future and rebuild `Vary` for each. The same headers, made without either.
        if !req.headers().contains_key(header::ORIGIN) && req.method() != Method::OPTIONS {
            return Either::Left(
                self.service
                    .call(req)
                    .map(without_origin::<B> as fn(_) -> _),
            );
        }
        let trusted = req
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|o| self.trusted_origins.contains(o));
        let fut = if trusted {
            self.trusted.call(req)
        } else {
            self.public.call(req)
        };
        Either::Right(Box::pin(async move { fut.await.map(as_problem) }))
    }
}

/// What actix-cors adds to the answer to a request without `Origin`, whichever policy: the
/// exposed headers, and `Origin` and the preflight headers in `Vary` (appended to the first
/// `Vary` value, which replaces any others), on errors too. A shared cache must not hand a
/// copy without CORS headers to a browser.
fn without_origin<B>(answer: Result<ServiceResponse<B>, Error>) -> Answer<B> {
    match answer {
        Ok(mut res) => {
            add_no_origin_headers(res.headers_mut());
            Ok(res.map_into_left_body())
        }
        Err(mut err) => {
            err.add_response_mapper(|mut res: HttpResponse| {
                add_no_origin_headers(res.headers_mut());
                res
            });
            Err(err)
        }
    }
}

/// The request headers a CORS answer depends on, as actix-cors lists them in `Vary`.
macro_rules! cors_vary {
    () => {
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    };
}
const CORS_VARY: &str = cors_vary!();

/// [`EXPOSED`] as a header value, made once. Static, so answers copy no reference count that
/// every worker writes.
static EXPOSED_LIST: LazyLock<&'static str> = LazyLock::new(|| {
    let names: Vec<&str> = EXPOSED.iter().map(header::HeaderName::as_str).collect();
    Box::leak(names.join(", ").into_boxed_str())
});

fn add_no_origin_headers(headers: &mut header::HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static(&EXPOSED_LIST),
    );
    let mut values = headers.get_all(header::VARY);
    let vary = match (values.next(), values.next()) {
        (None, _) => header::HeaderValue::from_static(CORS_VARY),
        // What every cached answer says: no allocation for it.
        (Some(v), None) if v == "Accept-Encoding" => {
            header::HeaderValue::from_static(concat!("Accept-Encoding, ", cors_vary!()))
        }
        // Every value kept (`Authorization` among them): one `Vary` line replaces them all.
        _ => {
            let mut value = Vec::new();
            for v in headers.get_all(header::VARY) {
                value.extend_from_slice(v.as_bytes());
                value.extend_from_slice(b", ");
            }
            value.extend_from_slice(CORS_VARY.as_bytes());
            match header::HeaderValue::from_bytes(&value) {
                Ok(value) => value,
                Err(_) => return,
            }
        }
    };
    headers.insert(header::VARY, vary);
}

/// actix-cors answers a refused preflight with a plain-text 400; Herald's errors are problem+json.
fn as_problem<B>(res: ServiceResponse<EitherBody<B>>) -> ServiceResponse<EitherBody<B>> {
    let Some(refusal) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<CorsError>())
    else {
        return res;
    };
    let problem = match refusal {
        CorsError::MissingOrigin | CorsError::OriginNotAllowed => {
            ApiError::invalid("Origin", "is not allowed to make this request")
        }
        CorsError::MethodNotAllowed | CorsError::MissingRequestMethod => ApiError::invalid(
            "Access-Control-Request-Method",
            "is not allowed from this origin",
        ),
        CorsError::BadRequestMethod => {
            ApiError::invalid("Access-Control-Request-Method", "is not an HTTP method")
        }
        CorsError::HeadersNotAllowed => ApiError::invalid(
            "Access-Control-Request-Headers",
            "names a header not allowed from this origin",
        ),
        _ => ApiError::invalid(
            "Access-Control-Request-Headers",
            "is not a list of header names",
        ),
    };
    let (req, _) = res.into_parts();
    ServiceResponse::new(req, problem.error_response()).map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_wildcards_and_defaults() {
        let o: CorsOrigins = "https://a.example, http://127.0.0.1:8000/".parse().unwrap();
        assert!(!o.any_origin_reads);
        assert_eq!(o.trusted, ["https://a.example", "http://127.0.0.1:8000"]);
        let o: CorsOrigins = "*".parse().unwrap();
        assert_eq!(o, CorsOrigins::default());
        let o: CorsOrigins = "*,https://admin.example".parse().unwrap();
        assert!(o.any_origin_reads);
        assert_eq!(o.trusted, ["https://admin.example"]);
        assert_eq!("".parse::<CorsOrigins>().unwrap(), CorsOrigins::default());
    }

    #[test]
    fn rejects_what_is_not_an_origin() {
        for bad in [
            "example.org",
            "https://a.example/path",
            "https://u@a.example",
        ] {
            assert!(bad.parse::<CorsOrigins>().is_err(), "{bad}");
        }
    }
}
