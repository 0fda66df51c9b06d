//! Per-client rate limits (issue 17, item 7), with `governor` (GCRA): failed authentication
//! attempts per client address; writes per address and per token; optionally anonymous reads.
//! A client's address is the connection's, or what `X-Forwarded-For` says when the connection
//! comes from a configured proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::IntegrationArgs;

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AuthFailures,
    Writes,
    Reads,
}

impl Kind {
    /// How the 429's detail names what came too often.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::AuthFailures => "failed authentication attempts",
            Kind::Writes => "writes",
            Kind::Reads => "requests",
        }
    }
}

/// Above this many tracked clients, forgotten ones are dropped before adding more.
const TRACKED_CLIENTS: usize = 10_000;

/// The limiters, one per [`Kind`] that has a limit.
pub struct RateLimits {
    auth_failures: Option<DefaultKeyedRateLimiter<String>>,
    writes: Option<DefaultKeyedRateLimiter<String>>,
    reads: Option<DefaultKeyedRateLimiter<String>>,
    /// Clients that used up their failed attempts, until when: they are refused before their
    /// credentials are checked, so a good guess does not get through while they are blocked.
    blocked: Mutex<HashMap<String, Instant>>,
    trusted_proxies: Vec<IpAddr>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    pub fn new(settings: &IntegrationArgs) -> Self {
        Self {
            auth_failures: per_minute(settings.rate_limit_auth_failures),
            writes: per_minute(settings.rate_limit_writes),
            reads: per_minute(settings.rate_limit_reads),
            blocked: Mutex::new(HashMap::new()),
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }

    fn limiter(&self, kind: Kind) -> Option<&DefaultKeyedRateLimiter<String>> {
        match kind {
            Kind::AuthFailures => self.auth_failures.as_ref(),
            Kind::Writes => self.writes.as_ref(),
            Kind::Reads => self.reads.as_ref(),
        }
    }

    /// Whether requests of `kind` are limited at all (a limit of 0 turns a kind off).
    pub fn is_limited(&self, kind: Kind) -> bool {
        self.limiter(kind).is_some()
    }

    /// Counts one request of `kind` from `key`; `Err(seconds to wait)` when over the limit.
    pub fn check(&self, kind: Kind, key: &str) -> Result<(), u64> {
        let Some(limiter) = self.limiter(kind) else {
            return Ok(());
        };
        if limiter.len() > TRACKED_CLIENTS {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Whether `client` is blocked after too many failed attempts: `Err(seconds to wait)`.
    pub fn check_blocked(&self, client: &str) -> Result<(), u64> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match blocked.get(client) {
            Some(until) if *until > now => Err(ceil_secs(*until - now)),
            Some(_) => {
                blocked.remove(client);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed authentication by `client`; `Err(seconds)` (and blocked that long) when
    /// it was one too many.
    pub fn auth_failed(&self, client: &str) -> Result<(), u64> {
        self.check(Kind::AuthFailures, client).inspect_err(|wait| {
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            if blocked.len() > TRACKED_CLIENTS {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(
                client.to_owned(),
                Instant::now() + Duration::from_secs(*wait),
            );
        })
    }

    /// The client's address: the connection's, unless that is a trusted proxy; then the
    /// nearest address in `X-Forwarded-For` that is not a trusted proxy itself (anything
    /// further left could have been written by the client).
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> String {
        let Some(peer) = peer else {
            return "unknown".to_owned();
        };
        if !self.trusted_proxies.contains(&peer) {
            return peer.to_string();
        }
        let Some(header) = forwarded_for else {
            return peer.to_string();
        };
        let mut client = peer;
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusted_proxies.contains(&ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client.to_string()
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(adjust: impl FnOnce(&mut IntegrationArgs)) -> RateLimits {
        let mut args = IntegrationArgs::default();
        adjust(&mut args);
        RateLimits::new(&args)
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let l = limits(|a| a.trusted_proxies = vec![proxy]);
        let other: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(l.client(Some(other), Some("203.0.113.9")), "192.0.2.7");
        assert_eq!(l.client(Some(proxy), Some("203.0.113.9")), "203.0.113.9");
        // The client may write anything left of what the proxy appended.
        assert_eq!(
            l.client(Some(proxy), Some("1.1.1.1, 203.0.113.9, 10.0.0.1")),
            "203.0.113.9"
        );
        assert_eq!(l.client(Some(proxy), None), "10.0.0.1");
        assert_eq!(l.client(Some(proxy), Some("garbage")), "10.0.0.1");
    }

    #[test]
    fn a_limit_of_zero_is_no_limit_and_failures_block() {
        let l = limits(|a| {
            a.rate_limit_writes = 0;
            a.rate_limit_auth_failures = 2;
        });
        for _ in 0..1000 {
            assert_eq!(l.check(Kind::Writes, "a"), Ok(()));
        }
        assert_eq!(l.auth_failed("a"), Ok(()));
        assert_eq!(l.auth_failed("a"), Ok(()));
        assert_eq!(l.check_blocked("a"), Ok(()));
        let wait = l.auth_failed("a").unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(l.check_blocked("a").is_err());
        assert_eq!(l.check_blocked("b"), Ok(()));
    }
}
