//! WebSub publishing: after content changes, tell the hub which feeds changed so it fetches
//! them and pushes to subscribers (W3C WebSub; the publish request is the PubSubHubbub 0.4
//! convention every public hub accepts: `hub.mode=publish&hub.url=<feed URL>`).
//!
//! Pings run in a background task: a slow or failing hub never delays or fails a write.

use std::time::Duration;

use tokio::task::JoinHandle;
use url::Url;

use crate::feeds::Format;
use crate::urls::Urls;

/// Attempts per feed URL, first try included.
const ATTEMPTS: u32 = 5;
/// Wait before the first retry; doubled before each further one (1, 2, 4, 8 s).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts publish notifications to one hub.
#[derive(Debug, Clone)]
pub struct Publisher {
    hub: Url,
    client: reqwest::Client,
    attempts: u32,
    first_backoff: Duration,
}

impl Publisher {
    /// Fails when the HTTP client cannot be built (e.g. no TLS backend): a start-up error, not
    /// a client quietly without its timeout.
    pub fn new(hub: Url) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!(
                "herald/",
                env!("CARGO_PKG_VERSION"),
                " (WebSub publisher)"
            ))
            .build()?;
        Ok(Self {
            hub,
            client,
            attempts: ATTEMPTS,
            first_backoff: FIRST_BACKOFF,
        })
    }

    /// Changes how often and how patiently a failing ping is retried.
    pub fn with_retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.first_backoff = first_backoff;
        self
    }

    pub fn hub(&self) -> &Url {
        &self.hub
    }

    /// Starts pinging the hub for every URL and returns at once. The handle tells when all
    /// pings are done (delivered or given up); callers may drop it. `None` outside a Tokio
    /// runtime, where nothing could run the pings.
    pub fn publish(&self, feed_urls: Vec<String>) -> Option<JoinHandle<()>> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("WebSub ping skipped: no async runtime to send it");
            return None;
        };
        let publisher = self.clone();
        Some(runtime.spawn(async move {
            let pings = feed_urls.iter().map(|url| publisher.ping(url));
            futures_util::future::join_all(pings).await;
        }))
    }

    /// One feed: retried with doubling backoff until the hub answers 2xx or attempts run out.
    async fn ping(&self, feed_url: &str) {
        let mut backoff = self.first_backoff;
        for attempt in 1..=self.attempts {
            let outcome = self
                .client
                .post(self.hub.clone())
                .form(&[("hub.mode", "publish"), ("hub.url", feed_url)])
                .send()
                .await;
            let failure = match outcome {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(feed_url, attempt, "WebSub hub notified");
                    return;
                }
                Ok(response) => format!("hub answered {}", response.status()),
                Err(e) => format!("hub unreachable: {e}"),
            };
            if attempt == self.attempts {
                tracing::warn!(feed_url, attempt, failure, "WebSub ping given up");
                return;
            }
            tracing::info!(
                feed_url,
                attempt,
                failure,
                ?backoff,
                "WebSub ping failed; retrying"
            );
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
}

/// Absolute URLs of the feeds every content change affects: the main feed in each format.
pub fn feed_urls(urls: &Urls) -> Vec<String> {
    Format::ALL
        .iter()
        .map(|format| urls.feed(*format))
        .collect()
}

/// The main feeds and every format of each tag's feed: what a change to items with these tags
/// touches. The URLs are the feeds' own `rel="self"`, which is what subscribers hold.
pub fn feed_urls_with_tags<'a>(
    urls: &Urls,
    tags: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut feeds = feed_urls(urls);
    let mut seen = std::collections::BTreeSet::new();
    for tag in tags {
        if seen.insert(tag) {
            feeds.extend(Format::ALL.iter().map(|format| urls.tag_feed(tag, *format)));
        }
    }
    feeds
}
