//! The background deliverer: claims due deliveries from the outbox with a lease, sends each
//! signed, and records how it went (delivered; retry after a wait with jitter; or failed after
//! the last retry, which turns the subscription off with the reason). Only the oldest pending
//! delivery of a subscription is ever claimed, so one target sees its events in order.
//!
//! Scheduling (due times, leases) and `webhook-timestamp` follow the system clock: receivers
//! compare the timestamp with their own clocks. What editors set through the API (a rotated
//! secret's grace period) follows the service's clock, as it was set by.

use std::error::Error as _;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::WebhookSettings;
use super::signature::signature_header;
use super::target::{is_forbidden, literal_host, resolver};
use crate::clock::Clock;
use crate::events::{Events, Origin, Subscriber, running};
use crate::metrics::Metrics;
use crate::store::webhooks::{Attempt, AttemptNext, ClaimedDelivery, Delivery};
use crate::store::{Change, DynStore};
use crate::urls::Urls;

/// How often the outbox is looked at when nothing wakes the deliverer.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// Deliveries in flight at once (each to a different subscription).
const IN_FLIGHT: usize = 16;
/// Bytes of a response read at most; the rest is not waited for.
const RESPONSE_LIMIT: usize = 4096;
/// How long finished deliveries stay listed, and how often older ones are deleted.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(30);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Characters of a failing response kept with the delivery.
const ERROR_CHARS: usize = 300;

/// Wakes the deliverer when this process (or another, via the change log) commits a change:
/// its deliveries are queued already.
pub struct Wakeup(pub Arc<Notify>);

impl Subscriber for Wakeup {
    fn changed(&self, _: &Change, _: Origin) {
        self.0.notify_one();
    }
}

/// Everything one attempt needs.
struct Sender {
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    store: DynStore,
    urls: Urls,
    metrics: Arc<Metrics>,
    settings: WebhookSettings,
}

/// Builds the deliverer's HTTP client: a timeout on every attempt, no redirects, no proxy from
/// the environment (a proxy would resolve the target itself, past the guard), and the guarded
/// resolver unless private targets are allowed.
pub fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(guard) = resolver(settings.allow_private) {
        builder = builder.dns_resolver(guard);
    }
    builder.build()
}

/// Runs the deliverer until `events` is dropped or stopped (the application stopped), waking at
/// once when `wakeup` is notified.
pub fn spawn(
    events: Weak<Events>,
    wakeup: Arc<Notify>,
    store: DynStore,
    urls: Urls,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    settings: WebhookSettings,
) -> anyhow::Result<()> {
    let sender = Arc::new(Sender {
        client: client(&settings)?,
        clock,
        store,
        urls,
        metrics,
        settings,
    });
    tokio::spawn(async move {
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut failing = false;
        let mut pruned_at: Option<Instant> = None;
        loop {
            if running(&events).is_none() {
                return;
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned_at = Some(Instant::now());
                match sender
                    .store
                    .prune_deliveries(Utc::now() - KEEP_FINISHED)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "old webhook deliveries deleted"),
                    Err(e) => tracing::warn!(error = %e, "cannot delete old webhook deliveries"),
                }
            }
            let free = IN_FLIGHT.saturating_sub(in_flight.len());
            let mut claimed_any = false;
            if free > 0 {
                let now = Utc::now();
                let lease = sender.lease();
                match sender
                    .store
                    .claim_deliveries(now, now + lease, free as u32)
                    .await
                {
                    Ok(claimed) => {
                        if failing {
                            tracing::info!("webhook outbox readable again");
                            failing = false;
                        }
                        claimed_any = !claimed.is_empty();
                        for delivery in claimed {
                            let sender = sender.clone();
                            in_flight.spawn(async move { sender.attempt(delivery).await });
                        }
                    }
                    // A claim cut short by the stop (a closed pool) is no failure of the store.
                    Err(_) if running(&events).is_none() => return,
                    Err(e) => {
                        if !failing {
                            tracing::error!(error = %e, "cannot claim webhook deliveries; retrying");
                            failing = true;
                        }
                    }
                }
            }
            if claimed_any && in_flight.len() < IN_FLIGHT {
                // More may be due right away (another subscription's, or the next in line).
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_EVERY) => {}
                () = wakeup.notified() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        }
    });
    Ok(())
}

impl Sender {
    /// Longer than any attempt takes, so a lease runs out only when its process died.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.timeout * 2 + Duration::from_secs(30))
            .unwrap_or(chrono::Duration::minutes(5))
    }

    async fn attempt(&self, claimed: ClaimedDelivery) {
        let delivery = &claimed.delivery;
        let started = Instant::now();
        let outcome = self.send(&claimed).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let now = Utc::now();
        let (response_code, error) = match outcome {
            Ok((code, _)) if (200..300).contains(&code) => (Some(code), None),
            Ok((code, said)) if said.is_empty() => {
                (Some(code), Some(format!("answered HTTP {code}")))
            }
            Ok((code, said)) => (Some(code), Some(format!("answered HTTP {code}: {said}"))),
            Err(e) => (None, Some(e)),
        };
        let next = match &error {
            None => {
                self.metrics.count_webhook_delivery("delivered");
                AttemptNext::Delivered
            }
            Some(error) => match self.retry_wait(delivery.attempts) {
                Some(wait) => {
                    self.metrics.count_webhook_delivery("retried");
                    tracing::info!(
                        webhook = delivery.webhook_id,
                        delivery = delivery.id,
                        attempts = delivery.attempts,
                        error = %error,
                        "webhook delivery failed; retrying"
                    );
                    AttemptNext::RetryAt(now + chrono::Duration::from_std(wait).unwrap_or_default())
                }
                None => {
                    self.metrics.count_webhook_delivery("failed");
                    let reason = format!(
                        "disabled at {}: delivery {} ({}) failed {} times since {}; last: {error}",
                        now.to_rfc3339_opts(SecondsFormat::Secs, true),
                        delivery.id,
                        delivery.event_type,
                        delivery.attempts,
                        delivery
                            .created_at
                            .to_rfc3339_opts(SecondsFormat::Secs, true),
                    );
                    tracing::warn!(webhook = delivery.webhook_id, reason = %reason, "webhook disabled");
                    AttemptNext::Failed {
                        disable_reason: reason,
                    }
                }
            },
        };
        let attempt = Attempt {
            response_code,
            duration_ms,
            error,
            next,
        };
        if let Err(e) = self.store.finish_delivery(delivery, &attempt, now).await {
            // The lease runs out and the delivery is tried again: at least once, never lost.
            tracing::error!(delivery = delivery.id, error = %e, "cannot record a webhook attempt");
        }
    }

    /// The wait before the next attempt after `attempts` made, with ±10% jitter so targets
    /// that failed together are not retried in lockstep; `None` when none is left.
    fn retry_wait(&self, attempts: i64) -> Option<Duration> {
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        let wait = *self.settings.retry_schedule.0.get(index)?;
        let factor = rand::rng().random_range(0.9..=1.1);
        Some(wait.mul_f64(factor))
    }

    /// One attempt: the HTTP status with the start of a failing answer's body, or what went
    /// wrong before there was a status.
    async fn send(&self, claimed: &ClaimedDelivery) -> Result<(i64, String), String> {
        let url = reqwest::Url::parse(&claimed.url).map_err(|e| format!("bad URL: {e}"))?;
        if !self.settings.allow_private
            && let Some(ip) = literal_host(&url)
            && is_forbidden(ip)
        {
            return Err(format!("refused: {ip} is not a public address"));
        }
        let body = body(&self.urls, &claimed.delivery);
        let timestamp = Utc::now().timestamp();
        // The grace period was set by the service's clock, so it ends by it too.
        let now = self.clock.now();
        let previous = claimed
            .previous_secret
            .as_ref()
            .filter(|(_, until)| *until > now)
            .map(|(secret, _)| secret.as_str());
        let secrets = std::iter::once(claimed.secret.as_str()).chain(previous);
        let signature = signature_header(secrets, &claimed.delivery.message_id, timestamp, &body)
            .ok_or_else(|| "the stored signing secret is not base64".to_owned())?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION"))),
        );
        let header = |value: &str| HeaderValue::from_str(value).map_err(|e| e.to_string());
        headers.insert("webhook-id", header(&claimed.delivery.message_id)?);
        headers.insert("webhook-timestamp", header(&timestamp.to_string())?);
        headers.insert("webhook-signature", header(&signature)?);
        let mut response = self
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let code = i64::from(response.status().as_u16());
        if response.status().is_success() {
            return Ok((code, String::new()));
        }
        // A little of what a failing target said, for the delivery list; never more.
        let mut read = Vec::new();
        while read.len() < RESPONSE_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                _ => break,
            }
        }
        read.truncate(RESPONSE_LIMIT);
        let said: String = String::from_utf8_lossy(&read)
            .trim()
            .chars()
            .take(ERROR_CHARS)
            .collect();
        Ok((code, said))
    }
}

/// A client error with its causes (reqwest's own message hides them: "error sending request").
fn describe(e: reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(ERROR_CHARS).collect()
}

/// The body of a delivery: the event, when it happened and which item (receivers refetch what
/// they need). The same bytes on every attempt.
pub fn body(urls: &Urls, delivery: &Delivery) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": delivery.event_type,
        "timestamp": rfc3339(delivery.occurred_at),
        "data": {
            "id": delivery.item_id,
            "slug": delivery.slug,
            "status": delivery.item_status,
            "url": urls.item_page(&delivery.slug),
            "api_url": urls.item_api(delivery.item_id),
        }
    }))
    .expect("JSON of strings and numbers")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
