//! What every request handler shares.

use std::sync::Arc;

use url::Url;

use crate::clock::Clock;
use crate::store::DynStore;

pub struct AppState {
    pub store: DynStore,
    /// Absolute base for every emitted link; always ends in `/`.
    pub public_url: Url,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    pub fn new(store: DynStore, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            public_url,
            clock,
        }
    }

    /// An absolute URL for a path below the public base (`path` without a leading `/`).
    pub fn url(&self, path: &str) -> String {
        self.public_url
            .join(path)
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{path}", self.public_url))
    }
}
