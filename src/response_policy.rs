//! Headers every answer carries, whatever made it (a handler, the response cache, an error, a
//! middleware, the docs UI): one place, so no route can forget them.
//!
//! - `X-Content-Type-Options: nosniff`, so browsers never guess a script or page out of data.
//! - A charset on every text answer that has none (the docs UI sends bare `text/html`), so no
//!   browser guesses one either.
//! - `Cache-Control: private, no-store` on every answer to a write and to a request that carries
//!   credentials: both may hold drafts, and no cache, shared or private, may keep them. One policy
//!   for every such answer, whatever the handler set.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{Error, HttpResponse};
use futures_util::FutureExt;
use futures_util::future::{Either, Map, Ready, ready};

/// The `Cache-Control` of every write answer and every authenticated answer.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-store");

/// Whether the answer to `req` may show what only editors see: it writes, or it carries
/// credentials.
fn is_private(method: &Method, headers: &HeaderMap) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || headers.contains_key(header::AUTHORIZATION)
}

/// Adds the headers above; wrap it around everything but the access log.
pub struct ResponsePolicy;

impl<S, B> Transform<S, ServiceRequest> for ResponsePolicy
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = ResponsePolicyService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ResponsePolicyService { service }))
    }
}

pub struct ResponsePolicyService<S> {
    service: S,
}

type Answer<B> = Result<ServiceResponse<B>, Error>;

impl<S, B> Service<ServiceRequest> for ResponsePolicyService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    // Plain functions, not closures: no boxed future on the feed's hot path.
    type Future = Either<
        Map<S::Future, fn(Answer<B>) -> Answer<B>>,
        Map<S::Future, fn(Answer<B>) -> Answer<B>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if is_private(req.method(), req.headers()) {
            Either::Right(self.service.call(req).map(private::<B> as fn(_) -> _))
        } else {
            Either::Left(self.service.call(req).map(public::<B> as fn(_) -> _))
        }
    }
}

fn public<B>(answer: Answer<B>) -> Answer<B> {
    apply(answer, every_answer)
}

fn private<B>(answer: Answer<B>) -> Answer<B> {
    apply(answer, |headers| {
        every_answer(headers);
        headers.insert(header::CACHE_CONTROL, PRIVATE);
    })
}

/// Runs `add` on the answer's headers, errors that surface as `Err` included.
fn apply<B>(answer: Answer<B>, add: fn(&mut HeaderMap)) -> Answer<B> {
    match answer {
        Ok(mut res) => {
            add(res.headers_mut());
            Ok(res)
        }
        Err(mut err) => {
            err.add_response_mapper(move |mut res: HttpResponse| {
                add(res.headers_mut());
                res
            });
            Err(err)
        }
    }
}

fn every_answer(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(with_charset) = headers.get(header::CONTENT_TYPE).and_then(with_charset) {
        headers.insert(header::CONTENT_TYPE, with_charset);
    }
}

/// `content_type` with `; charset=utf-8` added, if it is text without a charset (everything
/// Herald and its docs UI send is UTF-8). JSON has no charset parameter (RFC 8259 §11).
fn with_charset(content_type: &HeaderValue) -> Option<HeaderValue> {
    let value = content_type.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    let text = essence.starts_with("text/")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/javascript" | "application/xml" | "application/yaml"
        );
    // No lowercased copy: this runs on every answer, feeds included.
    let has_charset = value
        .as_bytes()
        .windows(b"charset=".len())
        .any(|w| w.eq_ignore_ascii_case(b"charset="));
    if !text || has_charset {
        return None;
    }
    HeaderValue::from_str(&format!("{value}; charset=utf-8")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_gets_a_charset_once_and_json_none() {
        let add = |ct: &'static str| with_charset(&HeaderValue::from_static(ct));
        assert_eq!(add("text/html").unwrap(), "text/html; charset=utf-8");
        assert_eq!(
            add("application/javascript").unwrap(),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(add("text/html; charset=UTF-8"), None);
        assert_eq!(add("application/rss+xml; charset=utf-8"), None);
        assert_eq!(add("application/json"), None);
        assert_eq!(add("application/problem+json"), None);
        assert_eq!(add("image/png"), None);
    }
}
