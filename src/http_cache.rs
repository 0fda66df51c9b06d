//! HTTP caching (RFC 9110 §13, RFC 9111): validators, conditional GET/HEAD, `Cache-Control` and
//! content coding, for every successful GET.
//!
//! Two paths share the rules below:
//! - public reads (feeds, the anonymous JSON API, item pages) are [`Representation`]s built once
//!   per change (see `response_cache`), compressed up front, and answered by [`respond`] without
//!   touching the body; [`HttpCaching`] lets them pass;
//! - every other GET goes through [`HttpCaching`], which buffers the handler's body, tags it, and
//!   compresses it per request.

use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use actix_web::body::{self, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue, HttpDate};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use futures_util::future::{Either, LocalBoxFuture, Map, Ready, Then, ready};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::etag;
use crate::revision::Revision;
use crate::store::{DynStore, StoreResult};

/// Bodies smaller than this are sent as they are: compression would barely pay for its header.
const MIN_COMPRESS: usize = 512;

/// How long a remembered change time is trusted before the store is asked again, so a write by
/// another process (e.g. `herald import`) is noticed without a restart.
pub const RECHECK: Duration = Duration::seconds(60);

/// When a cached answer stops holding: at the next content revision (every write bumps it), or
/// when the next scheduled item goes live, or after [`RECHECK`] (other processes, such as
/// `herald import`, write without bumping this one's revision), whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    revision: u64,
    until: DateTime<Utc>,
}

impl Validity {
    /// For an answer built at `revision` and `now`, with the next scheduled change known.
    pub fn new(revision: u64, now: DateTime<Utc>, next_change: Option<DateTime<Utc>>) -> Self {
        let recheck = now + RECHECK;
        Self {
            revision,
            until: next_change.map_or(recheck, |t| t.min(recheck)),
        }
    }

    pub fn holds(&self, revision: u64, now: DateTime<Utc>) -> bool {
        self.revision == revision && now < self.until
    }
}

/// A modification time a second after `previous` at least, and not before `now`: where
/// `Last-Modified` goes when content changed but no remaining row is newer (a delete), so that
/// `If-Modified-Since` stops matching old copies.
pub fn moved_on(previous: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    now.max(previous + Duration::seconds(1))
}

/// `Cache-Control` for public responses, made once.
#[derive(Debug, Clone)]
pub struct CachePolicy {
    pub max_age: u32,
    public: HeaderValue,
}

impl CachePolicy {
    pub fn new(max_age: u32) -> Self {
        let public = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .expect("digits make a valid header");
        Self { max_age, public }
    }

    pub fn public(&self) -> &HeaderValue {
        &self.public
    }
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self::new(crate::config::DEFAULT_CACHE_MAX_AGE)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    fn name(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }

    fn header(self) -> Option<HeaderValue> {
        self.name().map(HeaderValue::from_static)
    }

    /// The ETag of the body tagged `identity` sent in this coding (see `etag::for_coding`).
    fn etag(self, identity: &str) -> HeaderValue {
        let tag = match self.name() {
            None => identity.to_owned(),
            Some(name) => etag::for_coding(identity, name),
        };
        HeaderValue::from_str(&tag).expect("an entity tag is a valid header")
    }
}

/// The coding to send for an `Accept-Encoding` value: brotli, else gzip, else identity, each
/// only if its q-value (explicit or through `*`) is above zero.
pub fn negotiate(accept: Option<&HeaderValue>) -> Coding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Coding::Identity;
    };
    let (mut br, mut gzip, mut star) = (None, None, None);
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let name = pieces.next().unwrap_or("").trim();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("br") {
            br = Some(q);
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(q);
        } else if name == "*" {
            star = Some(q);
        }
    }
    let br = br.or(star).unwrap_or(0.0);
    let gzip = gzip.or(star).unwrap_or(0.0);
    if br > 0.0 && br >= gzip {
        Coding::Brotli
    } else if gzip > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// Whether `If-None-Match` lists `etag` (weak comparison, RFC 9110 §13.1.2), in any content
/// coding: a cache holding the gzip copy learns from the 304's ETag which copy is current.
fn none_match(header: &str, etag: &str) -> bool {
    let opaque = |t: &str| etag::identity_of(t.trim().trim_start_matches("W/")).into_owned();
    let etag = opaque(etag);
    header.trim() == "*" || header.split(',').any(|t| opaque(t) == etag)
}

/// RFC 9110 §13.2.2 for GET and HEAD: `If-None-Match` decides when present; otherwise
/// `If-Modified-Since` answers "not modified" when the representation is not newer than it.
pub fn not_modified(headers: &HeaderMap, etag: &str, modified: Option<DateTime<Utc>>) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        return inm.to_str().is_ok_and(|v| none_match(v, etag));
    }
    let (Some(ims), Some(modified)) = (headers.get(header::IF_MODIFIED_SINCE), modified) else {
        return false;
    };
    parse_http_date(ims).is_some_and(|since| modified.timestamp() <= since.timestamp())
}

/// Any of the three HTTP-date forms (RFC 9110 §5.6.7).
fn parse_http_date(value: &HeaderValue) -> Option<DateTime<Utc>> {
    let date: HttpDate = value.to_str().ok()?.parse().ok()?;
    Some(DateTime::<Utc>::from(std::time::SystemTime::from(date)))
}

/// An IMF-fixdate for `Last-Modified`.
pub fn http_date(t: DateTime<Utc>) -> HeaderValue {
    let secs = u64::try_from(t.timestamp()).unwrap_or(0);
    let date = HttpDate::from(UNIX_EPOCH + StdDuration::from_secs(secs));
    HeaderValue::from_str(&date.to_string()).expect("an HTTP date is a valid header")
}

fn gzip(data: &[u8], level: u32) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::new(level),
    );
    encoder.write_all(data).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

fn brotli(data: &[u8], quality: u32) -> Option<Bytes> {
    let mut out = Vec::with_capacity(data.len() / 3);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, quality, 22);
        writer.write_all(data).ok()?;
    }
    Some(Bytes::from(out))
}

/// `value` in a buffer of its own (see [`Representation::local_copy`]).
pub fn local_header(value: &HeaderValue) -> HeaderValue {
    HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone())
}

/// A response body built once and served many times: validators and compressed forms included.
#[derive(Debug)]
pub struct Representation {
    content_type: HeaderValue,
    /// Of the identity body; each coding's is derived from it (`etag::for_coding`).
    etag: String,
    etag_header: HeaderValue,
    gzip_etag: HeaderValue,
    brotli_etag: HeaderValue,
    modified: DateTime<Utc>,
    last_modified: HeaderValue,
    identity: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
    /// Headers of this representation beyond the caching ones (`Link`, a page's CSP).
    extra: Vec<(HeaderName, HeaderValue)>,
}

/// How hard a representation is compressed: `Best` for answers many clients share (the main
/// and tag feeds, items), made once per change; `Quick` for what one client's filters made
/// (a `?since=` feed, a search page), where brotli 11 would cost more than it saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    Best,
    Quick,
}

impl Effort {
    /// gzip level and brotli quality.
    fn levels(self) -> (u32, u32) {
        match self {
            Effort::Best => (9, 11),
            Effort::Quick => (6, 4),
        }
    }
}

impl Representation {
    /// Tags and compresses `body` (maximum compression: this runs once per change).
    pub fn new(body: Vec<u8>, content_type: &'static str, modified: DateTime<Utc>) -> Self {
        Self::compressed(body, content_type, modified, Effort::Best)
    }

    /// Tags and compresses `body` as hard as `effort` says. CPU work: call it on the blocking
    /// pool for large bodies.
    pub fn compressed(
        body: Vec<u8>,
        content_type: &'static str,
        modified: DateTime<Utc>,
        effort: Effort,
    ) -> Self {
        let etag = etag::strong(&body);
        let worth = body.len() >= MIN_COMPRESS;
        let (gzip_level, brotli_quality) = effort.levels();
        let smaller = |c: Option<Bytes>| c.filter(|c| worth && c.len() < body.len());
        let gzip = smaller(gzip(&body, gzip_level));
        let brotli = smaller(brotli(&body, brotli_quality));
        Self {
            content_type: HeaderValue::from_static(content_type),
            etag_header: HeaderValue::from_str(&etag).expect("hex in quotes is a valid header"),
            gzip_etag: Coding::Gzip.etag(&etag),
            brotli_etag: Coding::Brotli.etag(&etag),
            etag,
            modified,
            last_modified: http_date(modified),
            identity: Bytes::from(body),
            gzip,
            brotli,
            extra: Vec::new(),
        }
    }

    /// Adds a header every answer with a body carries.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra.push((name, value));
        self
    }

    /// Bytes this representation holds: the body in every coding and its header values.
    pub fn weight(&self) -> usize {
        let coded = |b: &Option<Bytes>| b.as_ref().map_or(0, Bytes::len);
        let headers: usize = self
            .extra
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        self.identity.len()
            + coded(&self.gzip)
            + coded(&self.brotli)
            + headers
            + 2 * self.etag.len()
            + self.gzip_etag.len()
            + self.brotli_etag.len()
            + self.last_modified.len()
            + self.content_type.len()
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }

    pub fn modified(&self) -> DateTime<Utc> {
        self.modified
    }

    /// Moves `Last-Modified` (e.g. forward, when the body changed but no item got newer).
    pub fn set_modified(&mut self, modified: DateTime<Utc>) {
        self.modified = modified;
        self.last_modified = http_date(modified);
    }

    /// A copy sharing no buffer with `self`. Cloning a `Bytes` or `HeaderValue` bumps a
    /// reference count in its buffer; per-worker copies keep those counts off the cache lines
    /// other cores write.
    pub fn local_copy(&self) -> Self {
        let bytes = |b: &Bytes| Bytes::copy_from_slice(b);
        Self {
            content_type: local_header(&self.content_type),
            etag: self.etag.clone(),
            etag_header: local_header(&self.etag_header),
            gzip_etag: local_header(&self.gzip_etag),
            brotli_etag: local_header(&self.brotli_etag),
            modified: self.modified,
            last_modified: local_header(&self.last_modified),
            identity: bytes(&self.identity),
            gzip: self.gzip.as_ref().map(bytes),
            brotli: self.brotli.as_ref().map(bytes),
            extra: self
                .extra
                .iter()
                .map(|(name, value)| (name.clone(), local_header(value)))
                .collect(),
        }
    }

    fn body(&self, coding: Coding) -> (Coding, &Bytes) {
        match coding {
            Coding::Brotli if self.brotli.is_some() => (coding, self.brotli.as_ref().unwrap()),
            Coding::Gzip | Coding::Brotli if self.gzip.is_some() => {
                (Coding::Gzip, self.gzip.as_ref().unwrap())
            }
            _ => (Coding::Identity, &self.identity),
        }
    }

    fn etag_header(&self, coding: Coding) -> &HeaderValue {
        match coding {
            Coding::Identity => &self.etag_header,
            Coding::Gzip => &self.gzip_etag,
            Coding::Brotli => &self.brotli_etag,
        }
    }
}

/// The validators and caching headers every answer repeats, 200 or 304 (`fresh`). A 304 leaves
/// `Last-Modified` out: it always carries the ETag, and RFC 9110 §15.4.5 asks a 304 for no
/// metadata beyond what updates a cache (`Last-Modified` only "if the response does not have an
/// ETag"). The same strong ETag always comes with the same date here, so a cache loses nothing.
fn caching_headers(
    res: &mut HttpResponseBuilder,
    fresh: bool,
    etag: HeaderValue,
    last_modified: Option<&HeaderValue>,
    cache_control: HeaderValue,
) {
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Encoding")));
    if let Some(lm) = last_modified.filter(|_| !fresh) {
        res.insert_header((header::LAST_MODIFIED, lm.clone()));
    }
}

/// Answers a GET or HEAD for `rep`: 304 when the client's copy is current, else the body in the
/// best coding the client accepts. Nothing is rendered or compressed here.
pub fn respond(
    req: &HttpRequest,
    rep: &Representation,
    cache_control: &HeaderValue,
) -> HttpResponse {
    let headers = req.headers();
    let status = if not_modified(headers, &rep.etag, Some(rep.modified)) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    // A 304 carries the ETag its 200 would have: that of the coding this request gets.
    let (coding, body) = rep.body(negotiate(headers.get(header::ACCEPT_ENCODING)));
    let mut res = HttpResponse::build(status);
    // A representation may carry its own policy (a complete archive is immutable); it holds
    // for 304s too.
    let cache_control = rep
        .extra
        .iter()
        .find(|(name, _)| name == header::CACHE_CONTROL)
        .map_or(cache_control, |(_, value)| value);
    let fresh = status == StatusCode::NOT_MODIFIED;
    caching_headers(
        &mut res,
        fresh,
        rep.etag_header(coding).clone(),
        Some(&rep.last_modified),
        cache_control.clone(),
    );
    if fresh {
        return res.finish();
    }
    if let Some(value) = coding.header() {
        res.insert_header((header::CONTENT_ENCODING, value));
    }
    for (name, value) in &rep.extra {
        res.insert_header((name.clone(), value.clone()));
    }
    res.insert_header((header::CONTENT_TYPE, rep.content_type.clone()))
        .body(body.clone())
}

/// A response that already carries its validators, caching policy and coding (as [`respond`]
/// makes them) is left alone.
fn is_prepared(headers: &HeaderMap) -> bool {
    headers.contains_key(header::CONTENT_ENCODING)
        || (headers.contains_key(header::ETAG)
            && headers.contains_key(header::LAST_MODIFIED)
            && headers.contains_key(header::CACHE_CONTROL))
}

/// When public content last changed, remembered per content revision so JSON responses get a
/// `Last-Modified` without a query each. Never moves backwards while the process runs (nor
/// across restarts: the store's answer is read from what it keeps, public deletes included).
#[derive(Debug, Default)]
pub struct ChangeClock {
    memo: RwLock<Option<ChangeMemo>>,
}

#[derive(Debug, Clone, Copy)]
struct ChangeMemo {
    validity: Validity,
    value: DateTime<Utc>,
}

impl ChangeClock {
    /// When public content last changed, as of content `revision` and `now`; asks `store` only
    /// when the remembered answer no longer holds.
    pub async fn last_change(
        &self,
        store: &DynStore,
        revision: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        let previous = *self.memo.read().unwrap_or_else(|e| e.into_inner());
        if let Some(memo) = previous
            && memo.validity.holds(revision, now)
        {
            return Ok(memo.value);
        }
        let times = store.content_times(now).await?;
        // The store's answer counts deletes and leaves drafts and scheduled items out (their
        // writes must not tell anyone when editors work), so a new revision alone moves nothing.
        let mut value = times.last_change.unwrap_or(DateTime::UNIX_EPOCH);
        if let Some(memo) = previous {
            value = value.max(memo.value);
        }
        *self.memo.write().unwrap_or_else(|e| e.into_inner()) = Some(ChangeMemo {
            validity: Validity::new(revision, now, times.next_publication),
            value,
        });
        Ok(value)
    }
}

/// What [`HttpCaching`] needs, registered as its own `app_data` (`web::Data<JsonCaching>`):
/// where to ask when content changed, the revision that says it may have, and the
/// `Cache-Control` of public answers. Without it, answers get validators and the default
/// policy but no `Last-Modified`.
pub struct JsonCaching {
    store: DynStore,
    clock: Arc<dyn Clock>,
    revision: Revision,
    policy: CachePolicy,
    changes: ChangeClock,
}

impl JsonCaching {
    pub fn new(
        store: DynStore,
        clock: Arc<dyn Clock>,
        revision: Revision,
        policy: CachePolicy,
    ) -> Self {
        Self {
            store,
            clock,
            revision,
            policy,
            changes: ChangeClock::default(),
        }
    }

    /// When public content last changed (see [`ChangeClock`]).
    pub async fn last_change(&self) -> StoreResult<DateTime<Utc>> {
        self.changes
            .last_change(&self.store, self.revision.get(), self.clock.now())
            .await
    }
}

fn is_compressible(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/") || ct.contains("json") || ct.contains("xml"))
}

/// Caching for every GET (and HEAD, which is answered as a GET without the body): a strong ETag
/// of the body unless the handler set one, `Last-Modified`, `Cache-Control` unless the handler
/// set one, conditional 304s, and gzip/brotli. Responses that are already prepared (answers from
/// the response cache, made by [`respond`]) and errors pass untouched, without a boxed future:
/// they are most of the traffic.
pub struct HttpCaching;

impl<S, B> Transform<S, ServiceRequest> for HttpCaching
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = HttpCachingService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(HttpCachingService { service }))
    }
}

pub struct HttpCachingService<S> {
    service: S,
}

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;
type Served<B> = Result<ServiceResponse<B>, actix_web::Error>;
type Finished<B> = Either<Ready<Answer<B>>, LocalBoxFuture<'static, Answer<B>>>;

impl<S, B> Service<ServiceRequest> for HttpCachingService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<
        Map<S::Future, fn(Served<B>) -> Answer<B>>,
        Then<S::Future, Finished<B>, fn(Served<B>) -> Finished<B>>,
    >;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if req.method() == Method::HEAD {
            // Routes are GET routes; the HTTP/1 codec already knows to omit the body of a HEAD.
            req.head_mut().method = Method::GET;
        } else if req.method() != Method::GET {
            return Either::Left(self.service.call(req).map(untouched::<B> as fn(_) -> _));
        }
        Either::Right(self.service.call(req).then(finish::<B> as fn(_) -> _))
    }
}

fn untouched<B>(served: Served<B>) -> Answer<B> {
    served.map(ServiceResponse::map_into_left_body)
}

/// A 200 the handler left bare gets its validators and coding; anything else passes.
fn finish<B: MessageBody + 'static>(served: Served<B>) -> Finished<B> {
    match served {
        Ok(res) if res.status() == StatusCode::OK && !is_prepared(res.headers()) => {
            Either::Right(Box::pin(tag_and_compress(res)))
        }
        other => Either::Left(ready(untouched(other))),
    }
}

async fn tag_and_compress<B: MessageBody + 'static>(res: ServiceResponse<B>) -> Answer<B> {
    let (req, res) = res.into_parts();
    // Borrowed, not cloned: a clone is a reference-count bump shared by every worker.
    let caching = req.app_data::<Data<JsonCaching>>().map(|d| d.get_ref());
    let authed = req.headers().contains_key(header::AUTHORIZATION);
    let (mut res, body) = res.into_parts();
    let bytes = body::to_bytes(body).await.map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("reading a response body: {}", e.into()))
    })?;

    let headers = res.headers_mut();
    let etag = match headers.get(header::ETAG) {
        Some(tag) => tag.clone(),
        None => HeaderValue::from_str(&etag::strong(&bytes)).expect("hex in quotes"),
    };
    let (modified, modified_header) = match (headers.get(header::LAST_MODIFIED), caching) {
        (Some(value), _) => (parse_http_date(value), Some(value.clone())),
        (None, Some(caching)) => {
            let t = caching.last_change().await.map_err(ApiError::from)?;
            (Some(t), Some(http_date(t)))
        }
        (None, None) => (None, None),
    };
    let cache_control = match headers.get(header::CACHE_CONTROL) {
        Some(value) => value.clone(),
        // Answers to authenticated requests may hold drafts: never for shared caches.
        None if authed => crate::response_policy::PRIVATE,
        None => caching
            .map(|c| c.policy.public().clone())
            .unwrap_or_else(|| CachePolicy::default().public),
    };

    let tag = etag.to_str().unwrap_or("").to_owned();
    let fresh = not_modified(req.headers(), &tag, modified);
    let coding = if bytes.len() >= MIN_COMPRESS
        && !res.headers().contains_key(header::CONTENT_ENCODING)
        && is_compressible(res.headers().get(header::CONTENT_TYPE))
    {
        negotiate(req.headers().get(header::ACCEPT_ENCODING))
    } else {
        Coding::Identity
    };
    let mut out = HttpResponse::build(if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    for (name, value) in res.headers() {
        if !fresh || name == header::CONTENT_LOCATION || name == header::DATE {
            out.append_header((name.clone(), value.clone()));
        }
    }
    // Per request, so a quick level: these bodies are a page of JSON at most.
    let (gzip_level, brotli_quality) = Effort::Quick.levels();
    let encoded = match coding {
        _ if fresh => None,
        Coding::Identity => None,
        Coding::Gzip => gzip(&bytes, gzip_level),
        Coding::Brotli => brotli(&bytes, brotli_quality),
    };
    let coding = if fresh || encoded.is_some() {
        coding
    } else {
        Coding::Identity
    };
    // The coding's own ETag, on the 304 too (what its 200 would carry).
    caching_headers(
        &mut out,
        fresh,
        coding.etag(&tag),
        modified_header.as_ref(),
        cache_control,
    );
    if authed {
        // One `Vary` value: the CORS layer rewrites `Vary` from its first value, and a second
        // header line would be lost there, letting a shared cache mix editors' answers with
        // the public's.
        out.insert_header((
            header::VARY,
            HeaderValue::from_static("Accept-Encoding, Authorization"),
        ));
    }
    let out = if fresh {
        out.finish()
    } else {
        match (encoded, coding.header()) {
            (Some(encoded), Some(value)) => {
                out.insert_header((header::CONTENT_ENCODING, value));
                out.body(encoded)
            }
            _ => out.body(bytes),
        }
    };
    Ok(ServiceResponse::new(req, out).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn negotiation_honours_q_values() {
        assert_eq!(negotiate(None), Coding::Identity);
        assert_eq!(negotiate(Some(&hv("gzip, deflate, br"))), Coding::Brotli);
        assert_eq!(negotiate(Some(&hv("gzip"))), Coding::Gzip);
        assert_eq!(negotiate(Some(&hv("br;q=0, gzip;q=0.5"))), Coding::Gzip);
        assert_eq!(negotiate(Some(&hv("br;q=0.2, gzip;q=0.8"))), Coding::Gzip);
        assert_eq!(negotiate(Some(&hv("*"))), Coding::Brotli);
        assert_eq!(negotiate(Some(&hv("identity"))), Coding::Identity);
        assert_eq!(negotiate(Some(&hv("*;q=0, identity"))), Coding::Identity);
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let t: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::IF_MODIFIED_SINCE, http_date(t));
        assert!(not_modified(&h, "\"a\"", Some(t)));
        assert!(!not_modified(&h, "\"a\"", Some(t + Duration::seconds(1))));
        h.insert(header::IF_NONE_MATCH, hv("\"b\", W/\"a\""));
        assert!(not_modified(&h, "\"a\"", Some(t + Duration::seconds(1))));
        h.insert(header::IF_NONE_MATCH, hv("\"b\""));
        assert!(!not_modified(&h, "\"a\"", Some(t)));
        h.insert(header::IF_NONE_MATCH, hv("*"));
        assert!(not_modified(&h, "\"a\"", None));
    }

    #[actix_web::test]
    async fn a_handler_etag_is_kept_and_used_for_conditionals() {
        use actix_web::{App, test, web};
        let app = test::init_service(
            App::new()
                .route(
                    "/",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .insert_header((header::ETAG, "\"v7\""))
                            .body("item")
                    }),
                )
                .wrap(HttpCaching),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get(header::ETAG).unwrap(), "\"v7\"");
        assert_eq!(
            res.headers().get(header::CACHE_CONTROL).unwrap(),
            "public, max-age=60"
        );
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::IF_NONE_MATCH, "\"v7\""))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(res.headers().get(header::ETAG).unwrap(), "\"v7\"");
        // Authenticated answers may hold drafts: private, and varying by credentials.
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, "Bearer secret"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(
            res.headers().get(header::CACHE_CONTROL).unwrap(),
            "private, no-store"
        );
        let vary: Vec<_> = res.headers().get_all(header::VARY).collect();
        assert_eq!(vary, ["Accept-Encoding, Authorization"]);
    }

    #[test]
    fn representations_carry_smaller_compressed_forms() {
        let body = "<p>hello</p>".repeat(200).into_bytes();
        let rep = Representation::new(body.clone(), "text/html", DateTime::UNIX_EPOCH);
        assert_eq!(rep.etag(), etag::strong(&body));
        assert_eq!(rep.body(Coding::Brotli).0, Coding::Brotli);
        assert_eq!(rep.body(Coding::Gzip).0, Coding::Gzip);
        assert!(rep.body(Coding::Gzip).1.len() < body.len());
        let tiny = Representation::new(b"x".to_vec(), "text/plain", DateTime::UNIX_EPOCH);
        assert_eq!(tiny.body(Coding::Brotli).0, Coding::Identity);
    }
}
