//! `/metrics`: what operators watch, in the Prometheus text format (`prometheus` crate).
//!
//! Every label set is bounded: requests are labelled by route template (`/api/v1/news/{key}`,
//! never the raw path), a known method and a status class; the rest are fixed names. Values
//! kept elsewhere (the response cache's counters, the database pool, item counts) are sampled
//! when the endpoint is scraped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::response_cache::CacheStats;
use crate::store::PoolStats;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route label of a request no route matched (404s): one value, whatever the path.
const UNMATCHED: &str = "unmatched";

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    cache_renders: IntCounter,
    cache_evictions: IntCounter,
    cache_bytes: IntGauge,
    cache_entries: IntGauge,
    cache_budget: IntGauge,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    items: IntGaugeVec,
    webhook_deliveries: IntCounterVec,
}

/// Public, scheduled and draft items, as `/metrics` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    pub published: i64,
    pub scheduled: i64,
    pub drafts: i64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("herald".to_owned()), None).expect("a valid metrics prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request to response head",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let metrics = Self {
            requests,
            durations,
            cache_hits: counter(
                "response_cache_hits_total",
                "Answers served from the response cache",
            ),
            cache_misses: counter(
                "response_cache_misses_total",
                "Answers that waited for a render (rendered, not served from memory)",
            ),
            cache_renders: counter("response_cache_renders_total", "Renders run"),
            cache_evictions: counter(
                "response_cache_evictions_total",
                "Entries dropped to stay within the cache budget",
            ),
            cache_bytes: gauge("response_cache_bytes", "Bytes the response cache holds"),
            cache_entries: gauge(
                "response_cache_entries",
                "Entries in the shared response cache",
            ),
            cache_budget: gauge(
                "response_cache_budget_bytes",
                "Bytes the response cache may hold (HERALD_CACHE_BUDGET)",
            ),
            pool_connections: IntGaugeVec::new(
                Opts::new(
                    "db_pool_connections",
                    "Open database connections, in use or idle",
                ),
                &["state"],
            )
            .expect("valid metric"),
            pool_max: gauge(
                "db_pool_max_connections",
                "Connections the pool opens at most (HERALD_DB_POOL_SIZE)",
            ),
            items: IntGaugeVec::new(
                Opts::new(
                    "items",
                    "News items by status (scheduled: published, not yet due)",
                ),
                &["status"],
            )
            .expect("valid metric"),
            webhook_deliveries: IntCounterVec::new(
                Opts::new(
                    "webhook_deliveries_total",
                    "Webhook delivery attempts by outcome: delivered, retried (failed, another \
                     attempt is due) or failed (the last attempt failed)",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
            registry,
        };
        let build = IntGaugeVec::new(
            Opts::new("build_info", "Always 1; the labels say which build runs"),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(metrics.requests.clone()),
            Box::new(metrics.durations.clone()),
            Box::new(metrics.cache_hits.clone()),
            Box::new(metrics.cache_misses.clone()),
            Box::new(metrics.cache_renders.clone()),
            Box::new(metrics.cache_evictions.clone()),
            Box::new(metrics.cache_bytes.clone()),
            Box::new(metrics.cache_entries.clone()),
            Box::new(metrics.cache_budget.clone()),
            Box::new(metrics.pool_connections.clone()),
            Box::new(metrics.pool_max.clone()),
            Box::new(metrics.items.clone()),
            Box::new(metrics.webhook_deliveries.clone()),
            Box::new(build),
        ];
        for collector in collectors {
            metrics
                .registry
                .register(collector)
                .expect("metric names are unique");
        }
        metrics
    }

    /// Counts one webhook attempt: `delivered`, `retried` or `failed`.
    pub fn count_webhook_delivery(&self, outcome: &'static str) {
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }

    fn request_handles(&self, method: &str, route: &str, class: &str) -> RequestHandles {
        RequestHandles {
            count: self.requests.with_label_values(&[method, route, class]),
            duration: self.durations.with_label_values(&[method, route]),
        }
    }

    /// Takes in the response cache's counters (monotonic, so counters follow them) and sizes.
    pub fn sample_cache(&self, stats: CacheStats, budget: usize) {
        catch_up(&self.cache_hits, stats.hits);
        catch_up(&self.cache_misses, stats.misses);
        catch_up(&self.cache_renders, stats.renders);
        catch_up(&self.cache_evictions, stats.evictions);
        self.cache_bytes.set(stats.bytes as i64);
        self.cache_entries.set(stats.entries as i64);
        self.cache_budget.set(budget as i64);
    }

    pub fn sample_pool(&self, stats: PoolStats) {
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(stats.open.saturating_sub(stats.idle)));
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(stats.idle));
        self.pool_max.set(i64::from(stats.max));
    }

    pub fn sample_items(&self, counts: ItemCounts) {
        for (status, count) in [
            ("published", counts.published),
            ("scheduled", counts.scheduled),
            ("draft", counts.drafts),
        ] {
            self.items.with_label_values(&[status]).set(count);
        }
    }

    /// Everything, in the text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// The counter and histogram of one label set.
#[derive(Clone)]
struct RequestHandles {
    count: IntCounter,
    duration: Histogram,
}

impl RequestHandles {
    fn observe(&self, elapsed: Duration) {
        self.count.inc();
        self.duration.observe(elapsed.as_secs_f64());
    }
}

/// One worker's handles to the request metrics, by label set. A metric vector finds a label
/// set's child under a shared lock after hashing every label, on every request; a worker keeps
/// the children it has used and finds them with one lookup on its own thread. Bounded like the
/// labels: route templates, known methods, status classes.
pub struct RequestRecorder {
    metrics: Arc<Metrics>,
    /// By route, then (method, status class).
    handles: RefCell<HashMap<String, Vec<LabelledHandles>>>,
}

/// A label set's method and status class, with its handles.
type LabelledHandles = (&'static str, &'static str, RequestHandles);

impl RequestRecorder {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            handles: RefCell::default(),
        }
    }

    /// Counts one answered request. `route` is the matched route's template, if any.
    pub fn observe(
        &self,
        method: &Method,
        route: Option<&str>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let (method, class) = (bounded_method(method), status_class(status));
        let route = route.unwrap_or(UNMATCHED);
        let handles = self.handles.borrow();
        let known = handles.get(route).and_then(|by_route| {
            by_route
                .iter()
                .find(|(m, c, _)| *m == method && *c == class)
        });
        if let Some((_, _, known)) = known {
            known.observe(elapsed);
            return;
        }
        drop(handles);
        // The first request of this label set on this worker.
        let fresh = self.metrics.request_handles(method, route, class);
        fresh.observe(elapsed);
        self.handles
            .borrow_mut()
            .entry(route.to_owned())
            .or_default()
            .push((method, class, fresh));
    }
}

/// Moves a counter up to a total kept elsewhere (never down: a total that went back, which
/// a monotonic source never does, is ignored).
fn catch_up(counter: &IntCounter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

fn bounded_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strange_methods_and_paths_share_one_label() {
        let metrics = Arc::new(Metrics::new());
        let brew = Method::from_bytes(b"BREW").unwrap();
        RequestRecorder::new(metrics.clone()).observe(
            &brew,
            None,
            StatusCode::NOT_FOUND,
            Duration::ZERO,
        );
        let text = metrics.render();
        assert!(
            text.contains(
                r#"herald_http_requests_total{method="other",route="unmatched",status="4xx"} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn a_worker_recorder_counts_into_the_shared_metrics() {
        let metrics = Arc::new(Metrics::new());
        let recorder = RequestRecorder::new(metrics.clone());
        for status in [StatusCode::OK, StatusCode::OK, StatusCode::NOT_MODIFIED] {
            recorder.observe(&Method::GET, Some("/feed.atom"), status, Duration::ZERO);
        }
        recorder.observe(&Method::HEAD, None, StatusCode::NOT_FOUND, Duration::ZERO);
        let text = metrics.render();
        for line in [
            r#"herald_http_requests_total{method="GET",route="/feed.atom",status="2xx"} 2"#,
            r#"herald_http_requests_total{method="GET",route="/feed.atom",status="3xx"} 1"#,
            r#"herald_http_requests_total{method="HEAD",route="unmatched",status="4xx"} 1"#,
            r#"herald_http_request_duration_seconds_count{method="GET",route="/feed.atom"} 3"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
