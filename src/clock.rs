//! Time as the service sees it. Tests swap in a clock they control, so scheduled items can
//! go live without sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::model::whole_seconds;

pub trait Clock: Send + Sync + 'static {
    /// Now, truncated to whole seconds like every stored timestamp.
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        whole_seconds(Utc::now())
    }
}

/// A clock that stands still until told to move.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(whole_seconds(start)))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = whole_seconds(to);
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = whole_seconds(*now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
