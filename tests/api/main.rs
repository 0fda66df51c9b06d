//! HTTP-level tests. Each test gets its own temporary SQLite file.

mod helpers;
mod read;
mod search;
mod seed;
