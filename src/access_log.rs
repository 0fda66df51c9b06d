//! What every request leaves behind: an id, one bounded access-log line, and its metrics.
//!
//! - **Request id.** A sane incoming `X-Request-Id` (what a proxy or the client already logged)
//!   is kept, anything else is replaced by a fresh UUID. It is returned in `X-Request-Id`, and
//!   the request runs inside a tracing span carrying it, so every log line of the request (the
//!   access line, a handler's error) names it.
//! - **Access line.** One line per request at INFO under the target `herald::access`. It is
//!   bounded whatever the client sends: the path and query are cut at [`MAX_LOGGED_URI`] bytes,
//!   a search's `q` shows only its length (what readers search for is theirs), and parameters
//!   that may carry a secret (`token`, `preview_token`, …) show as `***`. Headers are never
//!   logged, so neither is `Authorization`.
//! - **Metrics.** Count and duration by route template (never the raw path: the label set stays
//!   bounded), method and status class.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use tracing::{Instrument, Level};

use crate::metrics::{Metrics, RequestRecorder};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming request id kept; longer ones are replaced.
const MAX_REQUEST_ID: usize = 128;

/// Bytes of path and of query string an access line shows at most, each.
pub const MAX_LOGGED_URI: usize = 512;

/// Query parameters whose values may be secrets: never logged.
const SECRET_PARAMETERS: &[&str] = &[
    "token",
    "access_token",
    "preview",
    "preview_token",
    "key",
    "api_key",
    "secret",
    "password",
    "signature",
    "sig",
];

/// Middleware: see the module documentation.
pub struct AccessLog {
    metrics: Arc<Metrics>,
}

impl AccessLog {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

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
        // Once per worker: each keeps its own metric handles.
        ready(Ok(AccessLogService {
            service: Rc::new(service),
            metrics: Rc::new(RequestRecorder::new(self.metrics.clone())),
        }))
    }
}

pub struct AccessLogService<S> {
    service: Rc<S>,
    metrics: Rc<RequestRecorder>,
}

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let start = Instant::now();
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .filter(|v| v.to_str().is_ok_and(is_sane_request_id))
            .cloned()
            .unwrap_or_else(new_request_id);
        let span = tracing::info_span!("request", id = id.to_str().unwrap_or_default());
        let logging = tracing::enabled!(target: "herald::access", Level::INFO);
        let line = logging.then(|| {
            let peer = req
                .peer_addr()
                .map_or_else(|| "-".to_owned(), |a| a.ip().to_string());
            format!(
                "{peer} \"{} {} {:?}\"",
                req.method(),
                bounded_uri(req.uri()),
                req.version()
            )
        });
        let method = req.method().clone();
        let call = span.in_scope(|| self.service.call(req));
        let metrics = self.metrics.clone();
        Box::pin(
            async move {
                let mut res = call.await?;
                let status = res.status();
                let elapsed = start.elapsed();
                let route = res.request().match_pattern();
                metrics.observe(&method, route.as_deref(), status, elapsed);
                res.headers_mut().insert(REQUEST_ID, id);
                if let Some(line) = line {
                    let size = match res.response().body().size() {
                        BodySize::Sized(n) => n.to_string(),
                        _ => "-".to_owned(),
                    };
                    tracing::info!(
                        target: "herald::access",
                        "{line} {} {size} {:.3}ms",
                        status.as_u16(),
                        elapsed.as_secs_f64() * 1000.0
                    );
                }
                Ok(res)
            }
            .instrument(span),
        )
    }
}

/// A fresh request id: a random UUID, written straight into the header value.
fn new_request_id() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(id).expect("a UUID is a valid header value")
}

/// Visible ASCII without spaces or quotes, at most [`MAX_REQUEST_ID`] bytes: safe to echo in a
/// header and to write into a log line as it is.
pub fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// The request target as an access line shows it: path and query each cut at
/// [`MAX_LOGGED_URI`] bytes, `q` reduced to its length, secret-bearing parameters hidden.
pub fn bounded_uri(uri: &actix_web::http::Uri) -> String {
    let mut out = cut(uri.path(), MAX_LOGGED_URI);
    if let Some(query) = uri.query() {
        let shown: Vec<String> = query.split('&').map(logged_pair).collect();
        out.push('?');
        out.push_str(&cut(&shown.join("&"), MAX_LOGGED_URI));
    }
    out
}

fn logged_pair(pair: &str) -> String {
    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
    let name = key.to_ascii_lowercase();
    if name == "q" {
        format!("{key}=[{} bytes]", value.len())
    } else if SECRET_PARAMETERS.contains(&name.as_str()) {
        format!("{key}=***")
    } else {
        pair.to_owned()
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), marked `…(N bytes)` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        for good in ["abc", "0f8e-12", "trace:1/2+3=4@x", &"a".repeat(128)] {
            assert!(is_sane_request_id(good), "{good}");
        }
        for bad in ["", "a b", "a\"b", "ä", "x\ny", &"a".repeat(129)] {
            assert!(!is_sane_request_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn logged_uris_are_bounded_and_keep_no_search_or_secret() {
        let uri: actix_web::http::Uri = "/api/v1/news?q=my+secret+search&tag=a&token=s3cret"
            .parse()
            .unwrap();
        assert_eq!(
            bounded_uri(&uri),
            "/api/v1/news?q=[16 bytes]&tag=a&token=***"
        );
        let long = format!("/feed.rss?{}", "tag=x&".repeat(2000));
        let shown = bounded_uri(&long.parse().unwrap());
        assert!(shown.len() < 2 * MAX_LOGGED_URI, "{}", shown.len());
        assert!(shown.ends_with("(12000 bytes)"), "{shown}");
    }
}
