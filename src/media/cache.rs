//! The hot files of `/media/…` in memory, least recently used first out, within a byte budget.
//! Files never change at a path, so nothing here is ever stale.

use std::sync::{Arc, Mutex};

use actix_web::http::header::HeaderValue;
use actix_web::web::Bytes;
use hashlink::LinkedHashMap;

/// A file as served.
#[derive(Debug)]
pub struct CachedFile {
    pub content_type: HeaderValue,
    pub etag: HeaderValue,
    pub data: Bytes,
}

pub struct FileCache {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    files: LinkedHashMap<String, Arc<CachedFile>>,
    bytes: usize,
}

impl FileCache {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn get(&self, path: &str) -> Option<Arc<CachedFile>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let file = inner.files.to_back(path)?;
        Some(file.clone())
    }

    /// Keeps `file` unless it alone is over an eighth of the budget (one huge file must not
    /// push out every small one).
    pub fn insert(&self, path: String, file: Arc<CachedFile>) {
        let size = file.data.len() + path.len();
        if size > self.budget / 8 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = inner.files.insert(path.clone(), file) {
            inner.bytes -= old.data.len() + path.len();
        }
        inner.bytes += size;
        while inner.bytes > self.budget {
            let Some((key, old)) = inner.files.pop_front() else {
                break;
            };
            inner.bytes -= old.data.len() + key.len();
        }
    }

    /// Forgets `path` (its medium was deleted).
    pub fn remove(&self, path: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = inner.files.remove(path) {
            inner.bytes -= old.data.len() + path.len();
        }
    }
}
