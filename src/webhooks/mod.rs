//! Webhooks (issue 17): signed, ordered, retried deliveries of item events to subscribers'
//! URLs, in the Standard Webhooks format. Subscriptions and the outbox live in the store (see
//! `store::webhooks`); the outbox is filled in the same transaction as each change, and
//! [`deliver`] sends it.

pub mod deliver;
pub mod signature;
pub mod target;

use std::time::Duration;

use crate::config::IntegrationArgs;

/// The default retry waits after a failed attempt: the first within about 5 seconds, the last
/// about 27 hours after the first attempt; then the delivery is marked failed.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// The waits between attempts (`HERALD_WEBHOOK_RETRY_SCHEDULE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        parse_schedule(DEFAULT_RETRY_SCHEDULE).expect("the default schedule parses")
    }
}

/// Comma-separated waits, each a number with `ms`, `s`, `m` or `h` (`5s,5m,2h`).
pub fn parse_schedule(value: &str) -> Result<RetrySchedule, String> {
    let mut waits = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let split = part
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("`{part}` needs a unit: ms, s, m or h"))?;
        let (number, unit) = part.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{part}` is not a number with a unit"))?;
        let wait = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(format!("`{part}`: the unit must be ms, s, m or h")),
        };
        if wait > Duration::from_secs(7 * 86_400) {
            return Err(format!("`{part}` is longer than a week"));
        }
        waits.push(wait);
    }
    if waits.len() > 50 {
        return Err("at most 50 retries".to_owned());
    }
    Ok(RetrySchedule(waits))
}

/// What the API and the deliverer need to know about webhooks.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether this process sends deliveries (otherwise it only queues them).
    pub delivery: bool,
    /// How long one attempt may take, connection and response included.
    pub timeout: Duration,
    pub retry_schedule: RetrySchedule,
    /// Private and loopback targets allowed (development, tests).
    pub allow_private: bool,
    /// How long a rotated-out secret keeps signing.
    pub secret_grace: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self::from(&IntegrationArgs::default())
    }
}

impl From<&IntegrationArgs> for WebhookSettings {
    fn from(args: &IntegrationArgs) -> Self {
        Self {
            delivery: args.webhook_delivery,
            timeout: args.webhook_timeout,
            retry_schedule: args.webhook_retry_schedule.clone(),
            allow_private: args.webhook_allow_private,
            secret_grace: Duration::from_secs(args.webhook_secret_grace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_schedule("100ms, 2s,1m,1h").unwrap().0,
            vec![
                Duration::from_millis(100),
                Duration::from_secs(2),
                Duration::from_secs(60),
                Duration::from_secs(3600)
            ]
        );
        assert!(parse_schedule("").unwrap().0.is_empty());
        for bad in ["5", "5x", "s", "-1s", "1000h"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
        let total: Duration = RetrySchedule::default().0.iter().sum();
        assert!(total > Duration::from_secs(86_400) && total < Duration::from_secs(2 * 86_400));
    }
}
